"""Why the validation step stops a run. Every exception carries the step's summary (counts only)."""

from __future__ import annotations

__all__ = ["ValidationFailed", "SnapshotStructureError", "InvalidShareExceeded"]


class ValidationFailed(RuntimeError):
    """The run must not go on. ``summary`` is the step's summary (no rows, no personal data)."""

    def __init__(self, message: str, summary: dict | None = None) -> None:
        super().__init__(message)
        self.summary = summary or {}

    def __reduce__(self):  # keep the summary across pickling (Airflow callbacks, multiprocessing)
        return (type(self), (str(self), self.summary))


class SnapshotStructureError(ValidationFailed):
    """The snapshot is unusable as a whole: no lines, or a column missing, empty in every row or of
    the wrong type. Fix the export (or the query), then re-run."""


class InvalidShareExceeded(ValidationFailed):
    """More rows failed than the configured share allows: likely a systematic problem (a shifted
    column, the wrong file) rather than a few typos, so nothing is sent."""
