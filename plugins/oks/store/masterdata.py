"""Employers, contracts and employees kept current from each run, without losing history.

All set-based: one INSERT … SELECT … ON CONFLICT per table (SQLite ≥ 3.24 and PostgreSQL share the
syntax), no row-by-row loops. Before an employee row is overwritten, its old values go to
``employee_history`` — only when something tracked actually changed, so a monthly run of unchanged
staff writes no history.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from oks.rules.parameters import period_start
from oks.store.schema import contracts, employers, runs

__all__ = ["upsert_employers", "rename_employer", "upsert_contracts", "upsert_employees", "TRACKED_EMPLOYEE_FIELDS"]

TRACKED_EMPLOYEE_FIELDS = (
    "payroll_id", "first_name", "last_name", "birth_date", "citizenship", "sgk_status",
    "hire_date", "exit_date", "iban", "mobile", "email", "has_oks_certificate", "voluntary", "fund_preference",
)  # fmt: skip


def upsert_employers(conn: Connection, run_id: int) -> int:
    """Employers named in the run's snapshot: new ones added under the name most of their rows carry;
    sector and headcount refreshed. An existing employer's name is never changed by payroll rows —
    one row must not rename an employer; validation flags rows that name it otherwise, and a rename
    is :func:`rename_employer`."""
    result = conn.execute(
        sa.text(
            """
            WITH names AS (
                SELECT employer_vkn, COALESCE(employer_name, employer_vkn) AS name, COUNT(*) AS n, MIN(row_no) AS first_row
                FROM payroll_lines WHERE run_id = :run_id
                GROUP BY employer_vkn, COALESCE(employer_name, employer_vkn)
            ), ranked AS (
                SELECT employer_vkn, name,
                       ROW_NUMBER() OVER (PARTITION BY employer_vkn ORDER BY n DESC, first_row) AS rank_
                FROM names
            ), facts AS (
                SELECT employer_vkn, MAX(COALESCE(employer_sector, 'private')) AS sector, MAX(employer_headcount) AS headcount
                FROM payroll_lines WHERE run_id = :run_id GROUP BY employer_vkn
            )
            INSERT INTO employers (vkn, name, sector, headcount)
            SELECT r.employer_vkn, r.name, f.sector, f.headcount
            FROM ranked r JOIN facts f ON f.employer_vkn = r.employer_vkn
            WHERE r.rank_ = 1
            ON CONFLICT (vkn) DO UPDATE SET
                sector = excluded.sector,
                headcount = COALESCE(excluded.headcount, employers.headcount),
                -- Payroll history: five or more this month after fewer before is the day it first reached five.
                first_reached_five_on = CASE
                    WHEN employers.first_reached_five_on IS NULL AND employers.headcount < 5 AND excluded.headcount >= 5
                    THEN :period_starts_on ELSE employers.first_reached_five_on END,
                updated_at = CURRENT_TIMESTAMP
            """
        ).bindparams(sa.bindparam("period_starts_on", type_=sa.Date)),
        {"run_id": run_id, "period_starts_on": period_start(conn.execute(sa.select(runs.c.period).where(runs.c.id == run_id)).scalar_one())},
    )
    return result.rowcount


def rename_employer(conn: Connection, vkn: str, name: str) -> str | None:
    """The explicit master-data change of an employer's name; returns the old name (None: no such VKN)."""
    old = conn.execute(sa.select(employers.c.name).where(employers.c.vkn == vkn)).scalar_one_or_none()
    if old is not None:
        conn.execute(sa.update(employers).where(employers.c.vkn == vkn).values(name=name, updated_at=sa.func.current_timestamp()))
    return old


def upsert_contracts(conn: Connection, rows: Iterable[dict]) -> tuple[int, list[str]]:
    """Contracts from the contract master (typed dicts keyed by CONTRACT_COLUMNS names).

    Returns (contracts written, contract numbers skipped because their employer is not in the
    store — an employer filtered out of this run, or a typo in the master).
    """
    vkn_to_id = dict(conn.execute(sa.select(employers.c.vkn, employers.c.id)).all())
    values, skipped = [], []
    for row in rows:
        employer_id = vkn_to_id.get(row["employer_vkn"])
        if employer_id is None:
            skipped.append(row["contract_no"])
            continue
        values.append(
            {
                "contract_no": row["contract_no"],
                "employer_id": employer_id,
                "insurer": row["insurer"].upper(),
                "starts_on": row["starts_on"],
                "ends_on": row.get("ends_on"),
                "rate": row.get("rate"),
                "fixed_amount": row.get("fixed_amount"),
                "borne_by": row.get("borne_by") or "employee",
                "fund_kind": row.get("fund_kind") or "STANDARD",
                "collection_iban": row["collection_iban"],
                "bank": row.get("bank"),
                "branch": row.get("branch"),
                "channel": row.get("channel"),
            }
        )
    if values:
        insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(contracts)
        updated = {c: insert.excluded[c] for c in values[0] if c != "contract_no"}
        updated["updated_at"] = sa.func.current_timestamp()
        conn.execute(insert.on_conflict_do_update(index_elements=["contract_no"], set_=updated), values)
    return len(values), skipped


# The person's latest line in the run per employer and TCKN, leaving out quarantined rows and rows
# that cannot name a person yet (validation quarantines those).
_INCOMING = """
    SELECT e.id AS employer_id, p.payroll_id, p.tckn, p.first_name, p.last_name, p.birth_date,
           p.citizenship, p.sgk_status, p.hire_date, p.exit_date, p.iban, p.mobile, p.email,
           p.has_oks_certificate, p.voluntary, p.fund_preference
    FROM payroll_lines p
    JOIN employers e ON e.vkn = p.employer_vkn
    JOIN (
        SELECT MAX(l.row_no) AS row_no
        FROM payroll_lines l
        WHERE l.run_id = :run_id
          AND LENGTH(l.tckn) = 11 AND l.first_name IS NOT NULL AND l.last_name IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.run_id = l.run_id AND q.row_no = l.row_no)
        GROUP BY l.employer_vkn, l.tckn
    ) latest ON latest.row_no = p.row_no
    WHERE p.run_id = :run_id
"""


def upsert_employees(conn: Connection, run_id: int) -> dict[str, int]:
    """Employees of the run's valid lines: changed ones keep their old values in history."""
    changed = " OR ".join(f"cur.{f} IS DISTINCT FROM i.{f}" for f in TRACKED_EMPLOYEE_FIELDS)
    fields = ", ".join(TRACKED_EMPLOYEE_FIELDS)
    history = conn.execute(
        sa.text(
            f"""
            INSERT INTO employee_history (employee_id, run_id, {fields})
            SELECT cur.id, :run_id, {", ".join("cur." + f for f in TRACKED_EMPLOYEE_FIELDS)}
            FROM employees cur
            JOIN ({_INCOMING}) i ON i.employer_id = cur.employer_id AND i.tckn = cur.tckn
            WHERE cur.last_run_id IS DISTINCT FROM :run_id AND ({changed})
            """
        ),
        {"run_id": run_id},
    ).rowcount
    upserted = conn.execute(
        sa.text(
            f"""
            INSERT INTO employees (employer_id, tckn, {fields}, last_run_id)
            SELECT i.employer_id, i.tckn, {", ".join("i." + f for f in TRACKED_EMPLOYEE_FIELDS)}, :run_id
            FROM ({_INCOMING}) i
            WHERE true
            ON CONFLICT (employer_id, tckn) DO UPDATE SET
                {", ".join(f"{f} = excluded.{f}" for f in TRACKED_EMPLOYEE_FIELDS)},
                last_run_id = excluded.last_run_id,
                updated_at = CURRENT_TIMESTAMP
            """
        ),
        {"run_id": run_id},
    ).rowcount
    return {"employees_upserted": upserted, "employees_changed": history}
