"""Pipeline steps that talk to DES, per contract: register, send personnel, record the insurer's
answers, send the payment, record the transfer.

Each step takes a :class:`~oks.des.gateway.DesGateway` — the HTTP client against the real service or
the simulator, or any other adapter — and the store engine; none knows it runs in Airflow. Repeating
a step is safe: the gateway re-attaches to what DES already holds (idempotency keys recorded before
each call), and enrolment events carry keys, so a re-run neither sends twice nor counts twice.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from oks.des.errors import PaymentConflict
from oks.des.gateway import DesGateway, iter_payment_items, iter_personnel_results
from oks.des.models import Action, ContractRegistration, PaymentItem, PaymentKind, Person, WsCredentials
from oks.pipeline.corrections import compare_with_held, held_payment
from oks.privacy import mask_tckn, redact
from oks.rules.calendar import ISTANBUL, next_business_day
from oks.rules.channels import DES_INSURERS, Channel, payment_refusal
from oks.rules.identity import InvalidIdentifier, normalize_iban, normalize_mobile, normalize_tckn
from oks.rules.vocabulary import Outcome
from oks.store.bulk import update_many
from oks.store.channels import ChannelRefused, channels_of, payment_holder
from oks.store.enrolments import EventSpec, apply_events, enrolments_by_tckn
from oks.store.schema import Money, contracts, contributions, employers, enrolments, quarantine, runs
from oks.store.snapshot import insert_quarantine

__all__ = [
    "DES_INSURERS",
    "record_digest",
    "contracts_with_work",
    "contract_batches",
    "register_contracts",
    "personnel_list",
    "payment_items",
    "submit_personnel",
    "record_personnel_results",
    "submit_payments",
    "record_payment_results",
]

log = logging.getLogger(__name__)


def _today() -> date:
    """Today on Istanbul's clock: the day an event happened for the insurer and the employee."""
    return datetime.now(ISTANBUL).date()

CredentialsFor = Callable[[str, str], WsCredentials | None]


def _run(conn, run_id: int):
    return conn.execute(sa.select(runs.c.period, runs.c.dry_run).where(runs.c.id == run_id)).one()


def contracts_with_work(engine: Engine, run_id: int, channel: Channel | None = None) -> list[str]:
    """Contract numbers with at least one contribution in the run — of one channel's months, if given:
    the DES work to map over, or the files to write."""
    with engine.connect() as conn:
        numbers = list(
            conn.execute(
                sa.select(contracts.c.contract_no)
                .join(contributions, contributions.c.contract_id == contracts.c.id)
                .where(contributions.c.run_id == run_id, contributions.c.outcome == Outcome.CONTRIBUTED)
                .distinct()
                .order_by(contracts.c.contract_no)
            ).scalars()
        )
        if channel is None:
            return numbers
        period, _ = _run(conn, run_id)
        by = channels_of(conn, numbers, period)
    return [n for n in numbers if by[n] == channel]


def contract_batches(engine: Engine, run_id: int, channel: Channel, batch_size: int) -> list[dict]:
    """The contracts with work whose month goes by ``channel``, in batches of ``batch_size``, each
    labelled with its contract numbers for the UI; none for a dry run."""
    with engine.connect() as conn:
        if _run(conn, run_id).dry_run:
            return []
    numbers = contracts_with_work(engine, run_id, channel=channel)
    size = max(1, batch_size)
    batches = [numbers[i : i + size] for i in range(0, len(numbers), size)]
    return [{"contracts": b, "label": b[0] if len(b) == 1 else f"{b[0]} … {b[-1]} ({len(b)})"} for b in batches]


def register_contracts(
    engine: Engine, gateway: DesGateway, run_id: int, contract_nos: Sequence[str], *, credentials_for: CredentialsFor
) -> dict[str, object]:
    """Register each contract on DES (idempotent) and store its insurer WS credentials once."""
    registered = 0
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(contracts, employers.c.vkn)
            .join(employers, employers.c.id == contracts.c.employer_id)
            .where(contracts.c.contract_no.in_(list(contract_nos)))
        ).all()
    for row in rows:
        if row.insurer not in DES_INSURERS:
            raise ValueError(
                f"contract {row.contract_no}: insurer {row.insurer} does not take OKS data through DES "
                f"(DES insurers: {', '.join(DES_INSURERS)}); send it the insurer's own way"
            )
        contract = gateway.register_contract(
            ContractRegistration(
                contract_no=row.contract_no, insurer=row.insurer, starts_on=row.starts_on, ends_on=row.ends_on, employer_vkn=row.vkn
            ),
            run_id=run_id,
        )
        if not contract.ws_credentials_set:
            credentials = credentials_for(row.contract_no, row.insurer)
            if credentials is None:
                raise ValueError(
                    f"contract {row.contract_no}: DES has no {row.insurer} web-service credentials and none are "
                    "configured; add the Airflow connection named in docs (oks_ws_<contract>) or oks_ws_default"
                )
            gateway.store_ws_credentials(row.contract_no, credentials)
        if row.des_registered_at is None:
            with engine.begin() as conn:
                conn.execute(
                    sa.update(contracts)
                    .where(contracts.c.id == row.id)
                    .values(des_registered_at=sa.func.current_timestamp())
                )
        registered += 1
    return {"contracts_registered": registered}


# Who goes on the contract's personnel list this run, and as what (docs/rules.md §6): people whose
# enrolment waits for the insurer (ENROL); enrolled people whose record changed in payroll since the
# insurer last accepted it (UPDATE, decided in Python by the record's digest: a change of a field the
# insurer does not hold sends nothing); leavers whose exit date payroll reports on or before the period's
# last day (EXIT, after their ENROL when they joined and left within the month).
_PEOPLE = sa.text(
    """
    SELECT DISTINCT en.id AS enrolment_id, en.state, en.policy_no, en.sent_digest, e.tckn, e.first_name, e.last_name,
           e.birth_date, e.mobile, e.email, e.iban, e.hire_date, e.exit_date, COALESCE(e.fund_preference, c.fund_kind) AS fund_kind
    FROM contributions k
    JOIN enrolments en ON en.id = k.enrolment_id
    JOIN employees e ON e.id = en.employee_id
    JOIN contracts c ON c.id = k.contract_id
    WHERE k.run_id = :run_id AND c.contract_no = :contract_no AND k.outcome = 'contributed'
      AND (en.state IN ('pending', 'submitted')
           OR (en.state IN ('enrolled', 'paused')
               AND (e.exit_date <= :period_end
                    OR EXISTS (SELECT 1 FROM employee_history h
                               WHERE h.employee_id = e.id AND (en.record_sent_at IS NULL OR h.changed_at >= en.record_sent_at)))))
    ORDER BY e.tckn
    """
).columns(
    sa.column("enrolment_id", sa.Integer), sa.column("state", sa.String), sa.column("policy_no", sa.String),
    sa.column("sent_digest", sa.String), sa.column("tckn", sa.String), sa.column("first_name", sa.String),
    sa.column("last_name", sa.String), sa.column("birth_date", sa.Date), sa.column("mobile", sa.String),
    sa.column("email", sa.String), sa.column("iban", sa.String), sa.column("hire_date", sa.Date),
    sa.column("exit_date", sa.Date), sa.column("fund_kind", sa.String),
)  # fmt: skip


# The spellings the store keeps after validation. A value in its spelling is sent as it is: its
# check digits and ranges were checked by validation, and reading them again cost a third of the
# stage (≈130 µs a person); anything else is normalized, which refuses it if it is broken.
_STORED_SPELLING = {
    "tckn": (re.compile(r"[1-9][0-9]{10}"), normalize_tckn),
    "iban": (re.compile(r"TR[0-9]{7}0[0-9]{16}"), normalize_iban),
    "mobile": (re.compile(r"\+90[1-9][0-9]{9}"), normalize_mobile),
}


def _as_stored(kind: str, value: str) -> str:
    spelling, normalize = _STORED_SPELLING[kind]
    return value if spelling.fullmatch(value) else normalize(value)


def _person(row, action: Action = "ENROL") -> Person:
    """The DES record of an employee, identifiers in their canonical form. The rows passed validation,
    so a failure here is a bug, reported masked."""
    try:
        return Person(
            tckn=_as_stored("tckn", row.tckn),
            first_name=row.first_name,
            last_name=row.last_name,
            birth_date=row.birth_date,
            mobile=_as_stored("mobile", row.mobile),
            email=row.email or None,
            iban=_as_stored("iban", row.iban) if row.iban else None,
            fund_kind=row.fund_kind or "STANDARD",
            hire_date=row.hire_date,
            action=action,
            exit_date=row.exit_date if action == "EXIT" else None,
        )
    except InvalidIdentifier as exc:
        raise ValueError(f"enrolment {row.enrolment_id}: {exc.message} — it should have been quarantined") from None


def record_digest(person: Person) -> str:
    """What the insurer holds of a person (names, birth date, mobile, e-mail, IBAN, fund), as a digest:
    equal digests mean nothing to UPDATE."""
    held = person.model_dump(mode="json", include={"tckn", "first_name", "last_name", "birth_date", "mobile", "email", "iban"})
    return hashlib.sha256(json.dumps(held, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _period_end(period: str) -> date:
    year, month = int(period[:4]), int(period[5:7])
    return date(year, month, calendar.monthrange(year, month)[1])


def _list_for(rows, period: str) -> list[tuple[int, Person]]:
    """(enrolment, person) in list order: ENROL for the waiting, UPDATE for a changed record the insurer
    accepted before, EXIT (after the ENROL of a joiner) for a leaver of the period or before."""
    end = _period_end(period)
    listed = []
    for row in rows:
        person = _person(row)
        if row.state in ("pending", "submitted"):
            listed.append((row.enrolment_id, person))
        elif row.sent_digest is not None and row.sent_digest != record_digest(person):
            listed.append((row.enrolment_id, _person(row, "UPDATE")))
        elif row.sent_digest is None and not (row.exit_date and row.exit_date <= end):
            # Enrolled before the insurer's record was kept here: send the record once to align both.
            listed.append((row.enrolment_id, _person(row, "UPDATE")))
        if row.exit_date and row.exit_date <= end:
            listed.append((row.enrolment_id, _person(row, "EXIT")))
    return listed


def _people_of(conn, run_id: int, contract_no: str, period: str):
    return conn.execute(_PEOPLE, {"run_id": run_id, "contract_no": contract_no, "period_end": _period_end(period)}).all()


def personnel_list(conn, run_id: int, contract_no: str, period: str) -> tuple[list, list[tuple[int, Person]]]:
    """The contract's people this run, and the list they go to the insurer by (ENROL, UPDATE, EXIT),
    whatever the channel."""
    rows = _people_of(conn, run_id, contract_no, period)
    return rows, _list_for(rows, period)


def payment_items(conn, run_id: int, contract_no: str) -> list:
    """What the contract pays this run, per payment kind and person (TCKN, policy number, amount,
    earliest wage day), whatever the channel."""
    return conn.execute(_ITEMS, {"run_id": run_id, "contract_no": contract_no}).all()


def submit_personnel(engine: Engine, gateway: DesGateway, run_id: int, contract_no: str) -> dict[str, object]:
    """Send the people the insurer has not answered yet — new enrolments, resubmissions, and any
    left waiting by an interrupted run — with the changed records (UPDATE) and the leavers (EXIT), and
    forward the list to the insurer.

    People already answered are not sent again, so a re-run of a month whose answers are in sends
    nothing, and a re-run interrupted before the answers sends the very same list (same key: DES
    re-attaches). Returns ``list_id`` None when there is nobody to send.
    """
    with engine.connect() as conn:
        period, dry_run = _run(conn, run_id)
        rows, listed = personnel_list(conn, run_id, contract_no, period)
    if not listed:
        return {"contract_no": contract_no, "list_id": None, "people": 0}
    actions = Counter(person.action.lower() for _, person in listed)
    if dry_run:
        return {"contract_no": contract_no, "list_id": None, "people": len(listed), "dry_run": True, **actions}
    submission = gateway.submit_personnel(contract_no, period, [person for _, person in listed], run_id=run_id)
    gateway.send_personnel_to_insurer(submission.list_id)
    today = _today()
    with engine.begin() as conn:
        outcome = apply_events(
            conn,
            [
                EventSpec(r.enrolment_id, "SUBMIT", "payroll", f"personnel-list:{submission.list_id}", today)
                for r in rows
                if r.state == "pending"
            ],
        )
    log.info("contract %s: personnel list %s, %d people (%d newly submitted; %s)", contract_no, submission.list_id, len(listed),
             len(outcome.applied), dict(actions))  # fmt: skip
    return {"contract_no": contract_no, "list_id": submission.list_id, "people": len(listed), "reattached": submission.reattached,
            **actions}  # fmt: skip


def _mark_rejected(conn, run_id: int, contract_no: str, rejected: dict[int, tuple[str, str, str]], stage_note: str) -> None:
    """Contributions of rejected enrolments: outcome ``rejected``, nothing paid; the people go to the
    quarantine with the insurer's reason (masked) so operations can fix them for next month."""
    if not rejected:
        return
    ids = list(rejected)
    # Narrowed to the contract, so that the (run, contract) index reads its rows alone: by run and
    # enrolment only, each contract read the whole run — 1,514 contracts × a million contributions.
    lines = conn.execute(
        sa.text(
            "SELECT k.id, k.enrolment_id, p.row_no, p.payroll_id, p.first_name, p.last_name, p.email FROM contributions k "
            "JOIN payroll_lines p ON p.id = k.payroll_line_id "
            "WHERE k.run_id = :run_id AND k.contract_id = (SELECT id FROM contracts WHERE contract_no = :contract_no) "
            "AND k.enrolment_id IN :ids"
        ).bindparams(sa.bindparam("ids", expanding=True)),
        {"run_id": run_id, "contract_no": contract_no, "ids": ids},
    ).all()
    update_many(
        conn, contributions,
        [{"id": line.id, "outcome": Outcome.REJECTED.value, "reason": rejected[line.enrolment_id][0], "amount": 0} for line in lines],
    )  # fmt: skip
    conn.execute(
        sa.delete(quarantine).where(
            quarantine.c.run_id == run_id, quarantine.c.stage == "insurer", quarantine.c.row_no.in_([line.row_no for line in lines])
        )
    )
    insert_quarantine(
        conn,
        [
            {
                "run_id": run_id, "row_no": line.row_no, "payroll_id": line.payroll_id, "stage": "insurer",
                "field": "tckn" if rejected[line.enrolment_id][0] == "IDENTITY_MISMATCH" else "person",
                "rule": rejected[line.enrolment_id][0],
                "message": f"TCKN {mask_tckn(rejected[line.enrolment_id][1])}: {stage_note} {rejected[line.enrolment_id][0]}"
                           f" — {redact(rejected[line.enrolment_id][2], 300, known=(line.first_name, line.last_name, line.email))}"[:500],
            }
            for line in lines
        ],
    )  # fmt: skip


def record_personnel_results(engine: Engine, gateway: DesGateway, run_id: int, contract_no: str, list_id: str) -> dict[str, object]:
    """Apply the insurer's answers on a completed list: policy numbers or rejections of the joiners,
    the records it took (ENROL, UPDATE: nothing is sent again until payroll changes them), the leavers
    it exited. A refused UPDATE or EXIT changes nothing here and is counted: the next run sends it again."""
    with engine.connect() as conn:
        period, _ = _run(conn, run_id)
        by_tckn = enrolments_by_tckn(conn, contract_no)
        sent = {row.enrolment_id: row for row in _people_of(conn, run_id, contract_no, period)}
    specs, rejected, statuses = [], {}, Counter[str]()
    records: dict[int, str] = {}
    today = _today()
    for result in iter_personnel_results(gateway, list_id):
        statuses[result.status] += 1
        enrolment = by_tckn.get(result.tckn)
        if enrolment is None:
            log.warning("list %s: result for %s matches no enrolment of %s", list_id, mask_tckn(result.tckn), contract_no)
            statuses["unmatched"] += 1
            continue
        key = f"personnel-list:{list_id}:{result.seq}"
        row = sent.get(enrolment)
        if result.status == "ENROLLED":
            specs.append(EventSpec(enrolment, "ENROL", "insurer", key, today, policy_no=result.policy_no))
        elif result.status == "UPDATED":
            specs.append(EventSpec(enrolment, "UPDATE", "insurer", key, today))
        elif result.status == "EXITED":
            left_on = row.exit_date if row is not None and row.exit_date else today
            specs.append(EventSpec(enrolment, "LEAVE", "payroll", key, left_on, reason="left_employment"))
        elif result.status == "REJECTED" and result.action == "ENROL":
            code = result.error.code if result.error else "REJECTED"
            specs.append(EventSpec(enrolment, "REJECT", "insurer", key, today, reason=code))
            rejected[enrolment] = (code, result.tckn, result.error.message if result.error else "")
        elif result.status == "REJECTED" and result.action == "EXIT" and enrolment in rejected:
            # A joiner who left within the month and whose ENROL the insurer refused: there was no policy
            # to close. The refusal that matters (the ENROL's) is quarantined; this one is no news.
            statuses["REJECTED"] -= 1  # one person rejected, counted once
            statuses["exit_of_refused_enrol"] += 1
        elif result.status == "REJECTED":
            statuses[f"{result.action.lower()}_refused"] += 1
            log.warning("list %s: the insurer refused the %s of %s: %s", list_id, result.action, mask_tckn(result.tckn),
                        result.error.code if result.error else "REJECTED")  # fmt: skip
        if result.status in ("ENROLLED", "UPDATED") and row is not None:
            records[enrolment] = record_digest(_person(row))
    with engine.begin() as conn:
        outcome = apply_events(conn, specs)
        _mark_rejected(conn, run_id, contract_no, rejected, "rejected by the insurer:")
        if records:
            update_many(conn, enrolments, [{"id": e, "sent_digest": digest} for e, digest in records.items()])
            # The database's clock, as employee_history.changed_at has it: the next run compares the two.
            ids = sorted(records)
            for i in range(0, len(ids), 1000):
                conn.execute(sa.update(enrolments).where(enrolments.c.id.in_(ids[i : i + 1000])).values(record_sent_at=sa.func.current_timestamp()))
    for _spec, why in outcome.refused:
        log.warning("list %s: insurer answer not applied: %s", list_id, why)
    return {
        "contract_no": contract_no, "list_id": list_id, **{k.lower(): v for k, v in statuses.items()},
        "applied": len(outcome.applied), "not_applied": len(outcome.refused),
    }  # fmt: skip


_ITEMS = sa.text(
    """
    SELECT k.payment_kind, e.tckn, en.policy_no, SUM(k.amount) AS amount, MIN(p.wage_paid_on) AS wage_paid_on
    FROM contributions k
    JOIN payroll_lines p ON p.id = k.payroll_line_id
    JOIN enrolments en ON en.id = k.enrolment_id
    JOIN employees e ON e.id = en.employee_id
    JOIN contracts c ON c.id = k.contract_id
    WHERE k.run_id = :run_id AND c.contract_no = :contract_no AND k.outcome = 'contributed' AND k.amount > 0
    GROUP BY k.payment_kind, e.tckn, en.policy_no
    ORDER BY k.payment_kind, e.tckn
    """
).columns(sa.column("payment_kind", sa.String), sa.column("tckn", sa.String), sa.column("policy_no", sa.String),
          sa.column("amount", Money), sa.column("wage_paid_on", sa.Date))  # fmt: skip


def submit_payments(engine: Engine, gateway: DesGateway, run_id: int, contract_no: str) -> dict[str, object]:
    """Send the contract's contributions for the period — one payment per kind — and forward them.

    A contract with several pay days sends one REGULAR payment for the month (DES holds at most one),
    dated by the earliest wage day: that is the deadline that bites first. When DES already holds the
    month's payment of a kind (an earlier run, any key), nothing new is created: the same content
    re-attaches, other content is proposed as a correction (:mod:`oks.pipeline.corrections`).
    """
    with engine.connect() as conn:
        period, dry_run = _run(conn, run_id)
        rows = payment_items(conn, run_id, contract_no)
        for kind in sorted({r.payment_kind for r in rows}):
            refusal = payment_refusal(channel="des", payment_kind=kind, holder=payment_holder(conn, contract_no, period, kind))
            if refusal:
                # An operator moved this month to the insurer's file upload and it is written: never a second payment.
                raise ChannelRefused(f"contract {contract_no} {period}: {refusal}")
    missing_policy = [r for r in rows if not r.policy_no]
    if missing_policy:
        raise RuntimeError(
            f"contract {contract_no}: {len(missing_policy)} contributed people have no policy number yet "
            f"(e.g. {mask_tckn(missing_policy[0].tckn)}); wait for the insurer's answer before paying"
        )
    by_kind: dict[str, list] = defaultdict(list)
    for row in rows:
        by_kind[row.payment_kind].append(row)
    payments = {}
    for kind, items in sorted(by_kind.items()):
        total = sum((r.amount for r in items), Decimal("0"))
        if dry_run:
            payments[kind] = {"payment_id": None, "total": str(total), "items": len(items)}
            continue
        held = held_payment(engine, gateway, contract_no, period, kind.upper())
        if held is not None:
            payments[kind] = _against_held(engine, gateway, run_id, contract_no, period, kind, held, items)
            continue
        try:
            submission = gateway.submit_payment(
                contract_no, period, cast(PaymentKind, kind.upper()), min(r.wage_paid_on for r in items),
                [PaymentItem(tckn=_as_stored("tckn", r.tckn), policy_no=r.policy_no, amount=r.amount) for r in items],
                run_id=run_id,
            )  # fmt: skip
        except PaymentConflict as conflict:
            held = held_payment(engine, gateway, contract_no, period, kind.upper()) if conflict.lost_attempt_key else None
            if held is None:
                raise
            # An earlier attempt created the month's payment and died before recording it; payroll has
            # changed since. Now known as held: the difference is a correction, as for any held payment.
            payments[kind] = _against_held(engine, gateway, run_id, contract_no, period, kind, held, items)
            continue
        gateway.send_payment_to_insurer(submission.payment_id)
        payments[kind] = {"payment_id": submission.payment_id, "total": str(submission.total), "items": submission.items,
                          "reattached": submission.reattached, "adopted": submission.adopted}  # fmt: skip
    return {"contract_no": contract_no, "payments": payments}


def _against_held(engine: Engine, gateway: DesGateway, run_id: int, contract_no: str, period: str, kind: str, held, items) -> dict:
    """DES already holds this month's payment of the kind: never a second one. Equal content re-attaches;
    other content becomes a correction for operations to approve."""
    due = [(_as_stored("tckn", r.tckn), r.policy_no, r.amount) for r in items]
    correction = compare_with_held(engine, run_id=run_id, contract_no=contract_no, period=period, payment_kind=kind, held=held, due=due)
    if held.state == "RECEIVED":  # created, never forwarded (a crash in between): forward it now
        gateway.send_payment_to_insurer(held.payment_id)
    return {"payment_id": held.payment_id, "total": str(held.total), "items": len(held.paid), "reattached": True, "adopted": False,
            "correction": correction}  # fmt: skip


def _notify_first_contributions(engine: Engine, contract_no: str, payment_id: str, *, accepted: set[str]) -> None:
    """The insurer tells an employee of the plan the business day after the first contribution
    arrives; that notice opens the two-month opt-out (cayma) window."""
    notice_on = next_business_day(_today())
    with engine.begin() as conn:
        unnotified = enrolments_by_tckn(conn, contract_no, enrolments.c.state == "enrolled", enrolments.c.notified_on.is_(None))
        waiting = [enrolment for tckn, enrolment in unnotified.items() if tckn in accepted]
        apply_events(conn, [EventSpec(e, "NOTIFY", "insurer", f"payment:{payment_id}:notice", notice_on) for e in waiting])
        if waiting:
            conn.execute(
                sa.update(enrolments).where(enrolments.c.id.in_(waiting), enrolments.c.first_contribution_on.is_(None))
                .values(first_contribution_on=_today())
            )  # fmt: skip


def record_payment_results(engine: Engine, gateway: DesGateway, run_id: int, contract_no: str, payment_id: str) -> dict[str, object]:
    """After the transfer: items the insurer refused are not paid (outcome ``rejected``, quarantined)."""
    page = gateway.read_payment(payment_id)
    rejected_tckns: dict[str, tuple[str, str]] = {}
    statuses: Counter[str] = Counter()
    accepted_tckns: list[str] = []
    for item in iter_payment_items(gateway, payment_id, first=page):
        statuses[item.status] += 1
        if item.status == "ACCEPTED":
            accepted_tckns.append(item.tckn)
        if item.status == "REJECTED":
            rejected_tckns[item.tckn] = (item.error.code if item.error else "REJECTED", item.error.message if item.error else "")
    if rejected_tckns:
        with engine.begin() as conn:
            by_tckn = enrolments_by_tckn(conn, contract_no)
            _mark_rejected(
                conn, run_id, contract_no,
                {by_tckn[t]: (code, t, message) for t, (code, message) in rejected_tckns.items() if t in by_tckn},
                "payment refused by the insurer:",
            )  # fmt: skip
    if page.state == "TRANSFERRED":
        _notify_first_contributions(engine, contract_no, payment_id, accepted=set(accepted_tckns))
    return {
        "contract_no": contract_no, "payment_id": payment_id, "state": page.state,
        "accepted_total": str(page.accepted_total), **{k.lower(): v for k, v in statuses.items()},
    }  # fmt: skip
