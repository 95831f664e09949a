"""The deadline watch: alerts from the store, each once per channel, retried when a channel fails."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from oks.pipeline.deadline_watch import AlertDeliveryError, watch_deadlines
from oks.pipeline.obligations import confirm_payment, record_payment_obligations
from oks.rules.calendar import ISTANBUL
from oks.store.schema import alerts
from tests.payroll_files import person
from tests.pipeline.months import month

DUE_MORNING = datetime(2026, 11, 2, 9, 30, tzinfo=ISTANBUL)  # wages Fri 30 Oct → due Mon 2 Nov


@pytest.fixture
def obligation(store, tmp_path):
    run_id = month(store, tmp_path, [person(1, pek=Decimal("40000"), wage_paid_on=date(2026, 10, 30))])
    (instruction,) = record_payment_obligations(store, run_id)
    return instruction


def collector():
    got = []
    return got, got.append


def test_each_alert_once_per_channel(store, obligation):
    mail, send_mail = collector()
    hook, send_hook = collector()
    first = watch_deadlines(store, now=DUE_MORNING, senders={"email": send_mail, "webhook": send_hook})
    again = watch_deadlines(store, now=DUE_MORNING.replace(hour=10), senders={"email": send_mail, "webhook": send_hook})
    assert (first["sent"], again["sent"], again["already_sent"]) == (2, 0, 2)
    assert len(mail) == len(hook) == 1
    assert mail[0].level == "page" and mail[0].subject.startswith("[OKS PAGE] AG-2026-001 2026-10: Due TODAY")
    assert "1,200.00 TL to AGESA" in mail[0].body and "OKS AG-2026-001 2026-10 DUZENLI" in mail[0].body


def test_a_failing_channel_is_retried_and_does_not_block_the_other(store, obligation):
    mail, send_mail = collector()

    def broken(alert):
        raise ConnectionError("webhook down")

    with pytest.raises(AlertDeliveryError, match="1 alert\\(s\\) not delivered, will retry: webhook"):
        watch_deadlines(store, now=DUE_MORNING, senders={"email": send_mail, "webhook": broken})
    hook, send_hook = collector()
    retried = watch_deadlines(store, now=DUE_MORNING, senders={"email": send_mail, "webhook": send_hook})
    assert (len(mail), len(hook), retried["sent"]) == (1, 1, 1)


def test_steps_escalate_and_stop_once_paid(store, obligation):
    got, send = collector()
    for now in [
        datetime(2026, 10, 30, 10, 0, tzinfo=ISTANBUL),  # the business day before: warn
        DUE_MORNING,
        datetime(2026, 11, 2, 16, 15, tzinfo=ISTANBUL),  # before the bank closes
        datetime(2026, 11, 3, 9, 5, tzinfo=ISTANBUL),  # overdue
        datetime(2026, 11, 3, 15, 0, tzinfo=ISTANBUL),  # same day: no second overdue
    ]:
        watch_deadlines(store, now=now, senders={"email": send})
    assert [a.dedupe_key.split(":", 2)[2] for a in got] == ["warn", "due_morning", "before_cutoff", "overdue:2026-11-03"]
    confirm_payment(store, obligation_id=obligation.obligation_id, confirmed_by="ops")
    summary = watch_deadlines(store, now=datetime(2026, 11, 4, 9, 5, tzinfo=ISTANBUL), senders={"email": send})
    assert (summary["obligations_open"], len(got)) == (0, 4)
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(alerts)).scalar_one() == 4


def test_a_drill_never_silences_the_real_alert_of_the_same_moment(store, obligation):
    got, send = collector()
    drill = watch_deadlines(store, now=DUE_MORNING.replace(hour=9, minute=0), senders={"email": send}, drill=True)
    again = watch_deadlines(store, now=DUE_MORNING.replace(hour=9, minute=0), senders={"email": send}, drill=True)
    real = watch_deadlines(store, now=DUE_MORNING, senders={"email": send})
    assert (drill["sent"], again["already_sent"], real["sent"]) == (1, 1, 1)
    drilled, paged = got
    assert drilled.subject.startswith("[OKS DRILL PAGE] AG-2026-001 2026-10: Due TODAY")
    assert drilled.body.startswith("DRILL as of 02.11.2026 09:00 (Istanbul): no action needed.")
    assert paged.subject.startswith("[OKS PAGE] AG-2026-001 2026-10: Due TODAY") and "DRILL" not in paged.body
    assert drilled.dedupe_key == f"drill:2026-11-02T09:00:{paged.dedupe_key}"
    assert (drill["drill"], real["drill"], real["as_of"]) == (True, False, "02.11.2026 09:30 (Istanbul)")


def test_no_channel_is_a_configuration_error(store, obligation):
    with pytest.raises(ValueError, match="no alert channel configured"):
        watch_deadlines(store, now=DUE_MORNING, senders={})


def test_payment_instructions_go_out_once_per_obligation_and_amount(store, tmp_path):
    from oks.pipeline.deadline_watch import announce_payment_instructions

    got, send = collector()
    run_id = month(store, tmp_path, [person(1, pek=Decimal("40000"))])
    instructions = record_payment_obligations(store, run_id)
    assert announce_payment_instructions(store, instructions, {"email": send})["sent"] == 1
    assert announce_payment_instructions(store, instructions, {"email": send})["already_sent"] == 1
    assert got[0].level == "info" and got[0].subject.startswith("[OKS PAY] 1,200.00 TL to AGESA by 02.11.2026")
    assert "TR330006100519786457841326" in got[0].body and "OKS AG-2026-001 2026-10 DUZENLI" in got[0].body


def _die_after_claiming():
    """The process claims an alert for sending and dies before the send (the kill is a BaseException)."""

    class Killed(BaseException):
        pass

    def send(alert):
        raise Killed

    return Killed, send


@pytest.mark.parametrize("later", ["re-run", "watch"])
def test_an_instruction_claimed_by_a_process_that_died_is_sent_once_its_lease_has_passed(store, tmp_path, later):
    import time_machine

    from oks.pipeline.deadline_watch import CLAIM_LEASE, announce_payment_instructions

    run_id = month(store, tmp_path, [person(1, pek=Decimal("40000"))])
    instructions = record_payment_obligations(store, run_id)
    killed, dying = _die_after_claiming()
    start = datetime(2026, 10, 30, 10, 0, tzinfo=ISTANBUL)
    with time_machine.travel(start, tick=False), pytest.raises(killed):
        announce_payment_instructions(store, instructions, {"email": dying})
    got, send = collector()

    def later_attempt():
        if later == "re-run":
            return announce_payment_instructions(store, instructions, {"email": send})["sent"]
        return watch_deadlines(store, now=datetime(2026, 10, 30, 10, 5, tzinfo=ISTANBUL), senders={"email": send})["redelivered"]

    with time_machine.travel(start + CLAIM_LEASE / 2, tick=False):  # perhaps still sending: left alone
        assert later_attempt() == 0
    with time_machine.travel(start + CLAIM_LEASE * 2, tick=False):  # the claim is stale: sent, under its key
        assert later_attempt() == 1
    with time_machine.travel(start + CLAIM_LEASE * 3, tick=False):
        assert later_attempt() == 0  # and only once
    (sent,) = [a for a in got if a.level == "info"]  # the watch also warns of the deadline
    assert sent.subject.startswith("[OKS PAY] 1,200.00 TL to AGESA")
    assert sent.dedupe_key == f"instruction:{instructions[0].obligation_id}:{instructions[0].amount}"


def test_a_watch_sends_again_what_a_failed_channel_missed_but_not_what_was_paid_since(store, tmp_path):
    from oks.pipeline.deadline_watch import announce_payment_instructions

    run_id = month(store, tmp_path, [person(1, pek=Decimal("40000")), person(2, pek=Decimal("40000"), wage_paid_on=date(2026, 10, 29))])
    instructions = record_payment_obligations(store, run_id)

    def broken(alert):
        raise ConnectionError("mail server down")

    assert announce_payment_instructions(store, instructions, {"email": broken})["failed"] >= 1
    confirm_payment(store, obligation_id=instructions[0].obligation_id, confirmed_by="ops")  # one was paid meanwhile
    got, send = collector()
    summary = watch_deadlines(store, now=datetime(2026, 10, 29, 10, 0, tzinfo=ISTANBUL), senders={"email": send})
    assert summary["redelivered"] == len(instructions) - 1
    assert {a.obligation_id for a in got if a.level == "info"} == {i.obligation_id for i in instructions[1:]}
