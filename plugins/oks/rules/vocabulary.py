"""The project's closed vocabularies: what a payroll row can end as, what state a payment obligation
is in, how loud an alert is. ``StrEnum``s, so each value is still the plain string the store, the
reports and the alerts carry (``Outcome.CONTRIBUTED == "contributed"``), while code that names one
is checked by name."""

from __future__ import annotations

import enum

__all__ = ["Outcome", "ObligationState", "SETTLED", "AlertLevel"]


class Outcome(enum.StrEnum):
    """The one outcome every extracted payroll row ends with (docs/architecture.md §8)."""

    CONTRIBUTED = "contributed"  # enrolled or to be: a contribution is deducted and sent
    QUARANTINED = "quarantined"  # a field failed validation: nothing sent until payroll is fixed
    NOT_ELIGIBLE = "not_eligible"  # outside automatic enrolment (age, employer scope, …)
    INACTIVE = "inactive"  # opted out, paused or left at the insurer
    REJECTED = "rejected"  # the insurer refused the person


class ObligationState(enum.StrEnum):
    """Where a payment obligation (what must reach an insurer's account by when) stands."""

    DUE = "due"
    INSTRUCTED = "instructed"
    PAID = "paid"
    LATE = "late"  # paid after its deadline: the days late and a loss claim are on record


SETTLED = frozenset({ObligationState.PAID, ObligationState.LATE})
"""Obligation states in which the money has reached the insurer (on time, or late)."""


class AlertLevel(enum.StrEnum):
    """How loud an alert is: ``info`` tells operations (a payment instruction), ``warn`` warns on-call
    the day before, ``page`` wakes them on the day, ``overdue`` every business day after."""

    INFO = "info"
    WARN = "warn"
    PAGE = "page"
    OVERDUE = "overdue"
