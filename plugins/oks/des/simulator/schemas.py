"""Request bodies the simulator accepts, as the contract (openapi.yaml) defines them."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Tckn = Annotated[str, Field(pattern=r"^[1-9]\d{10}$")]
Period = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
# Strict: a date is an ISO string on the wire, never a number pydantic would read as a timestamp.
IsoDate = Annotated[date, Field(strict=True)]
Amount = Annotated[str, Field(pattern=r"^(0|[1-9]\d{0,11})(\.\d{1,2})?$")]
Text = Annotated[str, Field(min_length=1, max_length=200)]

MAX_BATCH = 5000


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TokenRequest(_Body):
    customer_no: Annotated[str, Field(min_length=1, max_length=40)]
    tckn: Tckn
    password: Text


class ContractRegistration(_Body):
    insurer: Literal["AGESA", "ANADOLU", "FIBA"]
    starts_on: IsoDate
    ends_on: IsoDate | None = None
    employer_vkn: Annotated[str, Field(pattern=r"^\d{10}$")]


class WsCredentials(_Body):
    user: Text
    password: Text
    client_id: Text | None = None
    client_secret: Text | None = None


class Person(_Body):
    tckn: Tckn
    first_name: Annotated[str, Field(min_length=1, max_length=100)]
    last_name: Annotated[str, Field(min_length=1, max_length=100)]
    birth_date: IsoDate
    mobile: Annotated[str, Field(pattern=r"^\+90\d{10}$")]
    email: Annotated[str, Field(max_length=254)] | None = None
    iban: Annotated[str, Field(pattern=r"^TR\d{24}$")] | None = None
    fund_kind: Annotated[str, Field(min_length=1, max_length=24)]
    hire_date: IsoDate
    action: Literal["ENROL", "UPDATE", "EXIT"]
    exit_date: IsoDate | None = None  # the last day of employment: required with EXIT, refused otherwise

    @model_validator(mode="after")
    def _exit_date_with_exit(self) -> Person:
        if (self.action == "EXIT") != (self.exit_date is not None):
            raise ValueError("exit_date is required with action EXIT and only with it")
        return self


People = Annotated[list[Person], Field(min_length=1, max_length=MAX_BATCH)]


class PersonnelListRequest(_Body):
    period: Period
    people: People
    batch_count: Annotated[int, Field(ge=1)] = 1
    person_count: Annotated[int, Field(ge=1)] | None = None


class PersonnelBatchRequest(_Body):
    batch_no: Annotated[int, Field(ge=2)]
    people: People


class PaymentItem(_Body):
    tckn: Tckn
    policy_no: Annotated[str, Field(min_length=1, max_length=40)]
    amount: Amount


Items = Annotated[list[PaymentItem], Field(min_length=1, max_length=MAX_BATCH)]


class PaymentRequest(_Body):
    period: Period
    kind: Literal["REGULAR", "SUPPLEMENTARY"]
    wage_paid_on: IsoDate
    items: Items
    batch_count: Annotated[int, Field(ge=1)] = 1
    item_count: Annotated[int, Field(ge=1)] | None = None
    control_total: Amount | None = None


class PaymentBatchRequest(_Body):
    batch_no: Annotated[int, Field(ge=2)]
    items: Items


class EmployerRequest(_Body):
    """A request the employee made at the employer, forwarded to the insurer (docs/rules.md §6)."""

    tckn: Tckn
    policy_no: Annotated[str, Field(min_length=1, max_length=40)]
    kind: Literal["OPT_OUT", "PAUSE", "RESUME", "LEAVE"]
    requested_on: IsoDate
    months: Annotated[int, Field(ge=1, le=3)] | None = None  # a pause: how long

    @model_validator(mode="after")
    def _months_with_pause(self) -> EmployerRequest:
        if (self.kind == "PAUSE") != (self.months is not None):
            raise ValueError("months is required with kind PAUSE and only with it")
        return self


# --- control (simulator only; not part of the contract) -----------------------------------------


class CustomerSeed(_Body):
    customer_no: Annotated[str, Field(min_length=1, max_length=40)]
    tckn: Tckn
    password: Text


class EventInjection(_Body):
    contract_no: Annotated[str, Field(min_length=1, max_length=40)]
    type: Literal["OPTED_OUT", "PAUSED", "RESUMED", "LEFT", "CANCELLED"]
    tckn: Tckn
    effective_on: IsoDate | None = None
    notified_on: IsoDate | None = None


class SettingsUpdate(_Body):
    insurer_delay: Annotated[float, Field(ge=0)] | None = None
    transfer_delay: Annotated[float, Field(ge=0)] | None = None
    token_ttl: Annotated[float, Field(gt=0)] | None = None


class FaultsUpdate(_Body):
    error_rate: Annotated[float, Field(ge=0, le=1)] | None = None
    lost_response_rate: Annotated[float, Field(ge=0, le=1)] | None = None
    rate_limit_every: Annotated[int, Field(ge=0)] | None = None
    retry_after: Annotated[float, Field(ge=0)] | None = None
    latency: Annotated[float, Field(ge=0)] | None = None
    hang_rate: Annotated[float, Field(ge=0, le=1)] | None = None
    hang_seconds: Annotated[float, Field(ge=0)] | None = None
    outage_after: Annotated[float, Field(ge=0)] | None = None  # seconds from now
    outage_for: Annotated[float, Field(ge=0)] | None = None  # seconds; 0 ends an outage
    path_contains: str | None = None
    seed: int | None = None


class RegisterSource(_Body):
    path: str
