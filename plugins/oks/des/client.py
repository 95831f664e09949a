"""The DES gateway over the project's HTTP contract (``openapi.yaml``).

Large personnel lists and payments go in batches of ``settings.batch_size``, each batch under its
own idempotency key. Keys are derived from the content (:mod:`oks.des.keys`) after sorting people
and items by TCKN, so the same work always yields the same requests. With a :class:`Ledger`, every
creating request is recorded in ``des_requests`` before it is sent and updated after; a re-run skips
what DES is known to hold and re-sends the rest under the same keys, so nothing is created twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from oks.des.errors import DesApiError, DesUnavailable, LedgerConflict, PaymentConflict
from oks.des.gateway import iter_payment_items, iter_personnel_results
from oks.des.keys import batch_key, content_hash, idempotency_key
from oks.des.ledger import ADOPTED, COMPLETED, CONFLICT, FAILED, RECORDED, SENT, Ledger, LedgerEntry, LedgerRecord
from oks.des.models import (
    ITEMS,
    PEOPLE,
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
from oks.des.settings import DesSettings
from oks.des.transport import Answer, DesTransport

log = logging.getLogger("oks.des")

API = "/api/v1"


def _segment(value: str) -> str:
    return quote(value, safe="")


def _compact(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()



def _payment_digest(period: str, kind: str, wage_paid_on: date, items: list[PaymentItem]) -> str:
    """What a payment is, as its ledger row records it: period, kind, wage day and the items in (TCKN,
    policy) order — the key's basis, and how a payment DES holds is recognised as one of ours."""
    return content_hash("payment", period, kind, wage_paid_on.isoformat(), ITEMS.dump_json(items))

class DesClient:
    """:class:`~oks.des.gateway.DesGateway` over HTTP. A context manager; share one per process."""

    def __init__(self, settings: DesSettings, *, ledger: Ledger | None = None, transport: DesTransport | None = None) -> None:
        self.settings = settings
        self.ledger = ledger
        self.transport = transport or DesTransport(settings)

    @property
    def session(self):
        """The pooled ``requests.Session`` (hooks may be added, e.g. to observe every answer)."""
        return self.transport.session

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> DesClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DesClient({self.settings!r}, ledger={'yes' if self.ledger else 'no'})"

    # --- plumbing --------------------------------------------------------------------------------

    def _get(self, path: str, params: Mapping | None, operation: str) -> dict:
        return self.transport.request("GET", path, params=params, operation=operation).body

    def _post_send(self, path: str, operation: str) -> dict:
        # Sending on to the insurer is idempotent by state on DES, so a plain retry is safe.
        return self.transport.request("POST", path, operation=operation).body

    def _ledgered(self, entry: LedgerEntry, method: str, path: str, body: bytes, operation: str, *, send_key: bool = True) -> tuple[Answer, int]:
        """A creating call whose ledger row is already written; the row is updated from the outcome.
        If the process dies inside this call the row stays ``recorded`` — the re-run's cue to re-attach."""
        attempts = [0]
        try:
            answer = self.transport.request(
                method, path, body=body, idempotency_key=entry.idempotency_key if send_key else None,
                operation=operation, attempts=attempts,
            )
        except DesUnavailable as exc:
            if self.ledger:
                self.ledger.unanswered(entry.idempotency_key, attempts=attempts[0], error=str(exc))
            raise
        except DesApiError as exc:
            if self.ledger and exc.code != "DUPLICATE_PERIOD":  # the caller settles a duplicate
                self.ledger.failed(entry.idempotency_key, attempts=exc.attempts, error=f"{exc.code}: {exc.message}")
            raise
        return answer, attempts[0]

    def _create(
        self, entry: LedgerEntry, records: Mapping[str, LedgerRecord], path: str, body: bytes, id_field: str, operation: str
    ) -> tuple[str, bool]:
        """POST one creating request unless the ledger says DES holds it; returns (DES id, re-attached)."""
        known = records.get(entry.idempotency_key)
        if known is not None and known.held_by_des:
            return known.des_id, True  # type: ignore[return-value]
        answer, attempts = self._ledgered(entry, "POST", path, body, operation)
        des_id = str(answer.body[id_field])
        if self.ledger:
            self.ledger.accepted(entry.idempotency_key, des_id, attempts=attempts)
        return des_id, answer.replayed

    def _record(self, entries: Sequence[LedgerEntry]) -> dict[str, LedgerRecord]:
        if not self.ledger:
            return {}
        header = entries[0]
        if header.kind in ("personnel_list", "payment"):
            self._refuse_other_layout(header)
        return self.ledger.record(entries)

    def _refuse_other_layout(self, header: LedgerEntry) -> None:
        """The same list or payment already went out under another key, i.e. cut into batches of
        another size (batch_size changed between a run and its re-run). Its keys cannot re-attach
        to what DES holds, and sending anew would make a second list or hit DUPLICATE_PERIOD
        half-way: stop before sending anything."""
        for row in self.ledger.find(header.contract_no, period=header.period, kind=header.kind):  # type: ignore[union-attr]
            if (
                row.content_hash == header.content_hash
                and row.payment_kind == header.payment_kind
                and row.idempotency_key != header.idempotency_key
                and row.state not in (FAILED, CONFLICT)
            ):
                raise LedgerConflict(
                    f"contract {header.contract_no}, {header.period}: this {header.kind.replace('_', ' ')} was already "
                    f"submitted under key {row.idempotency_key} (state {row.state}, DES id {row.des_id or 'unknown'}) "
                    "with another batch size. Nothing was sent: run again with the batch_size of that run."
                )

    # --- contracts -------------------------------------------------------------------------------

    def register_contract(self, registration: ContractRegistration, *, run_id: int | None = None) -> Contract:
        body = _compact(registration.body())
        digest = content_hash(body)
        entry = LedgerEntry(
            "contract", registration.contract_no, None, None,
            idempotency_key("contract", registration.contract_no, None, None, digest), digest, run_id,
        )
        self._record([entry])
        answer, attempts = self._ledgered(
            entry, "PUT", f"{API}/contracts/{_segment(registration.contract_no)}", body, "contract registration", send_key=False
        )
        if self.ledger:
            self.ledger.accepted(entry.idempotency_key, registration.contract_no, attempts=attempts)
        log.info("DES: contract %s registered (%s)", registration.contract_no, registration.insurer)
        return Contract.model_validate(answer.body)

    def get_contract(self, contract_no: str) -> Contract:
        return Contract.model_validate(self._get(f"{API}/contracts/{_segment(contract_no)}", None, "contract lookup"))

    def store_ws_credentials(self, contract_no: str, credentials: WsCredentials) -> WsCredentialsReceipt:
        answer = self.transport.request(
            "PUT", f"{API}/contracts/{_segment(contract_no)}/ws-credentials", body=_compact(credentials.body()),
            operation="WS credentials",
        )
        log.info("DES: WS credentials stored for contract %s", contract_no)
        return WsCredentialsReceipt.model_validate(answer.body)

    # --- personnel -------------------------------------------------------------------------------

    def submit_personnel(
        self, contract_no: str, period: str, people: Iterable[Person | Mapping], *, run_id: int | None = None
    ) -> PersonnelSubmission:
        people = PEOPLE.validate_python(list(people))
        if not people:
            raise ValueError("an empty personnel list cannot be submitted")
        people.sort(key=lambda p: (p.tckn, p.action))
        size = self.settings.batch_size
        encoded = [PEOPLE.dump_json(people[i : i + size]) for i in range(0, len(people), size)]
        count = len(encoded)
        # The ledger's content hash ignores how the list is cut into batches; the key does not.
        whole = content_hash("personnel_list", period, PEOPLE.dump_json(people))
        key = idempotency_key("personnel_list", contract_no, period, None, f"{whole}/{size}")
        first = b"".join(
            (b'{"period":', _compact(period), b',"people":', encoded[0], b',"batch_count":%d,"person_count":%d}' % (count, len(people)))
        )
        rest = [(n, b'{"batch_no":%d,"people":%s}' % (n, encoded[n - 1])) for n in range(2, count + 1)]
        header = LedgerEntry("personnel_list", contract_no, period, None, key, whole, run_id)
        batches = [
            LedgerEntry(
                "personnel_batch", contract_no, period, None,
                batch_key("personnel_batch", key, contract_no, period, None, n, digest), digest, run_id,
            )
            for n, body in rest
            for digest in (content_hash(body),)
        ]
        records = self._record([header, *batches])
        list_id, reattached = self._create(
            header, records, f"{API}/contracts/{_segment(contract_no)}/personnel-lists", first, "list_id", "personnel list"
        )
        for entry, (n, body) in zip(batches, rest, strict=True):
            _, again = self._create(
                entry, records, f"{API}/personnel-lists/{_segment(list_id)}/batches", body, "list_id", f"personnel list batch {n}/{count}"
            )
            reattached = reattached or again
        log.info(
            "DES: personnel list for contract %s, %s: %d people in %d batch(es) -> %s%s",
            contract_no, period, len(people), count, list_id, " (re-attached)" if reattached else "",
        )
        return PersonnelSubmission(
            list_id=list_id, contract_no=contract_no, period=period, people=len(people), batches=count,
            idempotency_key=key, reattached=reattached,
        )

    def send_personnel_to_insurer(self, list_id: str) -> PersonnelListReceipt:
        receipt = PersonnelListReceipt.model_validate(
            self._post_send(f"{API}/personnel-lists/{_segment(list_id)}/send-to-insurer", "send personnel list")
        )
        if self.ledger:
            self.ledger.advance("personnel_list", list_id, SENT)
        return receipt

    def read_personnel_results(self, list_id: str, *, offset: int = 0, limit: int | None = None) -> PersonnelListPage:
        page = PersonnelListPage.model_validate(
            self._get(
                f"{API}/personnel-lists/{_segment(list_id)}",
                {"offset": offset, "limit": limit or self.settings.page_size},
                "read personnel list",
            )
        )
        if self.ledger and offset == 0 and page.state == "COMPLETED":
            self.ledger.advance("personnel_list", list_id, COMPLETED)
        return page

    def iter_personnel_results(self, list_id: str) -> Iterator[PersonResult]:
        """Every person's result, page by page (read once the list is COMPLETED)."""
        return iter_personnel_results(self, list_id)

    # --- payments --------------------------------------------------------------------------------

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
        if kind not in ("REGULAR", "SUPPLEMENTARY"):
            raise ValueError("payment kind must be REGULAR or SUPPLEMENTARY")
        items = ITEMS.validate_python(list(items))
        if not items:
            raise ValueError("an empty payment cannot be submitted")
        if any(item.amount <= 0 for item in items):
            raise ValueError("every payment amount must be more than 0")
        items.sort(key=lambda i: (i.tckn, i.policy_no))
        total = sum((item.amount for item in items), Decimal("0.00"))
        size = self.settings.batch_size
        encoded = [ITEMS.dump_json(items[i : i + size]) for i in range(0, len(items), size)]
        count = len(encoded)
        whole = _payment_digest(period, kind, wage_paid_on, items)
        key = idempotency_key("payment", contract_no, period, kind, f"{whole}/{size}")
        first = b"".join(
            (
                b'{"period":', _compact(period), b',"kind":', _compact(kind), b',"wage_paid_on":', _compact(wage_paid_on.isoformat()),
                b',"items":', encoded[0], b',"batch_count":%d,"item_count":%d,"control_total":' % (count, len(items)),
                _compact(str(total)), b"}",
            )
        )
        rest = [(n, b'{"batch_no":%d,"items":%s}' % (n, encoded[n - 1])) for n in range(2, count + 1)]
        header = LedgerEntry("payment", contract_no, period, kind, key, whole, run_id)
        batches = [
            LedgerEntry(
                "payment_batch", contract_no, period, kind,
                batch_key("payment_batch", key, contract_no, period, kind, n, digest), digest, run_id,
            )
            for n, body in rest
            for digest in (content_hash(body),)
        ]
        records = self._record([header, *batches])
        submission: dict[str, Any] = dict(contract_no=contract_no, period=period, kind=kind, total=total, items=len(items), batches=count, idempotency_key=key)
        known = records.get(key)
        if known is not None and known.state == ADOPTED and known.des_id:
            return PaymentSubmission(payment_id=known.des_id, adopted=True, reattached=True, **submission)
        try:
            payment_id, reattached = self._create(
                header, records, f"{API}/contracts/{_segment(contract_no)}/payments", first, "payment_id", "payment"
            )
        except DesApiError as exc:
            if exc.code != "DUPLICATE_PERIOD" or not exc.details.get("payment_id"):
                raise
            existing = str(exc.details["payment_id"])
            difference = self._payment_difference(existing, items, total, wage_paid_on)
            if difference is not None:
                lost = self._lost_attempt(existing, contract_no, period, kind)
                if lost is not None and self.ledger:
                    # DES holds what an earlier attempt sent and never heard back about (it died in
                    # between): that attempt's row now names it, so the month's payment is known as held.
                    self.ledger.accepted(lost.idempotency_key, existing, attempts=0)
                    message = (f"DUPLICATE_PERIOD: DES holds {existing}, created by an earlier attempt that died before "
                               f"recording it, which differs ({difference})")  # fmt: skip
                    self.ledger.failed(key, attempts=exc.attempts, error=message)
                    log.warning("DES: payment for contract %s, %s: %s", contract_no, period, message)
                    raise PaymentConflict(contract_no, period, existing, difference, lost_attempt_key=lost.idempotency_key) from None
                message = f"DUPLICATE_PERIOD: DES holds {existing}, which differs ({difference})"
                if self.ledger:
                    self.ledger.failed(key, attempts=exc.attempts, error=message, state=CONFLICT)
                log.error("DES: payment for contract %s, %s stopped: %s", contract_no, period, message)
                raise PaymentConflict(contract_no, period, existing, difference) from None
            if self.ledger:
                self.ledger.accepted(key, existing, attempts=exc.attempts, state=ADOPTED)
                self.ledger.accepted_many([b.idempotency_key for b in batches], existing, state=ADOPTED)
            log.warning(
                "DES: payment for contract %s, %s: DES already held identical payment %s under another key; adopted it",
                contract_no, period, existing,
            )
            return PaymentSubmission(payment_id=existing, adopted=True, **submission)
        for entry, (n, body) in zip(batches, rest, strict=True):
            _, again = self._create(
                entry, records, f"{API}/payments/{_segment(payment_id)}/batches", body, "payment_id", f"payment batch {n}/{count}"
            )
            reattached = reattached or again
        log.info(
            "DES: %s payment for contract %s, %s: %d items, total %s, %d batch(es) -> %s%s",
            kind, contract_no, period, len(items), total, count, payment_id, " (re-attached)" if reattached else "",
        )
        return PaymentSubmission(payment_id=payment_id, reattached=reattached, **submission)

    def _lost_attempt(self, payment_id: str, contract_no: str, period: str, kind: str) -> LedgerRecord | None:
        """The ledger row of the earlier attempt that created DES's payment ``payment_id`` and died before
        hearing the answer (recorded, no DES id), proven by content: the payment DES holds hashes to
        exactly what that row was recorded for. None when no such attempt exists — someone else made it."""
        if not self.ledger:
            return None
        unanswered = [r for r in self.ledger.find(contract_no, period=period, kind="payment")
                      if r.payment_kind == kind and r.state == RECORDED and r.des_id is None]  # fmt: skip
        if not unanswered:
            return None
        first = self.read_payment(payment_id)
        held = sorted((PaymentItem(tckn=i.tckn, policy_no=i.policy_no, amount=i.amount)
                       for i in iter_payment_items(self, payment_id, first=first)), key=lambda i: (i.tckn, i.policy_no))  # fmt: skip
        digest = _payment_digest(period, first.kind, first.wage_paid_on, held)
        return next((r for r in unanswered if r.content_hash == digest), None)

    def _payment_difference(self, payment_id: str, items: list[PaymentItem], total: Decimal, wage_paid_on: date) -> str | None:
        """None when DES's payment ``payment_id`` is complete and holds exactly ``items``; else how it differs."""
        first = self.read_payment(payment_id)
        if first.batches_received < first.batch_count:
            return f"it is incomplete: {first.batches_received} of {first.batch_count} batches"
        if first.wage_paid_on != wage_paid_on:
            return f"wage payment day {first.wage_paid_on} there, {wage_paid_on} here"
        if first.items_received != len(items) or first.total != total:
            return f"{first.items_received} items for {first.total} there, {len(items)} items for {total} here"
        theirs = sorted(result.key() for result in iter_payment_items(self, payment_id, first=first))
        ours = sorted(item.key() for item in items)
        if theirs != ours:
            differing = len(set(theirs).symmetric_difference(ours))
            return f"{differing} item(s) differ in person, policy or amount"
        return None

    def send_payment_to_insurer(self, payment_id: str) -> PaymentReceipt:
        receipt = PaymentReceipt.model_validate(self._post_send(f"{API}/payments/{_segment(payment_id)}/send-to-insurer", "send payment"))
        if self.ledger:
            self.ledger.advance("payment", payment_id, SENT)
        return receipt

    def read_payment(self, payment_id: str, *, offset: int = 0, limit: int | None = None) -> PaymentPage:
        page = PaymentPage.model_validate(
            self._get(f"{API}/payments/{_segment(payment_id)}", {"offset": offset, "limit": limit or self.settings.page_size}, "read payment")
        )
        if self.ledger and offset == 0 and page.state in ("TRANSFERRED", "REJECTED"):
            self.ledger.advance("payment", payment_id, COMPLETED)
        return page

    def iter_payment_items(self, payment_id: str) -> Iterator[PaymentItemResult]:
        """Every item's result, page by page."""
        return iter_payment_items(self, payment_id)

    # --- requests made at the employer -----------------------------------------------------------

    def forward_request(self, contract_no: str, request: EmployerRequest, *, run_id: int | None = None) -> EmployerRequestState:
        """Forward an employee's request to the insurer, once: the same request again re-attaches."""
        body = _compact(request.model_dump(mode="json"))
        digest = content_hash(body)
        entry = LedgerEntry("employer_request", contract_no, None, None,
                            idempotency_key("employer_request", contract_no, None, None, digest), digest, run_id)  # fmt: skip
        records = self._record([entry])
        known = records.get(entry.idempotency_key)
        if known is not None and known.held_by_des and known.des_id:
            return self.read_request(known.des_id).model_copy(update={"reattached": True})
        answer, attempts = self._ledgered(entry, "POST", f"{API}/contracts/{_segment(contract_no)}/requests", body, "employer request")
        state = EmployerRequestState.model_validate(answer.body)
        if self.ledger:
            self.ledger.accepted(entry.idempotency_key, state.request_id, attempts=attempts)
        log.info("DES: %s request for contract %s forwarded -> %s", request.kind, contract_no, state.request_id)
        return state.model_copy(update={"reattached": answer.replayed})

    def read_request(self, request_id: str) -> EmployerRequestState:
        return EmployerRequestState.model_validate(self._get(f"{API}/requests/{_segment(request_id)}", None, "read request"))

    # --- status events ---------------------------------------------------------------------------

    def read_events(self, contract_no: str, *, after: str | None = None, limit: int | None = None) -> EventsPage:
        params: dict = {"limit": limit or self.settings.page_size}
        if after is not None:
            params["after"] = after
        return EventsPage.model_validate(self._get(f"{API}/contracts/{_segment(contract_no)}/events", params, "read events"))
