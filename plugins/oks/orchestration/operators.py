"""The human-in-the-loop approvals: ``confirm_bank_transfer`` per payment obligation, and
``decide_correction`` per proposed correction of a month DES already holds.

``confirm_bank_transfer``: operations confirm a transfer.

Operations approve in the Airflow UI ("Required actions") once the bank has executed the transfer;
a bank-statement job answers the same request through the REST API with ``oks confirm-payment``.
Either way the obligation becomes *paid* in the store, which stops the deadline alerts.

- Approve → the obligation is confirmed paid (by the responding user).
- Reject → the transfer did not happen: the task fails without retrying, so on-call is paged at
  once (the deadline watch keeps paging until it is paid).
- No answer by the statutory deadline → the task fails the same way, unless the payment was
  confirmed another way meanwhile (``oks confirm-payment`` without API access), which counts.
- Anything else (an infrastructure failure while resuming) is retried: the retry asks the store
  first, so an obligation confirmed meanwhile completes at once instead of asking again.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk.exceptions import AirflowFailException

from oks.rules.vocabulary import SETTLED

__all__ = ["ConfirmBankTransferOperator", "DecideCorrectionOperator", "TransferNotConfirmed", "TransferReportedNotMade",
           "NoTransferConfirmation", "ConfirmUploadOperator", "UploadNotMade"]


def _is_paid(obligation_id: int) -> bool:
    from oks.orchestration.resources import store_engine
    from oks.store.obligations import obligation_state

    return obligation_state(store_engine(), obligation_id) in SETTLED


def approvers() -> list[dict] | None:
    """Who may answer the approvals (``OKS_APPROVERS``: Airflow user ids, comma-separated); unset =
    whoever Airflow lets act on the DAG's runs."""
    import os

    ids = [u.strip() for u in os.environ.get("OKS_APPROVERS", "").split(",") if u.strip()]
    return [{"id": u, "name": u} for u in ids] or None


def with_form(given: Any, **fields: dict[str, Any]) -> Any:
    """``given`` params plus the approval's form ``fields`` (name → Param arguments), marked as the
    task's own. HITLOperator shows only task-sourced params as form fields, and by the time an
    operator's ``__init__`` runs its ``params`` already hold the DAG's params (merged in by Airflow,
    for a mapped ``.partial()`` task at unmapping): a ``setdefault`` would leave the form empty."""
    from airflow.sdk import Param
    from airflow.sdk.definitions.param import ParamsDict

    merged = ParamsDict()
    for key in given or {}:
        merged[key] = given.get_param(key) if isinstance(given, ParamsDict) else given[key]
    for key, arguments in fields.items():
        merged[key] = Param(**arguments, source="task")
    return merged


class TransferNotConfirmed(RuntimeError):
    """An approval whose amount is missing or differs from what is owed: nothing is confirmed (retried)."""


class TransferReportedNotMade(AirflowFailException):
    """Operations answered that the transfer was NOT made: fails at once (no retry), pages on-call."""


class NoTransferConfirmation(AirflowFailException):
    """Nobody confirmed the transfer by the deadline and its grace period: fails at once, pages on-call."""


class ConfirmBankTransferOperator(ApprovalOperator):
    """Wait for a person (or a bank-statement job) to confirm that an obligation's transfer was made."""

    def __init__(self, *, obligation_id: int, **kwargs: Any) -> None:
        kwargs.setdefault("fail_on_reject", True)  # "Reject" means the money did not go: page on-call
        kwargs.setdefault("assigned_users", approvers())
        kwargs["params"] = with_form(
            kwargs.get("params"),
            # Optional in the form so that Reject needs nothing typed; Approve without the amount
            # confirms nothing (execute_complete) and is asked again.
            amount={"default": None, "type": ["null", "string"], "title": "Amount transferred",
                    "description": "Needed to approve: the amount the bank transferred (12.345,00 or 12345.00)"},
            bank_reference={"default": None, "type": ["null", "string"], "title": "Bank reference",
                            "description": "The bank's reference of the transfer"},
        )  # fmt: skip
        super().__init__(**kwargs)
        self.obligation_id = obligation_id

    def execute(self, context):
        if _is_paid(self.obligation_id):
            self.log.info("Obligation #%s is already confirmed paid: nothing to ask.", self.obligation_id)
            return {"chosen_options": [self.APPROVE], "already_confirmed": True}
        return super().execute(context)

    def execute_complete(self, context, event: dict[str, Any]) -> Any:
        from airflow.providers.standard.exceptions import HITLRejectException, HITLTimeoutError

        if "error" in event and event.get("error_type") == "timeout" and _is_paid(self.obligation_id):
            self.log.info("No answer here, but obligation #%s was confirmed paid meanwhile.", self.obligation_id)
            return {"chosen_options": [self.APPROVE], "already_confirmed": True}
        try:
            result = super().execute_complete(context, event)
        except HITLRejectException:
            raise TransferReportedNotMade(f"obligation #{self.obligation_id}: the transfer was reported NOT made — pay now") from None
        except HITLTimeoutError:
            raise NoTransferConfirmation(
                f"obligation #{self.obligation_id}: no confirmation by the statutory deadline (nor in the grace period "
                "after it) — check with the bank, pay now if it did not go"
            ) from None
        if result["chosen_options"] == [self.APPROVE] and not _is_paid(self.obligation_id):
            from oks.orchestration.resources import store_engine
            from oks.payroll.parsing import CellError, parse_money
            from oks.pipeline.obligations import confirm_payment

            answers = result.get("params_input") or {}
            who = _responder(result)
            try:
                text = str(answers.get("amount") or "").strip()
                if not text:
                    raise CellError("amount", "no amount given")
                amount = parse_money(text)
                confirm_payment(
                    store_engine(), obligation_id=self.obligation_id, paid_at=result.get("responded_at"), confirmed_by=who,
                    amount=amount, bank_reference=answers.get("bank_reference"),
                )  # fmt: skip
            except (CellError, ValueError) as exc:
                # Not confirmed: the obligation stays due and its alerts go on. The retry asks again.
                raise TransferNotConfirmed(
                    f"obligation #{self.obligation_id}: not confirmed — {exc}; give the amount the bank transferred "
                    f"(asked again on the retry, or `oks confirm-payment --obligation {self.obligation_id} --amount …`)"
                ) from None
            self.log.info("Obligation #%s confirmed paid by %s.", self.obligation_id, who)
        return {"chosen_options": result["chosen_options"], "obligation_id": self.obligation_id}


def _responder(result: dict) -> str:
    user = result.get("responded_by_user") or {}
    who = user.get("name") if isinstance(user, dict) else getattr(user, "name", None)
    return f"airflow:{who or 'unknown'}"


class DecideCorrectionOperator(ApprovalOperator):
    """Ask operations to approve or reject a proposed correction; Approve sends it (once), Reject
    records the refusal with its reason. Either answer is a decision, so neither fails the task.

    - Already sent or refused (answered in a shell with ``oks correction``): nothing is asked.
    - Approved but its sending was interrupted (DES down after the answer): a retry sends it under the
      same key without asking again — DES re-attaches, nothing is paid twice.
    """

    template_fields = (*ApprovalOperator.template_fields, "correction_id")

    def __init__(self, *, correction_id: int | str, **kwargs: Any) -> None:
        kwargs.setdefault("assigned_users", approvers())
        kwargs["params"] = with_form(
            kwargs.get("params"),
            wage_paid_on={"default": None, "type": ["null", "string"], "format": "date", "title": "Wages paid on",
                          "description": "Day the difference is deducted from wages (empty = today); its deadline follows"},
            reason={"default": "", "type": "string", "title": "Reason",
                    "description": "Why it is rejected (recorded for the auditors)"},
        )  # fmt: skip
        super().__init__(**kwargs)
        self.correction_id = correction_id

    def execute(self, context):
        from oks.orchestration import correction

        state = correction.state_of(int(self.correction_id))
        if state in ("sent", "refused"):
            self.log.info("Correction #%s is %s already: nothing to ask.", self.correction_id, state)
            return {"chosen_options": [self.APPROVE if state == "sent" else self.REJECT], "already_decided": True}
        if state == "approved":
            # Approved, its sending interrupted: approving again sends it under the same key; the
            # approver recorded stays the one who answered (``by`` only counts for a proposed one).
            self.log.info("Correction #%s was approved; its sending was interrupted: sending it now.", self.correction_id)
            return {"chosen_options": [self.APPROVE], "sent": _sent(correction.approve(int(self.correction_id), by="retry"))}
        return super().execute(context)

    def execute_complete(self, context, event: dict[str, Any]) -> Any:
        from datetime import date

        from oks.orchestration import correction

        if "error" not in event and event.get("chosen_options") == [self.REJECT]:
            # Recorded before the base class skips the confirmation downstream (it ends the task).
            who = _responder(event)
            reason = ((event.get("params_input") or {}).get("reason") or "").strip() or "rejected in the Airflow UI (no reason given)"
            correction.refuse(int(self.correction_id), by=who, reason=reason)
            self.log.info("Correction #%s refused by %s: nothing is sent.", self.correction_id, who)
            return super().execute_complete(context, event)
        result = super().execute_complete(context, event)
        who = _responder(result)
        day = (result.get("params_input") or {}).get("wage_paid_on")
        done = correction.approve(int(self.correction_id), by=who, wage_paid_on=date.fromisoformat(day) if day else None)
        self.log.info("Correction #%s approved by %s: %s", self.correction_id, who, _sent(done))
        return {"chosen_options": result["chosen_options"], "sent": _sent(done)}


def _sent(done: dict) -> dict:
    # Amounts and ids only: what goes to XCom carries nothing personal.
    return {k: done.get(k) for k in ("correction_id", "des_payment_id", "obligation_id", "to_pay", "over_paid", "wage_paid_on", "sent_now")}


class UploadNotMade(AirflowFailException):
    """Operations answered that the files could not be uploaded: fails at once (no retry), pages on-call."""


class ConfirmUploadOperator(ApprovalOperator):
    """Wait for operations to upload a file-channel contract's files of the month to the insurer's
    portal (docs/channels.md). Approve: the files are sent (the ledger says so). Reject: the month is
    not with the insurer — the task fails and pages on-call. Confirmed meanwhile with
    ``oks confirm-upload``: nothing is asked."""

    def __init__(self, *, contract_no: str, period: str, **kwargs: Any) -> None:
        kwargs.setdefault("fail_on_reject", True)
        kwargs.setdefault("assigned_users", approvers())
        super().__init__(**kwargs)
        self.contract_no, self.period = contract_no, period

    def _waiting(self) -> int:
        from oks.orchestration.resources import store_engine
        from oks.store.channels import files_to_upload

        with store_engine().connect() as conn:
            return len(files_to_upload(conn, contract_no=self.contract_no, period=self.period))

    def execute(self, context):
        if not self._waiting():
            self.log.info("The files of %s %s are confirmed uploaded already: nothing to ask.", self.contract_no, self.period)
            return {"chosen_options": [self.APPROVE], "already_confirmed": True}
        return super().execute(context)

    def execute_complete(self, context, event: dict[str, Any]) -> Any:
        from airflow.providers.standard.exceptions import HITLRejectException, HITLTimeoutError

        from oks.orchestration.resources import store_engine
        from oks.store.channels import confirm_upload

        if "error" in event and event.get("error_type") == "timeout" and not self._waiting():
            return {"chosen_options": [self.APPROVE], "already_confirmed": True}
        try:
            result = super().execute_complete(context, event)
        except (HITLRejectException, HITLTimeoutError):
            raise UploadNotMade(f"{self.contract_no} {self.period}: the insurer's files were not uploaded — upload them now, "
                                "or the month is not paid on time") from None  # fmt: skip
        with store_engine().begin() as conn:
            confirmed = confirm_upload(conn, contract_no=self.contract_no, period=self.period)
        self.log.info("%s %s: %d file(s) confirmed uploaded by %s.", self.contract_no, self.period, confirmed, _responder(result))
        return {"chosen_options": result["chosen_options"], "contract_no": self.contract_no, "files": confirmed}
