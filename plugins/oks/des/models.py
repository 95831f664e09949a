"""Typed requests and answers of the DES gateway contract (``openapi.yaml``), as the pipeline sees them.

Answers ignore fields they do not know, so DES may add to the contract without breaking the client.
Models that carry personal data show it masked in ``repr``/``str`` (KVKK), and validation errors never
echo the offending value. Money is :class:`~decimal.Decimal` here and a decimal string on the wire.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, TypeAdapter, model_validator

from oks.privacy import MASKS

Insurer = Literal["AGESA", "ANADOLU", "FIBA"]
Action = Literal["ENROL", "UPDATE", "EXIT"]
PaymentKind = Literal["REGULAR", "SUPPLEMENTARY"]
EventType = Literal["OPTED_OUT", "PAUSED", "RESUMED", "LEFT", "CANCELLED"]
RequestKind = Literal["OPT_OUT", "PAUSE", "RESUME", "LEAVE"]

INSURER_WS_FIELDS: dict[str, tuple[str, ...]] = {
    "AGESA": ("user", "password"),
    "ANADOLU": ("user", "password", "client_id", "client_secret"),
    "FIBA": ("user", "password"),
}
"""The web-service credential fields each insurer needs (docs/rules.md §7)."""

CENT = Decimal("0.01")
_PERSONAL_MASKS = {**MASKS, "birth_date": lambda value: "****-**-**"}


def _exact_money(value: object) -> Decimal:
    # A float has already lost the kuruş it claims to hold; refuse it instead of guessing.
    if isinstance(value, float):
        raise ValueError("amounts are Decimal or decimal strings, never float")
    amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    if not amount.is_finite():
        raise ValueError("amount is not a finite number")
    exact = amount.quantize(CENT)
    if exact != amount:
        raise ValueError("amount has more than two decimals")
    return exact


Money = Annotated[Decimal, BeforeValidator(_exact_money)]
Period = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
ContractNo = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    def __repr_args__(self):
        for name, value in super().__repr_args__():
            mask = _PERSONAL_MASKS.get(name) if name else None
            yield name, (mask(value) if mask is not None and value is not None else value)


class _Request(_Model):
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


# --- contracts -----------------------------------------------------------------------------------


class ContractRegistration(_Request):
    contract_no: ContractNo
    insurer: Insurer
    starts_on: date
    ends_on: date | None = None
    employer_vkn: Annotated[str, Field(pattern=r"^\d{10}$")]

    def body(self) -> dict:
        return self.model_dump(mode="json", exclude={"contract_no"})


class Contract(_Model):
    contract_no: str
    insurer: Insurer
    starts_on: date
    ends_on: date | None
    employer_vkn: str
    ws_credentials_set: bool


class WsCredentials(_Request):
    """An insurer's web-service credentials for one contract; secrets never show in ``repr``."""

    user: Annotated[str, Field(min_length=1)]
    password: SecretStr
    client_id: str | None = None
    client_secret: SecretStr | None = None

    def body(self) -> dict:
        body = {"user": self.user, "password": self.password.get_secret_value()}
        if self.client_id is not None:
            body["client_id"] = self.client_id
        if self.client_secret is not None:
            body["client_secret"] = self.client_secret.get_secret_value()
        return body

    def missing_for(self, insurer: str) -> list[str]:
        """The fields ``insurer`` needs that these credentials lack."""
        return [f for f in INSURER_WS_FIELDS[insurer] if getattr(self, f) is None]

    def only_for(self, insurer: str) -> WsCredentials:
        """These credentials with only the fields ``insurer`` takes: one default set may serve
        several insurers, and each is sent only what it asks for."""
        unused = {"client_id", "client_secret"} - set(INSURER_WS_FIELDS.get(insurer, ()))
        return self.model_copy(update=dict.fromkeys(unused))


class WsCredentialsReceipt(_Model):
    contract_no: str
    insurer: Insurer
    fields: tuple[str, ...]


# --- personnel -----------------------------------------------------------------------------------


class Person(_Request):
    """One person on a personnel list, in the canonical spellings (``oks.rules.identity``)."""

    tckn: Annotated[str, Field(pattern=r"^[1-9]\d{10}$")]
    first_name: Annotated[str, Field(min_length=1, max_length=100)]
    last_name: Annotated[str, Field(min_length=1, max_length=100)]
    birth_date: date
    mobile: Annotated[str, Field(pattern=r"^\+90\d{10}$")]
    email: Annotated[str, Field(max_length=254)] | None = None
    iban: Annotated[str, Field(pattern=r"^TR\d{24}$")] | None = None
    fund_kind: Annotated[str, Field(min_length=1, max_length=24)] = "STANDARD"
    hire_date: date
    action: Action = "ENROL"
    exit_date: date | None = None  # the last day of employment: with EXIT, and only with it

    @model_validator(mode="after")
    def _exit_date_with_exit(self) -> Person:
        if (self.action == "EXIT") != (self.exit_date is not None):
            raise ValueError("exit_date is required with action EXIT and only with it")
        return self


PEOPLE = TypeAdapter(list[Person])


class ResultError(_Model):
    code: str
    message: str


class PersonnelSubmission(_Model):
    """What :meth:`submit_personnel` did: the list DES holds (new or re-attached)."""

    list_id: str
    contract_no: str
    period: str
    people: int
    batches: int
    idempotency_key: str
    reattached: bool = False  # DES (or the ledger) already held it: nothing new was created


class PersonnelListReceipt(_Model):
    list_id: str
    contract_no: str
    period: str
    state: Literal["RECEIVED", "SENT", "COMPLETED"]
    batch_count: int
    batches_received: int
    people_received: int


class PersonResult(_Model):
    seq: int
    tckn: str
    action: Action
    status: Literal["PENDING", "ENROLLED", "UPDATED", "EXITED", "REJECTED"]
    policy_no: str | None
    error: ResultError | None


class PersonnelListPage(PersonnelListReceipt):
    total: int
    counts: dict[str, int]
    offset: int
    limit: int
    people: tuple[PersonResult, ...]

    @property
    def next_offset(self) -> int | None:
        end = self.offset + len(self.people)
        return end if self.people and end < self.total else None


# --- payments ------------------------------------------------------------------------------------


class PaymentItem(_Request):
    tckn: Annotated[str, Field(pattern=r"^[1-9]\d{10}$")]
    policy_no: Annotated[str, Field(min_length=1, max_length=40)]
    amount: Money

    def key(self) -> tuple[str, str, Decimal]:
        return (self.tckn, self.policy_no, self.amount)


ITEMS = TypeAdapter(list[PaymentItem])


class PaymentSubmission(_Model):
    """What :meth:`submit_payment` did: the payment DES holds (new, re-attached, or adopted)."""

    payment_id: str
    contract_no: str
    period: str
    kind: PaymentKind
    total: Decimal
    items: int
    batches: int
    idempotency_key: str
    reattached: bool = False  # DES (or the ledger) already held it under this key
    adopted: bool = False  # DES held an identical REGULAR payment under another key


class PaymentReceipt(_Model):
    payment_id: str
    contract_no: str
    period: str
    kind: PaymentKind
    state: Literal["RECEIVED", "SENT", "TRANSFERRED", "REJECTED"]
    total: Decimal
    control_total: Decimal
    item_count: int
    items_received: int
    batch_count: int
    batches_received: int


class PaymentItemResult(_Model):
    seq: int
    tckn: str
    policy_no: str
    amount: Decimal
    status: Literal["PENDING", "ACCEPTED", "REJECTED"]
    error: ResultError | None

    def key(self) -> tuple[str, str, Decimal]:
        return (self.tckn, self.policy_no, self.amount)


class PaymentPage(PaymentReceipt):
    wage_paid_on: date
    accepted_total: Decimal
    offset: int
    limit: int
    items: tuple[PaymentItemResult, ...]

    @property
    def next_offset(self) -> int | None:
        end = self.offset + len(self.items)
        return end if self.items and end < self.items_received else None


# --- status events -------------------------------------------------------------------------------


class StatusEvent(_Model):
    id: str
    type: EventType
    tckn: str
    policy_no: str
    effective_on: date
    notified_on: date


class EventsPage(_Model):
    events: tuple[StatusEvent, ...]
    next_cursor: str


# --- requests made at the employer ---------------------------------------------------------------


class EmployerRequest(_Request):
    """A request the employee made at the employer (cayma, ara verme, devam, ayrılma), forwarded to the
    insurer; its decision comes back as a status event."""

    tckn: Annotated[str, Field(pattern=r"^[1-9]\d{10}$")]
    policy_no: Annotated[str, Field(min_length=1, max_length=40)]
    kind: RequestKind
    requested_on: date
    months: Annotated[int, Field(ge=1, le=3)] | None = None  # a pause: how long

    @model_validator(mode="after")
    def _months_with_pause(self) -> EmployerRequest:
        if (self.kind == "PAUSE") != (self.months is not None):
            raise ValueError("months is required with kind PAUSE and only with it")
        return self


class EmployerRequestState(_Model):
    request_id: str
    contract_no: str
    tckn: str
    policy_no: str
    kind: RequestKind
    requested_on: date
    months: int | None = None
    state: Literal["RECEIVED", "DONE", "REFUSED"]
    event_id: str | None
    error: ResultError | None
    reattached: bool = False  # the ledger or DES already held it: nothing new was created


class Token(_Model):
    access_token: SecretStr
    token_type: str
    expires_in: float
