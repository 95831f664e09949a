"""What can go wrong talking to DES, as exceptions the pipeline can act on.

- :class:`DesUnavailable` — DES did not answer usefully within the retry budget (5xx, 429, timeouts,
  outage). Retryable: run the task again later; idempotency keys make that safe.
- :class:`DesApiError` — DES answered with a business error a retry cannot fix (``code`` is the
  contract's error code); :class:`DesAuthError` for credentials.
- :class:`PaymentConflict` — DES already holds a different REGULAR payment for the period: a human
  must decide.

Messages never carry personal data: text that comes from DES is redacted (oks.privacy.redact) of anything that looks like
a TCKN or an IBAN before it is put into an exception or a log line.
"""

from __future__ import annotations

from oks.privacy import redact


class DesError(Exception):
    """Anything the DES gateway raises."""

    retryable = False


class DesUnavailable(DesError):
    """DES could not be reached or kept failing within the retry budget; try again later."""

    retryable = True

    def __init__(self, operation: str, attempts: int, last_error: str, retry_after: float | None = None) -> None:
        self.operation = operation
        self.attempts = attempts
        self.last_error = redact(last_error)
        self.retry_after = retry_after
        hint = f"; DES asked to wait {retry_after:g} s" if retry_after else ""
        super().__init__(
            f"DES unavailable: {operation} failed after {attempts} attempt(s), last: {self.last_error}{hint}. "
            "Retryable: run again later, the same idempotency keys re-attach to anything already received."
        )


class DesApiError(DesError):
    """A business error from DES (4xx): ``status``, the contract's ``code``, a message and details."""

    def __init__(self, operation: str, status: int, code: str, message: str, details: dict | None = None, attempts: int = 1) -> None:
        self.operation = operation
        self.status = status
        self.code = code
        self.message = redact(message)
        self.details = details or {}
        self.attempts = attempts  # HTTP attempts made before DES gave this answer (earlier ones failed transiently)
        super().__init__(f"DES refused {operation}: {status} {code}: {self.message}")


class DesAuthError(DesApiError):
    """DES refused the credentials (or a fresh token): check the ``des_default`` connection."""


class PaymentConflict(DesError):
    """DES already holds another REGULAR payment for this contract and period, with other content.

    ``lost_attempt_key``: the payment was created by an earlier attempt of this project that died before
    recording DES's answer (the ledger row of that key now names it) — the month's payment is known, and
    this run's difference goes the way of any held payment's: a correction proposed for approval. Without
    it, nothing here ever sent that payment: it was made on DES by hand or by another system."""

    def __init__(self, contract_no: str, period: str, existing_payment_id: str, difference: str, *,
                 lost_attempt_key: str | None = None) -> None:  # fmt: skip
        self.contract_no = contract_no
        self.period = period
        self.existing_payment_id = existing_payment_id
        self.difference = difference
        self.lost_attempt_key = lost_attempt_key
        if lost_attempt_key:
            what = (f"contract {contract_no}, period {period}: DES holds REGULAR payment {existing_payment_id}, created by an "
                    f"earlier attempt that died before recording DES's answer; it differs from this run's ({difference}). "
                    "Nothing new was sent: the difference is proposed as a correction (oks corrections).")  # fmt: skip
        else:
            what = (f"contract {contract_no}, period {period}: DES holds REGULAR payment {existing_payment_id}, which no "
                    f"attempt in this project's ledger sent (made on DES by hand, or by another system), and it differs from this "
                    f"run's ({difference}). Nothing was sent. Do not pay by hand: find who made {existing_payment_id}; "
                    "have it cancelled on DES (a rejected payment frees the month), then clear the task.")  # fmt: skip
        super().__init__(what)


class LedgerConflict(DesError):
    """The ledger holds this idempotency key for other content: keys are derived wrongly somewhere."""
