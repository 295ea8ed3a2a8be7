"""ARM's error response shape, shared by every part of the double."""

from __future__ import annotations

from datetime import datetime, timezone

from .template_engine import TemplateError


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ArmError(Exception):
    """An ARM error response: HTTP status + {"error": {code, message, target?, details?}}."""

    def __init__(self, status: int, code: str, message: str, target: str | None = None, details=None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.target = status, code, message, target
        self.details = details or []
        self.headers = headers or {}

    def body(self) -> dict:
        err = {"code": self.code, "message": self.message}
        if self.target:
            err["target"] = self.target
        if self.details:
            err["details"] = self.details
        return {"error": err}


def template_error(err: TemplateError, status: int = 400) -> ArmError:
    return ArmError(status, err.code, err.message, target=err.target)
