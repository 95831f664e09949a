"""Reading a run's quarantine back, for the validation, privacy and synthetic-data tests.

A plain module, not the package's conftest: a conftest is never imported by other modules.
"""

from __future__ import annotations

import sqlalchemy as sa

from oks.store.schema import quarantine


def quarantined(engine, run_id, stage=None):
    """{row_no: {(field, rule), …}} of the run's quarantine, and the records themselves."""
    query = sa.select(quarantine).where(quarantine.c.run_id == run_id).order_by(quarantine.c.row_no, quarantine.c.field)
    if stage:
        query = query.where(quarantine.c.stage == stage)
    with engine.connect() as conn:
        records = conn.execute(query).all()
    by_row: dict[int, set] = {}
    for record in records:
        by_row.setdefault(record.row_no, set()).add((record.field, record.rule))
    return by_row, records
