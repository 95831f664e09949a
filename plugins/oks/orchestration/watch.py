"""The deadline watch task: the store's unpaid obligations, the configured channels, now."""

from __future__ import annotations

from datetime import datetime

from oks.orchestration.notifiers import alert_senders
from oks.orchestration.resources import store_engine
from oks.rules.calendar import ISTANBUL


def watch_now(as_of: str | datetime | None = None) -> dict:
    """Alerts due now for every unpaid obligation; with ``as_of`` (an ISO moment) a drill: the schedule
    as of that moment, sent marked as a drill, never in place of a real alert."""
    from oks.pipeline.deadline_watch import watch_deadlines

    if isinstance(as_of, str):
        as_of = datetime.fromisoformat(as_of)
    if as_of is not None and (as_of.tzinfo is None or as_of.utcoffset() is None):
        as_of = as_of.replace(tzinfo=ISTANBUL)  # a drill's moment as typed by people here
    return watch_deadlines(store_engine(), now=as_of or datetime.now(ISTANBUL), senders=alert_senders(), drill=as_of is not None)
