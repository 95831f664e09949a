"""A person answering Airflow's human-in-the-loop requests, for the DAG tests: a thread beside
``dag.test()`` that hands every waiting request of a task to ``respond`` (which PATCHes an answer
through the REST API, as the UI does)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from oks.orchestration.airflow_api import AirflowApi, PendingConfirmation


def request_of(detail: dict) -> PendingConfirmation:
    """The request a hitlDetails entry is, in the form ``AirflowApi.answer`` takes."""
    ti = detail["task_instance"]
    return PendingConfirmation(0, ti["dag_id"], ti["dag_run_id"], ti["task_id"], ti["map_index"])


class Responder:
    def __init__(self, api: AirflowApi, task_id: str, respond: Callable[[dict], None], *, interval: float = 0.3) -> None:
        self.api, self.task_id, self.respond, self.interval = api, task_id, respond, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"responder-{task_id}", daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for detail in self.api.pending_requests(self.task_id):
                self.respond(detail)
            self._stop.wait(self.interval)

    def __enter__(self) -> Responder:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
