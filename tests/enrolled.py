"""One enrolled person in a store, without running a month: for the tests of what operations do with an
enrolment (requests made at the employer, the operations view, the `oks` command).

A plain module, not a test module: test modules are never imported by other modules.
"""

from __future__ import annotations

import sqlalchemy as sa

from oks.store.schema import contracts, employees, employers, enrolments
from tests.payroll_files import person


def enrolled_person(engine, n: int, contract_no: str, policy_no: str) -> dict:
    """Payroll row ``n`` (tests.payroll_files.person) enrolled under ``contract_no`` with ``policy_no``; the row."""
    row = person(n)
    with engine.begin() as conn:
        employer = conn.execute(sa.insert(employers).values(vkn=row["employer_vkn"], name="Örnek").returning(employers.c.id)).scalar_one()
        contract = conn.execute(sa.insert(contracts).values(contract_no=contract_no, employer_id=employer, insurer="AGESA",
                                starts_on=row["hire_date"], collection_iban="TR330006100519786457841326").returning(contracts.c.id)).scalar_one()  # fmt: skip
        employee = conn.execute(sa.insert(employees).values(employer_id=employer, payroll_id=row["payroll_id"], tckn=row["tckn"],
                                first_name=row["first_name"], last_name=row["last_name"]).returning(employees.c.id)).scalar_one()  # fmt: skip
        conn.execute(sa.insert(enrolments).values(employee_id=employee, contract_id=contract, state="enrolled", policy_no=policy_no))
    return row
