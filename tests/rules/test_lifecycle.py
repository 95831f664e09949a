"""The enrolment state machine: every (state, event) pair, legal or not, and its dates."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oks.rules.lifecycle import (
    ENDED_STATES,
    EventKind,
    IllegalTransition,
    add_months,
    deduction_after_request,
    opt_out_window_ends_on,
    state_for_wage,
    stops_wage,
    transition,
)
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


WAGE = date(2026, 11, 30)
NOV = date(2026, 11, 1)


@pytest.mark.parametrize(
    ("stop_on", "stops"),
    [(date(2026, 11, 29), True), (WAGE, True), (date(2026, 12, 1), False)],  # the day before, the wage day, the day after
)
def test_a_stop_stops_the_deduction_of_a_wage_paid_on_its_day_or_later(stop_on, stops):
    assert stops_wage(stop_on, WAGE) is stops


@pytest.mark.parametrize(
    ("kind", "requested_on", "months", "wage", "effect"),
    [
        ("OPT_OUT", date(2026, 11, 10), None, WAGE, "opt_out_requested"),
        ("OPT_OUT", WAGE, None, WAGE, "opt_out_requested"),  # asked on the wage day: no deduction from it
        ("OPT_OUT", date(2026, 12, 1), None, WAGE, None),  # asked after the wage: it keeps its deduction
        ("LEAVE", date(2026, 11, 10), None, WAGE, "leave_requested"),
        ("PAUSE", date(2026, 10, 15), 1, WAGE, None),  # a month's pause from 15 October is over by 30 November
        ("PAUSE", date(2026, 10, 15), 2, WAGE, "pause_requested"),
        ("PAUSE", WAGE, 2, WAGE, "pause_requested"),
        ("RESUME", date(2026, 11, 10), None, WAGE, "resume_requested"),
        ("RESUME", date(2026, 12, 1), None, WAGE, None),
    ],
)
def test_a_request_at_the_employer_stops_or_restarts_deductions_from_its_day(kind, requested_on, months, wage, effect):
    assert deduction_after_request(kind, requested_on, months, wage) == effect


@pytest.mark.parametrize(
    ("state", "reason", "entered_on", "before", "governs"),
    [
        # A leaver's exit month is paid, though the EXIT went out on the period's first attempt.
        ("left", "left_employment", date(2026, 11, 14), "enrolled", "enrolled"),
        ("left", "left_employment", date(2026, 11, 1), "enrolled", "enrolled"),
        ("left", "left_employment", date(2026, 12, 3), "enrolled", "enrolled"),  # an exit reported after the period
        ("left", "left_employment", date(2026, 10, 31), "enrolled", "left"),  # left before the period: nothing
        ("left", "left_employment", date(2026, 11, 14), "paused", "paused"),  # the state before the exit, whatever it was
        # Other stops govern the wages paid on their day and after, not before.
        ("opted_out", "opted_out_in_window", date(2026, 12, 2), "enrolled", "enrolled"),
        ("opted_out", "opted_out_in_window", WAGE, "enrolled", "opted_out"),
        ("opted_out", "opted_out_in_window", date(2026, 11, 10), "enrolled", "opted_out"),
        ("paused", None, date(2026, 12, 1), "enrolled", "enrolled"),
        ("paused", None, date(2026, 11, 15), "enrolled", "paused"),
        ("left", "opt_out_after_window", date(2026, 12, 5), "enrolled", "enrolled"),
        ("left", "cancelled_by_insurer", date(2026, 11, 20), "submitted", "left"),
        # Live states, and ended ones without their history, are what they say.
        ("enrolled", None, date(2026, 12, 1), "submitted", "enrolled"),
        ("opted_out", "opted_out_in_window", None, None, "opted_out"),
    ],
)
def test_the_state_in_force_for_a_wage_decides_it_not_what_a_later_event_left(state, reason, entered_on, before, governs):
    assert state_for_wage(state, reason=reason, entered_on=entered_on, state_before=before, wage_paid_on=WAGE,
                          period_starts_on=NOV) == governs  # fmt: skip


@given(st.sampled_from(sorted(ENDED_STATES)), st.dates(date(2026, 1, 1), date(2027, 12, 31)), st.dates(date(2026, 1, 1), date(2027, 12, 31)))
def test_a_stop_never_governs_a_wage_paid_before_it_took_effect(state, entered_on, wage):
    governs = state_for_wage(state, reason="opted_out_in_window", entered_on=entered_on, state_before="enrolled", wage_paid_on=wage,
                             period_starts_on=wage.replace(day=1))  # fmt: skip
    assert (governs == state) == stops_wage(entered_on, wage)
