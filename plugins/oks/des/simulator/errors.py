"""The contract's error answer, raised anywhere in the simulator and rendered by the app."""

from __future__ import annotations


class ApiError(Exception):
    """An answer ``{"error": {"code", "message", "details"?}}`` with an HTTP status (and headers)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict:
        error: dict = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def validation_error(field: str, message: str) -> ApiError:
    return ApiError(400, "VALIDATION_ERROR", f"{field}: {message}", details={"field": field})
