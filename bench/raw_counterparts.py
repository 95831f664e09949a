"""The raw counterpart of each data stage of a monthly run: what the same work costs with nothing but
the database (or the bare HTTP calls) — the floor a stage is measured against in bench_monthly.py.

Each runs on the run's own data, after the stage it stands beside, and leaves the store as it found it
(its writes go to temporary tables or are rolled back). PostgreSQL only: on SQLite they are skipped.

- extract: COPY of the run's payroll lines, as typed rows, into a table of ``payroll_lines``' shape;
- validate: the personnel checks (TCKN checksum, IBAN mod 97, mobile, birth date) as one SQL pass;
- assess: the eligibility rules as one INSERT … SELECT over the same joins;
- contribute: 3% of PEK, kuruş dropped, as one UPDATE (rolled back);
- DES stages: the same HTTP requests the stage made, replayed bare on one keep-alive session (POSTs
  with fresh idempotency keys, so the simulator does the work again).
"""

from __future__ import annotations

import tempfile
import time
import uuid

import requests
import sqlalchemy as sa


def _timed(conn: sa.Connection, sql: str, params: dict) -> float:
    start = time.perf_counter()
    conn.execute(sa.text(sql), params)
    return time.perf_counter() - start


def copy_lines(engine: sa.Engine, run_id: int) -> float:
    """COPY the run's lines out (untimed), then into a fresh table of the same shape (timed)."""
    with engine.connect() as conn, tempfile.TemporaryFile("w+") as dump:
        cursor = conn.connection.dbapi_connection.cursor()
        cursor.copy_expert(f"COPY (SELECT * FROM payroll_lines WHERE run_id = {int(run_id)}) TO STDOUT", dump)
        dump.seek(0)
        cursor.execute("CREATE TEMP TABLE raw_lines (LIKE payroll_lines INCLUDING DEFAULTS INCLUDING INDEXES)")
        start = time.perf_counter()
        cursor.copy_expert("COPY raw_lines FROM STDIN", dump)
        seconds = time.perf_counter() - start
        conn.rollback()
        return seconds


_VALIDATE = """
SELECT
  COUNT(*) FILTER (WHERE NOT (tckn ~ '^[1-9][0-9]{10}$'
    AND ((s1 * 7 - s2) % 10 + 10) % 10 = substr(tckn, 10, 1)::int
    AND (s1 + s2 + substr(tckn, 10, 1)::int) % 10 = substr(tckn, 11, 1)::int)) AS bad_tckn,
  COUNT(*) FILTER (WHERE iban IS NOT NULL AND NOT (iban ~ '^TR[0-9]{24}$'
    AND (substr(iban, 5) || '2927' || substr(iban, 3, 2))::numeric % 97 = 1)) AS bad_iban,
  COUNT(*) FILTER (WHERE mobile IS NOT NULL AND regexp_replace(mobile, '[^0-9]', '', 'g') !~ '^(90|0)?5[0-9]{9}$') AS bad_mobile,
  COUNT(*) FILTER (WHERE birth_date IS NULL OR birth_date < DATE '1900-01-01' OR birth_date > wage_paid_on - INTERVAL '15 years') AS bad_birth
FROM (
  SELECT tckn, iban, mobile, birth_date, wage_paid_on,
         CASE WHEN tckn ~ '^[0-9]{11}$' THEN substr(tckn,1,1)::int + substr(tckn,3,1)::int + substr(tckn,5,1)::int
              + substr(tckn,7,1)::int + substr(tckn,9,1)::int END AS s1,
         CASE WHEN tckn ~ '^[0-9]{11}$' THEN substr(tckn,2,1)::int + substr(tckn,4,1)::int + substr(tckn,6,1)::int
              + substr(tckn,8,1)::int END AS s2
  FROM payroll_lines WHERE run_id = :run_id
) lines
"""


def validate_sql(engine: sa.Engine, run_id: int) -> float:
    with engine.connect() as conn:
        return _timed(conn, _VALIDATE, {"run_id": run_id})


# The eligibility rules as one SQL CASE over the very lines the step reads (its own query).
_ASSESS = """
CREATE TEMP TABLE raw_decisions AS
SELECT l.line_id, l.employee_id, l.contract_id,
  CASE
    WHEN l.enrolment_state IN ('pending', 'submitted', 'enrolled') THEN 'contributed'
    WHEN l.enrolment_state = 'paused' AND l.paused_until < l.wage_paid_on THEN 'contributed'
    WHEN l.enrolment_state IN ('paused', 'opted_out', 'left') THEN 'inactive'
    WHEN l.enrolment_state = 'rejected' THEN 'rejected'
    WHEN COALESCE(l.headcount, 0) < 5 AND l.sector = 'private' THEN 'not_eligible'
    WHEN l.citizenship <> 'TR' OR l.sgk_status <> '4a' THEN 'not_eligible'
    WHEN l.birth_date + INTERVAL '45 years' > make_date(EXTRACT(YEAR FROM GREATEST(l.hire_date, DATE '2017-01-01'))::int, 1, 1)
      OR l.has_oks_certificate OR l.voluntary THEN 'contributed'
    ELSE 'not_eligible'
  END AS outcome
FROM ({lines}) l
"""


def assess_sql(engine: sa.Engine, run_id: int) -> float:
    from oks.pipeline.assess import _LINES

    with engine.connect() as conn:
        seconds = _timed(conn, _ASSESS.format(lines=_LINES.element.text), {"run_id": run_id})
        conn.rollback()
        return seconds


_CONTRIBUTE = """
UPDATE contributions k SET basis = p.pek, rate = 0.03, amount = floor(p.pek * 0.03)
FROM payroll_lines p WHERE p.id = k.payroll_line_id AND k.run_id = :run_id AND k.outcome = 'contributed'
"""


def contribute_sql(engine: sa.Engine, run_id: int) -> float:
    with engine.connect() as conn:
        seconds = _timed(conn, _CONTRIBUTE, {"run_id": run_id})
        conn.rollback()
        return seconds


class HttpRecorder:
    """Records every request a DES stage makes through the gateway's session, to replay them bare."""

    def __init__(self, session: requests.Session) -> None:
        self.session, self.calls = session, []
        self._request = session.request

    def __enter__(self) -> HttpRecorder:
        def recording(method, url, **kwargs):
            self.calls.append((method, url, kwargs.get("data"), dict(kwargs.get("headers") or {}), kwargs.get("params")))
            return self._request(method, url, **kwargs)

        self.session.request = recording
        return self

    def __exit__(self, *exc) -> None:
        self.session.request = self._request

    def replay(self) -> tuple[float, dict[int, int]]:
        """The same requests on one keep-alive session, nothing around them: seconds, and the count
        of each HTTP status the simulator answered (a refusal is cheaper than the work)."""
        statuses: dict[int, int] = {}
        with requests.Session() as bare:
            start = time.perf_counter()
            for method, url, data, headers, params in self.calls:
                if "Idempotency-Key" in headers:
                    headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
                status = bare.request(method, url, data=data, headers=headers, params=params, timeout=60).status_code
                statuses[status] = statuses.get(status, 0) + 1
            return time.perf_counter() - start, statuses
