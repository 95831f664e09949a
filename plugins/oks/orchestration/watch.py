"""The deadline watch task: the store's unpaid obligations, the configured channels, now."""

from __future__ import annotations

from datetime import datetime

from oks.orchestration.notifiers import alert_senders
from oks.orchestration.resources import store_engine
from oks.rules.calendar import ISTANBUL


def watch_now(as_of: str | datetime | None = None) -> dict:
    """Alerts due now (or ``as_of``, an ISO moment, for drills and tests) for every unpaid obligation."""
    from oks.pipeline.deadline_watch import watch_deadlines

    if isinstance(as_of, str):
        as_of = datetime.fromisoformat(as_of)
    return watch_deadlines(store_engine(), now=as_of or datetime.now(ISTANBUL), senders=alert_senders())
