"""Re-enrolment notices from EGM or an insurer (docs/rules.md §6): each names a person (TCKN) under a
contract who opted out or left the plan while employed and is due for re-enrolment. Imported once per
enrolment and notice day; applied by the next run that finds the person on payroll."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from oks.privacy import mask_tckn
from oks.store.schema import contracts, employees, enrolments, reenrolment_notices

__all__ = ["NoticeImport", "import_notices"]


@dataclass
class NoticeImport:
    imported: int = 0
    already: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)  # (row number, why) — TCKN masked


def import_notices(conn: Connection, notices: list[tuple[int, str, str, date]], *, source: str, by: str) -> NoticeImport:
    """``notices``: (row number, TCKN, contract number, notice day). A row naming nobody under the
    contract, or someone whose enrolment has not ended (nothing to re-enrol), is refused with its row."""
    result = NoticeImport()
    for row_no, tckn, contract_no, notified_on in notices:
        enrolment = conn.execute(
            sa.select(enrolments.c.id, enrolments.c.state)
            .join(employees, employees.c.id == enrolments.c.employee_id)
            .join(contracts, contracts.c.id == enrolments.c.contract_id)
            .where(contracts.c.contract_no == contract_no, employees.c.tckn == tckn)
        ).first()
        if enrolment is None:
            result.refused.append((row_no, f"TCKN {mask_tckn(tckn)} has no enrolment under contract {contract_no}"))
            continue
        if enrolment.state not in ("opted_out", "left"):
            result.refused.append((row_no, f"TCKN {mask_tckn(tckn)} under {contract_no} is {enrolment.state}: nothing to re-enrol"))
            continue
        known = conn.execute(sa.select(reenrolment_notices.c.id).where(reenrolment_notices.c.enrolment_id == enrolment.id,
                                                                       reenrolment_notices.c.notified_on == notified_on)).first()  # fmt: skip
        if known is not None:
            result.already += 1
            continue
        conn.execute(sa.insert(reenrolment_notices).values(enrolment_id=enrolment.id, notified_on=notified_on, source=source, imported_by=by))
        result.imported += 1
    return result
