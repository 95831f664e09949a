"""The canonical submission record every channel is rendered from.

Modelled on the UK's PAPDIS (payroll → pension provider): one record per person, contract, pay period
and event, carrying the employer, the contract, the period and deduction date, the person's identity,
the assessment and the event with their dates, and the amount and rate. A personnel list is the
records with a personnel event (ENROL, UPDATE, EXIT); a contribution file the CONTRIBUTION records.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

__all__ = ["EventCode", "PERSONNEL_EVENTS", "SubmissionRecord", "FIELDS", "FIELD_KINDS", "PERSONAL_FIELDS"]

EventCode = Literal["ENROL", "UPDATE", "EXIT", "CONTRIBUTION"]
PERSONNEL_EVENTS: frozenset[str] = frozenset({"ENROL", "UPDATE", "EXIT"})


@dataclass(frozen=True)
class SubmissionRecord:
    employer_vkn: str
    employer_name: str
    contract_no: str
    insurer: str
    pay_period: str  # YYYY-MM
    deduction_date: date  # the day the wage (and so the deduction) is paid
    payroll_id: str
    tckn: str
    first_name: str
    last_name: str
    birth_date: date
    hire_date: date
    assessment_code: str  # why the person is in the plan: eligible, certificate, voluntary, re-enrolment
    event_code: EventCode
    event_date: date
    mobile: str | None = None
    email: str | None = None
    iban: str | None = None
    fund_kind: str = "STANDARD"
    exit_date: date | None = None
    opt_out_date: date | None = None
    payment_kind: str = "regular"
    rate: Decimal | None = None
    amount: Decimal | None = None

    def __post_init__(self) -> None:
        if (self.event_code == "EXIT") != (self.exit_date is not None):
            raise ValueError(f"{self.payroll_id}: exit_date goes with an EXIT event, and only with it")
        if (self.event_code == "CONTRIBUTION") != (self.amount is not None):
            raise ValueError(f"{self.payroll_id}: an amount goes with a CONTRIBUTION event, and only with it")


FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(SubmissionRecord))

# The kind of each field, which decides how a profile writes it (and how a reader reads it back).
FIELD_KINDS: dict[str, str] = {
    **dict.fromkeys(FIELDS, "text"),
    **dict.fromkeys(("deduction_date", "birth_date", "hire_date", "event_date", "exit_date", "opt_out_date"), "date"),
    "amount": "money",
    "rate": "rate",
}

PERSONAL_FIELDS: frozenset[str] = frozenset({"tckn", "first_name", "last_name", "mobile", "email", "iban"})
"""KVKK: these are in the files an insurer needs, and masked anywhere else (logs, reports, errors)."""
