"""Pipeline step: alert on-call about unpaid payment obligations, from the store alone.

The watch reads obligations, not runs: a failed or stuck monthly run cannot hide a payment that is due.
Each planned alert is claimed in the ``alerts`` table under its dedupe key *per channel* before it is
sent; a send that fails releases its claim so the next watch run tries again, and a channel that
works is never blocked by one that does not. The senders are handed in (Airflow notifiers in
production, anything callable in tests), so this step knows nothing of Airflow.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from oks.privacy import mask_iban, mask_name, mask_tckn
from oks.rules.alert_schedule import AlertPolicy, alerts_due
from oks.rules.calendar import Deadline, in_istanbul, istanbul_text
from oks.rules.vocabulary import SETTLED, AlertLevel
from oks.store.obligations import owed_query
from oks.store.refunds import STOPS, open_refunds
from oks.store.schema import alerts, payment_obligations, refund_obligations

__all__ = ["OutgoingAlert", "AlertDeliveryError", "CLAIM_LEASE", "watch_deadlines", "deliver", "redeliver_unsent", "announce_payment_instructions", "announce_correction"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingAlert:
    level: str  # warn | page | overdue
    subject: str
    body: str
    dedupe_key: str
    obligation_id: int | None
    refund_id: int | None = None  # an alert about a refund owed to an employee, not a payment


class AlertDeliveryError(RuntimeError):
    """Some alerts could not be delivered; they stay unclaimed and are retried by the next run."""


Sender = Callable[[OutgoingAlert], None]


def watch_deadlines(
    engine: Engine,
    *,
    now: datetime,
    senders: Mapping[str, Sender],
    policy: AlertPolicy = AlertPolicy(),
    drill: bool = False,
) -> dict[str, object]:
    """Send what is due ``now`` for every obligation not yet paid; returns counts (sent, already sent, failed).

    ``drill``: ``now`` is a moment chosen to exercise the channels, not the clock. A drill's alerts are
    marked as such and deduplicated under keys of their own (per drill moment), so a drill never
    consumes the key of a real alert: a drill at 09:00 does not silence that morning's real page.
    """
    if not senders:
        raise ValueError("no alert channel configured: on-call would never hear about a missed deadline")
    with engine.connect() as conn:
        open_obligations = conn.execute(owed_query()).all()
        refunds = open_refunds(conn)
    # (deadline, key, subject's lead, what it is — never personal data unmasked, obligation, refund)
    owed: list[tuple[Deadline, str, str, str, int | None, int | None]] = [
        (Deadline(o.wage_paid_on, o.due_on, o.cutoff), f"obligation:{o.id}", f"{o.contract_no} {o.period}",
         f"{o.amount:,.2f} TL to {o.insurer} (contract {o.contract_no}, {o.employer_name}), {o.period} {o.payment_kind}, "
         f"IBAN {o.collection_iban}, reference \"{o.reference}\"", o.id, None)
        for o in open_obligations
    ] + [
        # Owed to the employee, not an insurer: the same escalation, the person masked.
        (Deadline(r.known_on, r.due_on, r.cutoff), f"refund:{r.id}", f"refund #{r.id} {r.period}",
         f"refund of {r.amount:,.2f} TL to {mask_name(f'{r.first_name} {r.last_name}')} (TCKN {mask_tckn(r.tckn)}, IBAN "
         f"{mask_iban(r.iban) if r.iban else 'not on file'}), deducted from the {r.period} wage of {r.wage_paid_on} after the "
         f"{STOPS.get(r.reason, 'stop')} of {r.opted_out_on} (contract {r.contract_no})", None, r.id)
        for r in refunds
    ]  # fmt: skip
    # First what an earlier run claimed and never sent (it died in between, or its channel failed).
    again = redeliver_unsent(engine, senders)
    sent, skipped = again["redelivered"], 0
    failures: list[str] = list(again["failures"])
    for deadline, owed_key, lead, what, obligation_id, refund_id in owed:
        for planned in alerts_due(obligation_key=owed_key, deadline=deadline, paid=False, now=now, what=what, policy=policy):
            level = f"DRILL {planned.level.upper()}" if drill else planned.level.upper()
            subject = f"[OKS {level}] {lead}: {planned.message.split(':', 1)[0]}"
            body, key = planned.message, planned.dedupe_key
            if drill:
                body = f"DRILL as of {istanbul_text(now)}: no action needed. {body}"
                key = f"drill:{in_istanbul(now):%Y-%m-%dT%H:%M}:{key}"
            alert = OutgoingAlert(planned.level, subject, body, key, obligation_id, refund_id)
            delivered, already, failed = deliver(engine, alert, senders)
            sent, skipped, failures = sent + delivered, skipped + already, failures + failed
    summary = {"obligations_open": len(open_obligations), "refunds_open": len(refunds), "sent": sent, "already_sent": skipped,
               "redelivered": again["redelivered"], "failed": len(failures), "as_of": istanbul_text(now), "drill": drill}  # fmt: skip
    if failures:
        raise AlertDeliveryError(f"{len(failures)} alert(s) not delivered, will retry: " + "; ".join(failures[:5]))
    return summary


CLAIM_LEASE = timedelta(minutes=5)
"""How long a claimed alert may stay unsent before it counts as lost with its process: far longer than
any channel takes to answer (the webhook's timeout is 10 s), far shorter than the watch's 15 minutes."""


def deliver(engine: Engine, alert: OutgoingAlert, senders: Mapping[str, Sender]) -> tuple[int, int, list[str]]:
    """Send ``alert`` on every channel that has not had it yet: (sent, already sent, failures).

    Each channel claims the alert under ``<dedupe key>:<channel>`` before sending and records it sent
    after; a send that fails releases the claim, so the next attempt retries exactly the channels that
    missed it. A claim left unsent by a process that died in between expires after :data:`CLAIM_LEASE` and is
    claimed again: an alert is delivered at least once, under the same dedupe key, never lost."""
    sent = skipped = 0
    failures: list[str] = []
    for channel, send in senders.items():
        key = f"{alert.dedupe_key}:{channel}"
        if not _claim(engine, key, alert, channel):
            skipped += 1
            continue
        ok, failure = _send(engine, key, alert, channel, send)
        sent += ok
        failures += [failure] if failure else []
    return sent, skipped, failures


def _send(engine: Engine, key: str, alert: OutgoingAlert, channel: str, send: Sender) -> tuple[int, str | None]:
    try:
        send(alert)
    except Exception as exc:  # noqa: BLE001 - any channel failure: release and report
        _release(engine, key)
        log.error("alert %s not delivered on %s: %s", key, channel, exc)
        return 0, f"{channel}: {key}: {type(exc).__name__}: {exc}"
    _sent(engine, key)
    log.info("alert %s sent on %s", key, channel)
    return 1, None


def redeliver_unsent(engine: Engine, senders: Mapping[str, Sender]) -> dict[str, Any]:
    """Send again every alert claimed and never sent — its process died between the claim and the
    send, or the send failed — on the channels configured now, as it was claimed (level, subject, text,
    dedupe key). Payment instructions are among them: nothing else would send one again."""
    cutoff = datetime.now(UTC) - CLAIM_LEASE
    settled = sa.or_(
        sa.exists().where(payment_obligations.c.id == alerts.c.obligation_id, payment_obligations.c.state.in_(sorted(SETTLED))),
        sa.exists().where(refund_obligations.c.id == alerts.c.refund_id, refund_obligations.c.state == "paid"),
    )  # paid since: what the alert asked for is done
    with engine.connect() as conn:
        unsent = conn.execute(
            sa.select(alerts).where(alerts.c.sent_at.is_(None), sa.or_(alerts.c.claimed_at.is_(None), alerts.c.claimed_at < cutoff),
                                    ~settled)
            .order_by(alerts.c.id)
        ).all()  # fmt: skip
    sent = 0
    failures: list[str] = []
    for row in unsent:
        send = senders.get(row.channel)
        if send is None or not _claim_again(engine, row.dedupe_key):
            continue
        # Every claim since migration 0016 keeps its subject; rows from before were all sent.
        alert = OutgoingAlert(row.level, row.subject, row.message, row.dedupe_key.removesuffix(f":{row.channel}"), row.obligation_id,
                              row.refund_id)  # fmt: skip
        ok, failure = _send(engine, row.dedupe_key, alert, row.channel, send)
        sent += ok
        failures += [failure] if failure else []
    return {"redelivered": sent, "failures": failures}


def announce_payment_instructions(engine: Engine, instructions, senders: Mapping[str, Sender]) -> dict[str, int]:
    """Send each payment instruction to operations once per obligation and amount (a re-run that
    computes the same obligation does not send it again; a changed amount does)."""
    sent = skipped = failed = 0
    for instruction in instructions:
        subject = f"[OKS PAY] {instruction.amount:,.2f} TL to {instruction.insurer} by {instruction.due_on:%d.%m.%Y} ({instruction.contract_no})"
        alert = OutgoingAlert(AlertLevel.INFO, subject, instruction.as_text(), f"instruction:{instruction.obligation_id}:{instruction.amount}",
                              instruction.obligation_id)  # fmt: skip
        delivered, already, failures = deliver(engine, alert, senders)
        sent, skipped, failed = sent + delivered, skipped + already, failed + len(failures)
    return {"sent": sent, "already_sent": skipped, "failed": failed}


def announce_correction(engine: Engine, obligation_id: int, senders: Mapping[str, Sender]) -> dict[str, int]:
    """Tell operations what to transfer for an approved correction, once per obligation."""
    with engine.connect() as conn:
        row = conn.execute(owed_query(payment_obligations.c.id == obligation_id, include_paid=True)).one()
    by = f"{row.due_on:%d.%m.%Y}" + (f" before {row.cutoff:%H:%M}" if row.cutoff else "")
    text = (f"Pay {row.amount:,.2f} TL to {row.insurer} account {row.collection_iban}, reference \"{row.reference}\", "
            f"by {by} (correction of {row.period}, deducted {row.wage_paid_on:%d.%m.%Y}).")  # fmt: skip
    subject = f"[OKS PAY] correction {row.amount:,.2f} TL to {row.insurer} by {row.due_on:%d.%m.%Y} ({row.contract_no})"
    alert = OutgoingAlert(AlertLevel.INFO, subject, text, f"instruction:{obligation_id}:{row.amount}", obligation_id)
    delivered, already, failures = deliver(engine, alert, senders)
    return {"sent": delivered, "already_sent": already, "failed": len(failures)}


def _claim(engine: Engine, key: str, alert: OutgoingAlert, channel: str) -> bool:
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.insert(alerts).values(
                    dedupe_key=key,
                    obligation_id=alert.obligation_id,
                    refund_id=alert.refund_id,
                    level=alert.level,
                    channel=channel,
                    subject=alert.subject[:300],
                    message=alert.body[:2000],
                    claimed_at=datetime.now(UTC),
                    sent_at=None,
                )
            )
    except IntegrityError:
        return _claim_again(engine, key)
    return True


def _claim_again(engine: Engine, key: str) -> bool:
    """Take over a claim that was released, or whose lease has passed unsent; False when it was sent,
    or another process holds it now (one conditional UPDATE: only one of two racing processes wins)."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        taken = conn.execute(
            sa.update(alerts)
            .where(alerts.c.dedupe_key == key, alerts.c.sent_at.is_(None),
                   sa.or_(alerts.c.claimed_at.is_(None), alerts.c.claimed_at < now - CLAIM_LEASE))
            .values(claimed_at=now)
        )  # fmt: skip
    return taken.rowcount == 1


def _sent(engine: Engine, key: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.update(alerts).where(alerts.c.dedupe_key == key).values(sent_at=datetime.now(UTC)))


def _release(engine: Engine, key: str) -> None:
    """A send that failed: the claim is given up at once, so the next attempt sends it."""
    with engine.begin() as conn:
        conn.execute(sa.update(alerts).where(alerts.c.dedupe_key == key, alerts.c.sent_at.is_(None)).values(claimed_at=None))
