"""What on-call should do about *this* error: the runbook follows the error's kind, not the task.

A PostgreSQL outage during validation is not "fix payroll", and DES being down during
``submit_payment`` is not the duplicate-payment runbook. The task's own "If it fails" text is kept
for errors of no known kind. Matching walks the exception's chain (``raise … from``), so a driver
error wrapped by a library still counts as what it is; only classes are matched, never messages
(they might echo data, and a reworded message must not change the advice).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Advice", "advice_for"]


@dataclass(frozen=True)
class Advice:
    kind: str  # a few words, in the page's subject
    what_to_do: str


_DATABASE = Advice(
    "OKS store unreachable",
    "The OKS store (the oks_store connection, or OKS_STORE_URL) did not answer: check that PostgreSQL is up and "
    "reachable from the workers, then clear the task — every step is safe to repeat. Payroll is not the problem.",
)
_DES_DOWN = Advice(
    "DES unavailable",
    "DES (İŞNET) did not answer within the retry budget: check DES status and the des_default connection, then "
    "clear the task once DES answers — it re-attaches to anything DES already received; nothing is sent twice.",
)
_DES_AUTH = Advice(
    "DES refused the credentials",
    "DES refused the login or the insurer's web-service credentials: fix the des_default / oks_ws_<contract> "
    "connection (an expired password is the usual cause), then clear the task.",
)
_DES_CONFLICT = Advice(
    "DES holds another payment for the month",
    "STOP: DES already holds this month's payment of this kind for the contract, with other content, and no attempt "
    "of this project sent it (made on DES by hand or by another system; the error names the payment). Nothing was "
    "sent. Do not pay by hand: find who made it, have it cancelled on DES (a rejected payment frees the month), then "
    "clear the task. A payment an attempt of this project created and died before recording is recognised by its "
    "content and never stops here: its difference is proposed as a correction.",
)
_KEYS = Advice(
    "idempotency key reused for other content",
    "STOP: a DES request key was derived for other content — a bug, not an outage. Do not retry; escalate to the "
    "developers with the run id; nothing was sent for it.",
)
_THRESHOLD = Advice(
    "too many payroll rows invalid",
    "More personnel rows failed validation than allowed — likely a shifted column or the wrong file. Open the run's "
    "Data Docs (OKS reports), fix the payroll export, then re-run the period. Nothing was sent to DES.",
)
_STRUCTURE = Advice(
    "payroll export unusable",
    "The payroll export is unusable as a whole (no rows, a column missing or empty): fix the export or the oks_payroll "
    "query (docs/payroll-source.md), then re-run. Nothing was sent to DES.",
)
_BUSY = Advice(
    "period already being run",
    "Another run holds this period: wait for it to finish, or if it died, `oks release-run <run key> --by <you>`, "
    "then trigger again. The running one was not touched.",
)
_LOAD = Advice(
    "store refused a payroll row",
    "The store refused a bulk load at the payroll row and field named in the error: fix that row in the export, then "
    "re-run. The database's own message is withheld because it would quote personal data.",
)
_INVARIANT = Advice(
    "accounts do not add up",
    "STOP: contributions, DES payments and obligations do not agree (the error lists the difference). Do not pay by "
    "hand until the difference is explained; re-run the period once the cause is fixed.",
)
_OBLIGATION = Advice(
    "obligation differs from a paid one",
    "An obligation would change after it was paid or instructed: reconcile with the insurer and `oks corrections` "
    "before anything else; nothing was paid twice.",
)
_SENSOR = Advice(
    "insurer did not answer in time",
    "DES or the insurer did not finish in the waiting time: check the list or payment on DES, then clear the waiting "
    "task — it only waits, nothing is sent again.",
)
_REJECTED = Advice(
    "transfer reported NOT made",
    "Operations answered that the bank transfer was NOT made: pay the insurer now (`oks obligations` has amount, IBAN "
    "and reference), then `oks confirm-payment`. The deadline watch keeps paging until it is confirmed.",
)
_UNANSWERED = Advice(
    "no transfer confirmation",
    "Nobody confirmed the transfer by the deadline and its grace period: check with the bank; if it did not go, pay "
    "now; confirm with `oks confirm-payment --amount … --bank-reference …`.",
)
_NOT_CONFIRMED = Advice(
    "transfer confirmation refused",
    "The approval's amount was missing or differs from what is owed: nothing was confirmed and the obligation stays "
    "due. Answer again with the amount the bank transferred, or `oks confirm-payment --amount …`.",
)
_TOO_MANY = Advice(
    "more to map than Airflow allows",
    "The run has more payment obligations (or DES batches) than Airflow's [core] max_map_length lets one task map: "
    "set AIRFLOW__CORE__MAX_MAP_LENGTH above the count in the error on every Airflow component (docker-compose sets "
    "10000), restart them, then clear the task. Nothing was sent or confirmed by it; the deadline watch still pages.",
)


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _by_class(error: BaseException) -> Advice | None:
    from oks.des.errors import DesAuthError, DesUnavailable, LedgerConflict, PaymentConflict
    from oks.orchestration.monthly import TooManyToMap
    from oks.orchestration.operators import NoTransferConfirmation, TransferNotConfirmed, TransferReportedNotMade
    from oks.pipeline.obligations import ObligationConflict
    from oks.pipeline.reconcile import InvariantBroken
    from oks.quality.errors import InvalidShareExceeded, SnapshotStructureError
    from oks.store.bulk import BulkLoadError
    from oks.store.snapshot import RunBusy

    table = (
        (DesAuthError, _DES_AUTH), (DesUnavailable, _DES_DOWN), (PaymentConflict, _DES_CONFLICT), (LedgerConflict, _KEYS),
        (InvalidShareExceeded, _THRESHOLD), (SnapshotStructureError, _STRUCTURE), (RunBusy, _BUSY), (BulkLoadError, _LOAD),
        (InvariantBroken, _INVARIANT), (ObligationConflict, _OBLIGATION), (TransferNotConfirmed, _NOT_CONFIRMED),
        (TransferReportedNotMade, _REJECTED), (NoTransferConfirmation, _UNANSWERED), (TooManyToMap, _TOO_MANY),
    )  # fmt: skip
    for kind, advice in table:
        if isinstance(error, kind):
            return advice
    return None


def _is_database_down(error: BaseException) -> bool:
    # PostgreSQL's driver says OperationalError for a refused or dropped connection; SQLite says it for
    # a missing table too, which is not an outage — so only the server's driver counts.
    import sqlalchemy.exc

    if isinstance(error, (sqlalchemy.exc.DisconnectionError, sqlalchemy.exc.InterfaceError)):
        return True
    if isinstance(error, sqlalchemy.exc.DBAPIError) and getattr(error, "connection_invalidated", False):
        return True
    driver = getattr(error, "orig", None) if isinstance(error, sqlalchemy.exc.DBAPIError) else error
    return type(driver).__module__.startswith("psycopg2") and type(driver).__name__ in ("OperationalError", "InterfaceError")


def advice_for(error: BaseException | None) -> Advice | None:
    """The runbook for this error, or None when its kind is not known (the task's own text applies)."""
    if error is None:
        return None
    for link in _chain(error):
        advice = _by_class(link)
        if advice is not None:
            return advice
        if _is_database_down(link):
            return _DATABASE
        name = type(link).__name__
        if name in ("AirflowSensorTimeout", "TaskDeferralTimeout"):
            return _SENSOR
        if name in ("ConnectionError", "Timeout", "ConnectTimeout", "ReadTimeout") and type(link).__module__.startswith("requests"):
            return _DES_DOWN
    return None
