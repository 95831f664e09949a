"""``confirm_bank_transfer``: an Airflow human-in-the-loop approval per payment obligation.

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

__all__ = ["ConfirmBankTransferOperator"]


def _is_paid(obligation_id: int) -> bool:
    import sqlalchemy as sa

    from oks.orchestration.resources import store_engine
    from oks.store.schema import payment_obligations

    with store_engine().connect() as conn:
        state = conn.execute(
            sa.select(payment_obligations.c.state).where(payment_obligations.c.id == obligation_id)
        ).scalar_one_or_none()
    return state == "paid"


class ConfirmBankTransferOperator(ApprovalOperator):
    """Wait for a person (or a bank-statement job) to confirm that an obligation's transfer was made."""

    def __init__(self, *, obligation_id: int, **kwargs: Any) -> None:
        kwargs.setdefault("fail_on_reject", True)  # "Reject" means the money did not go: page on-call
        super().__init__(**kwargs)
        self.obligation_id = obligation_id

    def execute(self, context):
        if _is_paid(self.obligation_id):
            self.log.info("Obligation #%s is already confirmed paid: nothing to ask.", self.obligation_id)
            return {"chosen_options": [self.APPROVE], "already_confirmed": True}
        return super().execute(context)

    def execute_complete(self, context, event: dict[str, Any]) -> Any:
        from airflow.providers.standard.exceptions import HITLRejectException, HITLTimeoutError
        from airflow.sdk.exceptions import AirflowFailException

        if "error" in event and event.get("error_type") == "timeout" and _is_paid(self.obligation_id):
            self.log.info("No answer here, but obligation #%s was confirmed paid meanwhile.", self.obligation_id)
            return {"chosen_options": [self.APPROVE], "already_confirmed": True}
        try:
            result = super().execute_complete(context, event)
        except HITLRejectException:
            raise AirflowFailException(f"obligation #{self.obligation_id}: the transfer was reported NOT made — pay now") from None
        except HITLTimeoutError:
            raise AirflowFailException(f"obligation #{self.obligation_id}: no confirmation by the statutory deadline") from None
        if result["chosen_options"] == [self.APPROVE]:
            from oks.orchestration.resources import store_engine
            from oks.pipeline.obligations import confirm_payment

            user = result.get("responded_by_user") or {}
            who = user.get("name") if isinstance(user, dict) else getattr(user, "name", None)
            confirm_payment(
                store_engine(), obligation_id=self.obligation_id, paid_at=result.get("responded_at"),
                confirmed_by=f"airflow:{who or 'unknown'}",
            )  # fmt: skip
            self.log.info("Obligation #%s confirmed paid by %s.", self.obligation_id, who)
        return {"chosen_options": result["chosen_options"], "obligation_id": self.obligation_id}
