"""Pipeline step: pull each contract's status events from DES and apply them before deducting.

Employees often opt out, pause or leave directly with the insurer (docs/rules.md §6); the next deduction
must already know. Events are read after the contract's stored cursor and applied with their DES id
as the event key, and the cursor moves in the same transaction as the events it covers — so a crash
re-reads a page and applies nothing twice.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from oks.des.errors import DesApiError
from oks.des.gateway import DesGateway
from oks.des.models import EmployerRequest
from oks.privacy import mask_tckn
from oks.rules.calendar import ISTANBUL
from oks.rules.lifecycle import ENDED_STATES, MAX_PAUSE_MONTHS, add_months
from oks.store.enrolments import EventSpec, apply_events, enrolments_by_tckn
from oks.store.refunds import record_refunds
from oks.store.requests import mark_request, open_requests
from oks.store.schema import contracts, des_event_cursors

__all__ = ["EVENT_KINDS", "sync_insurer_status"]

log = logging.getLogger(__name__)

EVENT_KINDS = {"OPTED_OUT": "OPT_OUT", "PAUSED": "PAUSE", "RESUMED": "RESUME", "LEFT": "LEAVE", "CANCELLED": "CANCEL"}
"""DES event type → enrolment lifecycle event."""

def _spec(event, enrolment_id: int, months: int | None = None) -> EventSpec:
    kind = EVENT_KINDS[event.type]
    # DES says a pause started, not until when: the months the employee asked for at the employer when the
    # pause was theirs, else the law's longest pause, until DES says RESUMED.
    paused_until = add_months(event.effective_on, months or MAX_PAUSE_MONTHS) if kind == "PAUSE" else None
    return EventSpec(
        enrolment_id, kind, "insurer", f"des-event:{event.id}", event.effective_on,
        notified_on=event.notified_on, paused_until=paused_until, detail={"des_type": event.type},
    )  # fmt: skip


def sync_insurer_status(engine: Engine, gateway: DesGateway, *, contract_nos: Sequence[str] | None = None) -> dict[str, object]:
    """Apply every new DES status event of the registered contracts; returns counts by event type."""
    query = sa.select(contracts.c.contract_no).where(contracts.c.des_registered_at.is_not(None)).order_by(contracts.c.contract_no)
    if contract_nos is not None:
        query = query.where(contracts.c.contract_no.in_(list(contract_nos)))
    with engine.connect() as conn:
        numbers = list(conn.execute(query).scalars())
        cursors = dict(conn.execute(sa.select(des_event_cursors.c.contract_no, des_event_cursors.c.cursor)).all())
    counts: Counter[str] = Counter()
    opted_out: set[int] = set()  # stops learnt now (opt-out, pause, leave): deductions they reach back over are owed
    for contract_no in numbers:
        try:
            _forward_requests(engine, gateway, contract_no, counts)
        except DesApiError as exc:
            if exc.code != "CONTRACT_NOT_FOUND":
                raise
        with engine.connect() as conn:
            by_tckn = enrolments_by_tckn(conn, contract_no)
            asked = {r.event_id: r.months for r in open_requests(conn, contract_no, "done") if r.event_id}
        cursor = cursors.get(contract_no)
        while True:
            try:
                page = gateway.read_events(contract_no, after=cursor)
            except DesApiError as exc:
                if exc.code != "CONTRACT_NOT_FOUND":
                    raise
                # DES no longer knows the contract (removed on its side): register it again before
                # sending, and say so — its events, if any, cannot be read until then.
                log.warning("contract %s is not registered on DES any more; it will be registered again", contract_no)
                with engine.begin() as conn:
                    conn.execute(sa.update(contracts).where(contracts.c.contract_no == contract_no).values(des_registered_at=None))
                counts["contracts_unknown_to_des"] += 1
                break
            specs = []
            for event in page.events:
                counts[event.type] += 1
                enrolment = by_tckn.get(event.tckn)
                if enrolment is None or event.type not in EVENT_KINDS:
                    counts["unmatched"] += 1
                    continue
                specs.append(_spec(event, enrolment, asked.get(event.id)))
            with engine.begin() as conn:
                outcome = apply_events(conn, specs)
                _store_cursor(conn, contract_no, page.next_cursor)
            # Every stop that took effect may reach back over deductions already made (docs/rules.md §6).
            opted_out.update(a.enrolment_id for a in outcome.applied if a.to_state in ENDED_STATES and a.from_state != a.to_state)
            counts["applied"] += len(outcome.applied)
            counts["already_applied"] += outcome.already_applied
            counts["not_applied"] += len(outcome.refused)
            for _, why in outcome.refused:
                log.warning("contract %s: DES event not applied: %s", contract_no, why)
            if not page.events or page.next_cursor == cursor:
                break
            cursor = page.next_cursor
    with engine.begin() as conn:
        # A stop learnt only now may reach back over deductions already made: owed to the employee.
        counts["refunds_recorded"] = record_refunds(conn, known_on=datetime.now(ISTANBUL).date(), enrolment_ids=sorted(opted_out))
    return {"contracts": len(numbers), **{k.lower(): v for k, v in counts.items()}}


def _store_cursor(conn, contract_no: str, cursor: str | None) -> None:
    updated = conn.execute(
        sa.update(des_event_cursors)
        .where(des_event_cursors.c.contract_no == contract_no)
        .values(cursor=cursor, updated_at=sa.func.current_timestamp())
    ).rowcount
    if not updated:
        conn.execute(sa.insert(des_event_cursors).values(contract_no=contract_no, cursor=cursor))


def _forward_requests(engine: Engine, gateway: DesGateway, contract_no: str, counts: Counter[str]) -> None:
    """Forward the requests recorded at the employer to the insurer (once: the same request again
    re-attaches), then read the decisions of those forwarded: done — the status event it caused is read
    with the events below — or refused, with the reason (deductions continue as before)."""
    with engine.connect() as conn:
        recorded = open_requests(conn, contract_no, "recorded")
    for request in recorded:
        sent = gateway.forward_request(contract_no, EmployerRequest(
            tckn=request.tckn, policy_no=request.policy_no, kind=request.kind, requested_on=request.requested_on, months=request.months))  # fmt: skip
        with engine.begin() as conn:
            mark_request(conn, request.id, state="forwarded", des_request_id=sent.request_id)
        counts["requests_forwarded"] += 1
    with engine.connect() as conn:
        forwarded = open_requests(conn, contract_no, "forwarded")
    for request in forwarded:
        decided = gateway.read_request(request.des_request_id)
        if decided.state == "RECEIVED":
            continue
        with engine.begin() as conn:
            if decided.state == "DONE":
                mark_request(conn, request.id, state="done", event_id=decided.event_id)
            else:
                code = decided.error.code if decided.error else "REFUSED"
                mark_request(conn, request.id, state="refused", error=code)
                log.warning("contract %s: the insurer refused the %s request of %s: %s", contract_no, request.kind,
                            mask_tckn(request.tckn), code)  # fmt: skip
        counts[f"requests_{decided.state.lower()}"] += 1
