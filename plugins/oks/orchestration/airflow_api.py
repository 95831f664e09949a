"""Answering ``confirm_bank_transfer`` through Airflow's REST API, as a bank-statement job would.

``oks confirm-payment`` marks the obligation paid in the store and then answers the matching pending
human-in-the-loop request (``Approve``), so the monthly run moves on exactly as if a person had
clicked in the UI. The API is found from ``OKS_AIRFLOW_API_URL`` (default the local api-server);
credentials from ``OKS_AIRFLOW_API_TOKEN`` or ``OKS_AIRFLOW_USERNAME`` / ``OKS_AIRFLOW_PASSWORD``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

import requests

__all__ = ["AirflowApi", "PendingConfirmation", "PendingUpload", "confirm_in_airflow", "confirm_payment_and_approve"]

# Obligations are confirmed in oks_monthly and in oks_correction alike: any DAG's request ("~").
ANY_DAG = "~"
TASK_ID = "confirm_bank_transfer"
_OBLIGATION = re.compile(r"^Obligation #(\d+):")
UPLOAD_TASK_ID = "confirm_upload"
_UPLOAD = re.compile(r"^Upload \d+ file\(s\) of (\S+) \((\d{4}-\d{2})\)")


@dataclass(frozen=True)
class PendingConfirmation:
    obligation_id: int
    dag_id: str
    dag_run_id: str
    task_id: str
    map_index: int


@dataclass(frozen=True)
class PendingUpload:
    contract_no: str
    period: str
    dag_id: str
    dag_run_id: str
    task_id: str
    map_index: int


class AirflowApi:
    def __init__(self, base_url: str, *, token: str | None = None, username: str | None = None,
                 password: str | None = None, timeout: float = 10.0) -> None:  # fmt: skip
        self.base_url = base_url.rstrip("/")
        self._token, self._username, self._password = token, username, password
        self.timeout = timeout
        self.http = requests.Session()

    def __repr__(self) -> str:  # never show credentials
        return f"AirflowApi({self.base_url!r})"

    @classmethod
    def from_env(cls) -> AirflowApi:
        return cls(
            os.environ.get("OKS_AIRFLOW_API_URL", "http://127.0.0.1:8080"),
            token=os.environ.get("OKS_AIRFLOW_API_TOKEN"),
            username=os.environ.get("OKS_AIRFLOW_USERNAME"),
            password=os.environ.get("OKS_AIRFLOW_PASSWORD"),
        )

    def _headers(self) -> dict[str, str]:
        if not self._token and self._username:
            answer = self.http.post(
                f"{self.base_url}/auth/token",
                json={"username": self._username, "password": self._password},
                timeout=self.timeout,
            )
            answer.raise_for_status()
            self._token = answer.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def get(self, path: str, **params) -> dict:
        """``GET /api/v2/<path>``, logged in."""
        answer = self.http.get(f"{self.base_url}/api/v2/{path}", params=params, headers=self._headers(), timeout=self.timeout)
        answer.raise_for_status()
        return answer.json()

    def pending_requests(self, task_id: str) -> list[dict]:
        """The unanswered human-in-the-loop requests of ``task_id`` in any DAG run."""
        found, offset = [], 0
        while True:
            page = self.get(f"dags/{ANY_DAG}/dagRuns/~/hitlDetails", task_id=task_id, response_received="false", limit=100, offset=offset)
            found += page["hitl_details"]
            offset += len(page["hitl_details"])
            if not page["hitl_details"] or offset >= page["total_entries"]:
                return found

    def pending_confirmations(self) -> list[PendingConfirmation]:
        found = []
        for detail in self.pending_requests(TASK_ID):
            match = _OBLIGATION.match(detail.get("subject") or "")
            ti = detail["task_instance"]
            if match:
                found.append(PendingConfirmation(int(match.group(1)), ti["dag_id"], ti["dag_run_id"], ti["task_id"], ti["map_index"]))
        return found

    def pending_uploads(self) -> list[PendingUpload]:
        """The unanswered ``confirm_upload`` requests: which contract's files of which month."""
        found = []
        for detail in self.pending_requests(UPLOAD_TASK_ID):
            match = _UPLOAD.match(detail.get("subject") or "")
            ti = detail["task_instance"]
            if match:
                found.append(PendingUpload(match.group(1), match.group(2), ti["dag_id"], ti["dag_run_id"], ti["task_id"], ti["map_index"]))
        return found

    def answer(self, pending: PendingConfirmation | PendingUpload, option: str = "Approve", params_input: dict | None = None) -> None:
        answer = self.http.patch(
            f"{self.base_url}/api/v2/dags/{pending.dag_id}/dagRuns/{pending.dag_run_id}/taskInstances/"
            f"{pending.task_id}/{pending.map_index}/hitlDetails",
            json={"chosen_options": [option], "params_input": params_input or {}},
            headers=self._headers(),
            timeout=self.timeout,
        )
        if answer.status_code != 409:  # 409: somebody answered already — the outcome we wanted
            answer.raise_for_status()


def confirm_in_airflow(obligation_ids: Iterable[int], api: AirflowApi | None = None, *, amount=None,
                       bank_reference: str | None = None) -> list[int]:  # fmt: skip
    """Approve the pending ``confirm_bank_transfer`` requests of these obligations (already confirmed
    in the store); returns the ids answered."""
    api = api or AirflowApi.from_env()
    wanted = set(obligation_ids)
    # The amount is one obligation's: a confirmation of a contract's whole month leaves it out of
    # each request rather than write the total into every one.
    shown = "" if amount is None or len(wanted) != 1 else str(amount)
    answered = []
    for pending in api.pending_confirmations():
        if pending.obligation_id in wanted:
            form = {"amount": shown, "bank_reference": bank_reference or ""}
            api.answer(pending, "Approve", form)
            answered.append(pending.obligation_id)
    return answered


def confirm_payment_and_approve(*, api: AirflowApi | None = None, engine=None, answer_airflow: bool = True,
                                **confirmation) -> tuple[list[int], list[int] | None]:  # fmt: skip
    """What ``oks confirm-payment`` and a bank-statement job do: confirm the obligation(s) in the
    store (``oks.pipeline.obligations.confirm_payment``, amount checked), then approve the waiting
    ``confirm_bank_transfer`` requests. Returns (ids confirmed, ids approved in Airflow — None when
    the API did not answer: the waiting task sees the payment in the store when it wakes). ``engine``:
    the store, when the caller already holds it (default: resolved here)."""
    from oks.orchestration.resources import store_engine
    from oks.pipeline.obligations import confirm_payment

    ids = confirm_payment(engine if engine is not None else store_engine(), **confirmation)
    if not answer_airflow:
        return ids, []
    try:
        return ids, confirm_in_airflow(ids, api, amount=confirmation.get("amount"), bank_reference=confirmation.get("bank_reference"))
    except requests.RequestException:
        return ids, None
