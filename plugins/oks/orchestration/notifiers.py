"""Airflow notifiers that reach on-call: e-mail (the SMTP provider), a generic webhook, an outbox file.

Channels come from Airflow connections, so credentials never live in code:

- ``oks_alert_smtp`` — an SMTP connection; extra ``{"to": ["oncall@…"], "from_email": "oks@…"}``.
- ``oks_alert_webhook`` — an HTTP connection to any JSON webhook (chat bridges, incident tools), sent
  with the http provider's ``HttpNotifier``; extra ``{"endpoint": "/hooks/oks"}``.
- the outbox — always on: JSON lines in ``$OKS_HOME/alerts/outbox.jsonl``, so even a machine with no
  mail or webhook configured keeps a record that an alert was due.

The same senders serve the deadline watch, the DAG's failure callbacks and the Deadline Alert.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from airflow.sdk.bases.notifier import BaseNotifier

from oks.orchestration.connections import connection_or_none
from oks.rules.vocabulary import AlertLevel

log = logging.getLogger(__name__)

SMTP_CONN_ID = "oks_alert_smtp"
WEBHOOK_CONN_ID = "oks_alert_webhook"

__all__ = ["SMTP_CONN_ID", "WEBHOOK_CONN_ID", "webhook_notifier", "OutboxNotifier", "alert_senders", "OnCallNotifier"]


def _payload(level: str, subject: str, text: str, **extra) -> dict:
    return {"source": "oks-pipeline", "level": level, "subject": subject, "text": text, **extra}


def webhook_notifier(*, subject: str, text: str, level: str = AlertLevel.PAGE, http_conn_id: str = WEBHOOK_CONN_ID,
                     extra: dict | None = None) -> BaseNotifier:  # fmt: skip
    """The http provider's ``HttpNotifier``: POST the JSON alert to the webhook connection (its
    ``endpoint`` extra), async in the triggerer; a non-2xx answer fails the send."""
    from airflow.providers.http.notifications.http import HttpNotifier

    conn = connection_or_none(http_conn_id)
    return HttpNotifier(
        http_conn_id=http_conn_id,
        endpoint=(conn.extra_dejson.get("endpoint") if conn else None) or "",
        json=_payload(level, subject, text, **(extra or {})),
        extra_options={"timeout": 10, "check_response": True},
    )


class OutboxNotifier(BaseNotifier):
    """Append the alert to ``$OKS_HOME/alerts/outbox.jsonl`` — the channel that is always there."""

    template_fields = ("subject", "text")

    def __init__(self, *, subject: str, text: str, level: str = AlertLevel.PAGE, extra: dict | None = None, path: Path | None = None):
        super().__init__()
        self.subject, self.text, self.level, self.extra = subject, text, level, extra or {}
        self.path = path

    def notify(self, context) -> None:
        from oks.store import oks_home

        path = self.path or oks_home() / "alerts" / "outbox.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        from oks.rules.calendar import ISTANBUL

        record = _payload(self.level, self.subject, self.text, at=datetime.now(ISTANBUL).isoformat(timespec="seconds"), **self.extra)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")

    async def async_notify(self, context) -> None:
        self.notify(context)


def _smtp_notifier(conn, *, subject: str, text: str):
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    to = conn.extra_dejson.get("to")
    if not to:
        raise ValueError(f"connection {SMTP_CONN_ID} has no 'to' in its extra: on-call would receive nothing")
    body = "<pre style=\"font-family:sans-serif;white-space:pre-wrap\">" + _escape(text) + "</pre>"
    return SmtpNotifier(
        to=to, from_email=conn.extra_dejson.get("from_email"), smtp_conn_id=SMTP_CONN_ID, subject=subject, html_content=body
    )


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def notifiers_for(subject: str, text: str, level: str, **extra) -> dict[str, BaseNotifier]:
    """One notifier per configured channel, named by channel."""
    notifiers: dict[str, BaseNotifier] = {"outbox": OutboxNotifier(subject=subject, text=text, level=level, extra=extra)}
    smtp = connection_or_none(SMTP_CONN_ID)
    if smtp is not None:
        notifiers["email"] = _smtp_notifier(smtp, subject=subject, text=text)
    if connection_or_none(WEBHOOK_CONN_ID) is not None:
        notifiers["webhook"] = webhook_notifier(subject=subject, text=text, level=level, extra=extra)
    return notifiers


def alert_senders() -> dict[str, Callable]:
    """Senders for :func:`oks.pipeline.deadline_watch.watch_deadlines`, one per configured channel."""
    channels = ["outbox"]
    if connection_or_none(SMTP_CONN_ID) is not None:
        channels.append("email")
    if connection_or_none(WEBHOOK_CONN_ID) is not None:
        channels.append("webhook")

    def sender(channel: str) -> Callable:
        def send(alert) -> None:
            notifiers = notifiers_for(alert.subject, alert.body, alert.level, dedupe_key=alert.dedupe_key, obligation_id=alert.obligation_id)
            notifiers[channel].notify({})

        return send

    return {channel: sender(channel) for channel in channels}


class OnCallNotifier(BaseNotifier):
    """Failure callback: tells on-call which task failed, why, and what to do (the task's doc_md).

    The exception text is redacted: the project's own errors carry no personal data, but a library's
    (a database driver echoing a row) might.
    """

    def __init__(self, *, level: str = AlertLevel.PAGE):
        super().__init__()
        self.level = level

    def _message(self, context) -> tuple[str, str]:
        ti = context.get("ti") or context.get("task_instance")
        task = context.get("task")
        dag_id = getattr(ti, "dag_id", "?")
        from oks.orchestration.monthly import task_label

        task_id = task_label(ti)  # a mapped instance is named by its label: each page says which one
        run_id = getattr(ti, "run_id", context.get("run_id", "?"))
        error = context.get("exception")
        from oks.orchestration.runbook import advice_for
        from oks.privacy import redact  # the error may come from a library that echoes data
        from oks.rules.calendar import istanbul_text

        doc = (getattr(task, "doc_md", None) or "").strip()
        what_to_do = doc.split("**If it fails**", 1)[1].strip() if "**If it fails**" in doc else doc
        advice = advice_for(error)  # the error's own runbook wins over the task's general one
        if advice is not None:
            what_to_do = f"({advice.kind}) {advice.what_to_do}"
        subject = f"[OKS FAILED] {dag_id}.{task_id} ({run_id})" + (f": {advice.kind}" if advice else "")
        text = "\n".join(
            filter(
                None,
                [
                    f"Task {task_id} of {dag_id} failed in run {run_id} at {istanbul_text(datetime.now(UTC))}.",
                    f"Error: {type(error).__name__}: {redact(error, 1000)}" if error else None,
                    f"Log: {getattr(ti, 'log_url', '')}" if getattr(ti, "log_url", None) else None,
                    f"What to do: {what_to_do}" if what_to_do else None,
                ],
            )
        )
        return subject, text

    def notify(self, context) -> None:
        subject, text = self._message(context)
        for channel, notifier in notifiers_for(subject, text, self.level).items():
            try:
                notifier.notify(context)
            except Exception:  # noqa: BLE001 - one broken channel must not hide the failure on the others
                log.exception("failure alert not delivered on %s", channel)
