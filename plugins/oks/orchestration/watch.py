"""The deadline watch task: the store's unpaid obligations, the configured channels, now."""

from __future__ import annotations

from datetime import datetime

from oks.orchestration.notifiers import alert_senders
from oks.orchestration.resources import store_engine
from oks.rules.calendar import ISTANBUL


def watch_now(now: datetime | None = None) -> dict:
    from oks.pipeline.deadline_watch import watch_deadlines

    return watch_deadlines(store_engine(), now=now or datetime.now(ISTANBUL), senders=alert_senders())
