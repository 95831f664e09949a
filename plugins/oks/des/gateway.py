"""The DES gateway: what the pipeline needs from DES, whoever provides it.

The pipeline depends on this protocol only. :class:`oks.des.client.DesClient` implements it over the
project's HTTP contract (``openapi.yaml``); an adapter for the real DES, or for an insurer's own web
service, implements the same methods and replaces it without touching the pipeline.

Promises every implementation keeps:

- ``submit_personnel`` and ``submit_payment`` are safe to repeat: the same work submitted again
  (after a crash, a retry, a re-run) re-attaches to what DES already holds, never creates a second
  list or payment. At most one REGULAR payment per contract and period exists; when DES holds one
  with other content, :class:`~oks.des.errors.PaymentConflict` stops for a human.
- Failures are :class:`~oks.des.errors.DesUnavailable` (retryable later) or
  :class:`~oks.des.errors.DesApiError` (a business error; retrying will not help).
- Reads are paged (``offset``/``limit``) so memory is bounded by the page, not by the headcount.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from typing import Protocol, runtime_checkable

from oks.des.models import (
    Contract,
    ContractRegistration,
    EmployerRequest,
    EmployerRequestState,
    EventsPage,
    PaymentItem,
    PaymentItemResult,
    PaymentKind,
    PaymentPage,
    PaymentReceipt,
    PaymentSubmission,
    Person,
    PersonnelListPage,
    PersonnelListReceipt,
    PersonnelSubmission,
    PersonResult,
    WsCredentials,
    WsCredentialsReceipt,
)


@runtime_checkable
class DesGateway(Protocol):
    def register_contract(self, registration: ContractRegistration, *, run_id: int | None = None) -> Contract:
        """Register an insurer contract on DES; the same data again is a no-op."""
        ...

    def store_ws_credentials(self, contract_no: str, credentials: WsCredentials) -> WsCredentialsReceipt:
        """Store the insurer's web-service credentials for the contract (needed before sending)."""
        ...

    def submit_personnel(
        self, contract_no: str, period: str, people: Iterable[Person | Mapping], *, run_id: int | None = None
    ) -> PersonnelSubmission:
        """Submit the period's personnel list (in batches if large); returns the list DES holds."""
        ...

    def send_personnel_to_insurer(self, list_id: str) -> PersonnelListReceipt:
        """Send a submitted list on to the insurer (repeating it is harmless)."""
        ...

    def read_personnel_results(self, list_id: str, *, offset: int = 0, limit: int | None = None) -> PersonnelListPage:
        """The list's state and one page of per-person results (policy numbers, rejections)."""
        ...

    def submit_payment(
        self,
        contract_no: str,
        period: str,
        kind: PaymentKind,
        wage_paid_on: date,
        items: Iterable[PaymentItem | Mapping],
        *,
        run_id: int | None = None,
    ) -> PaymentSubmission:
        """Submit the period's contributions (in batches if large); returns the payment DES holds."""
        ...

    def send_payment_to_insurer(self, payment_id: str) -> PaymentReceipt:
        """Send a submitted payment on to the insurer (repeating it is harmless)."""
        ...

    def read_payment(self, payment_id: str, *, offset: int = 0, limit: int | None = None) -> PaymentPage:
        """The payment's state and one page of per-item results."""
        ...

    def read_events(self, contract_no: str, *, after: str | None = None, limit: int | None = None) -> EventsPage:
        """Status events (opt-outs, pauses, exits, …) after ``after``, with the cursor to store."""
        ...

    def forward_request(self, contract_no: str, request: EmployerRequest, *, run_id: int | None = None) -> EmployerRequestState:
        """Forward a request the employee made at the employer to the insurer; the same request again
        re-attaches to the one DES holds. The insurer's decision comes back as a status event."""
        ...

    def read_request(self, request_id: str) -> EmployerRequestState:
        """A forwarded request: received, done (with the status event it made) or refused (why)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def iter_personnel_results(gateway: DesGateway, list_id: str) -> Iterator[PersonResult]:
    """Every person's result on list ``list_id``, one page in memory at a time. Read it once the list
    is COMPLETED: a list the insurer finishes mid-way would mix PENDING and final results."""
    offset: int | None = 0
    while offset is not None:
        page = gateway.read_personnel_results(list_id, offset=offset)
        yield from page.people
        offset = page.next_offset


def iter_payment_items(gateway: DesGateway, payment_id: str, *, first: PaymentPage | None = None) -> Iterator[PaymentItemResult]:
    """Every item's result of payment ``payment_id``, one page in memory at a time (``first``: a
    first page already read)."""
    page = first if first is not None else gateway.read_payment(payment_id)
    while True:
        yield from page.items
        offset = page.next_offset
        if offset is None:
            return
        page = gateway.read_payment(payment_id, offset=offset)
