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
    """DES already holds another REGULAR payment for this contract and period, with other content."""

    def __init__(self, contract_no: str, period: str, existing_payment_id: str, difference: str) -> None:
        self.contract_no = contract_no
        self.period = period
        self.existing_payment_id = existing_payment_id
        self.difference = difference
        super().__init__(
            f"contract {contract_no}, period {period}: DES already holds REGULAR payment {existing_payment_id} "
            f"and it differs from this one ({difference}). Nothing was sent. A person must decide: pay the "
            "difference as a SUPPLEMENTARY payment, or have the existing payment cancelled on DES and run again."
        )


class LedgerConflict(DesError):
    """The ledger holds this idempotency key for other content: keys are derived wrongly somewhere."""
