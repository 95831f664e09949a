"""The enrolment state machine: every (state, event) pair, legal or not, and its dates."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oks.rules.lifecycle import EventKind, IllegalTransition, add_months, opt_out_window_ends_on, transition
from oks.store.schema import ENROLMENT_STATES
from tests.rules.lifecycle_cases import ARGS, LEGAL, ON

ALL_PAIRS = [(s, e.value) for s in ENROLMENT_STATES for e in EventKind]


@pytest.mark.parametrize(("state", "event"), [p for p in ALL_PAIRS if p in LEGAL])
def test_legal_transitions(state, event):
    assert transition(state, event, **ARGS).to_state == LEGAL[(state, event)]


@pytest.mark.parametrize(("state", "event"), [p for p in ALL_PAIRS if p not in LEGAL])
def test_illegal_transitions_are_refused_with_a_clear_message(state, event):
    with pytest.raises(IllegalTransition, match=rf"cannot {event} an enrolment that is {state} \(allowed from: "):
        transition(state, event, **ARGS)


@pytest.mark.parametrize(
    ("event", "missing", "message"),
    [("ENROL", "policy_no", "policy number"), ("REJECT", "reason", "reason"), ("PAUSE", "paused_until", "pause ends")],
)
def test_events_refused_without_what_they_need(event, missing, message):
    state = {"ENROL": "submitted", "REJECT": "submitted", "PAUSE": "enrolled"}[event]
    with pytest.raises(IllegalTransition, match=message):
        transition(state, event, **{**ARGS, missing: None})


@pytest.mark.parametrize(
    ("notified_on", "window_ends_on"),
    [
        (date(2026, 10, 16), date(2026, 12, 16)),
        (date(2026, 12, 31), date(2027, 2, 28)),  # clamped to the month's end
        (date(2027, 12, 31), date(2028, 2, 29)),  # leap year
    ],
)
def test_opt_out_window_is_two_months_from_the_notice(notified_on, window_ends_on):
    assert opt_out_window_ends_on(notified_on) == window_ends_on
    notified = transition("enrolled", "NOTIFY", effective_on=notified_on)
    assert notified.updates["opt_out_window_ends_on"] == window_ends_on


@pytest.mark.parametrize(
    ("opt_out_noticed_on", "to_state", "refund"),
    [(date(2026, 12, 16), "opted_out", True), (date(2026, 12, 17), "left", False)],
)
def test_opt_out_after_the_window_is_leaving_without_refund(opt_out_noticed_on, to_state, refund):
    outcome = transition(
        "enrolled", "OPT_OUT", effective_on=opt_out_noticed_on, opt_out_window_ends=date(2026, 12, 16)
    )
    assert (outcome.to_state, outcome.refund_due) == (to_state, refund)


@pytest.mark.parametrize(
    ("until", "allowed"),
    [(date(2027, 1, 15), True), (date(2027, 1, 16), False), (date(2026, 10, 15), False), (date(2026, 11, 1), True)],
)
def test_a_pause_runs_at_most_three_months(until, allowed):
    if allowed:
        assert transition("enrolled", "PAUSE", effective_on=ON, paused_until=until).updates["paused_until"] == until
    else:
        with pytest.raises(IllegalTransition, match="at most 3 months"):
            transition("enrolled", "PAUSE", effective_on=ON, paused_until=until)


def test_re_enrolment_clears_the_previous_plan():
    outcome = transition("opted_out", "RE_ENROL", effective_on=ON)
    assert outcome.updates["policy_no"] is None and outcome.updates["opted_out_on"] is None


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)), st.integers(min_value=0, max_value=36))
def test_add_months_lands_in_the_right_month_never_later_day(d, months):
    later = add_months(d, months)
    assert (later.year * 12 + later.month) - (d.year * 12 + d.month) == months
    assert later.day <= d.day
