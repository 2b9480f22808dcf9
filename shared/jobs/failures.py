"""The failure contract between activities and orchestrators.

An activity that fails raises :class:`StepFailed` carrying a :class:`StepFailure`: Azure's error object
(code, message, target, details) plus ``retryable``. The orchestrator reads it back with
:func:`failure_from_text` and retries only a retryable failure; the error object goes into the job's
``errors[]`` unchanged.

Why text: the Durable Python SDK hands the orchestrator nothing but the activity exception's message
(``TaskFailed.Reason``, wrapped as ``"Activity function '<name>' failed: <message>"`` with the details
appended). So the payload travels as one JSON object after :data:`MARKER` at the end of the message,
the same split as temporalio's ``ApplicationError(non_retryable=...)`` or durabletask's
``FailureDetails``: the producer decides whether a failure is worth retrying, the consumer only reads
the flag. Text without the marker (a crash, a lost worker) is an unexpected, retryable failure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shared.errors import AppError, StorageError

MARKER = "[step-failure]"
MAX_UNEXPECTED_TEXT = 500


@dataclass(frozen=True)
class StepFailure:
    """Why a step failed, in Azure's error shape, and whether trying again may help."""

    code: str
    message: str
    retryable: bool
    target: str | None = None
    details: list[dict[str, Any]] | None = None
    """None for a failure that never had details (kept absent in the error object, as before)."""

    @classmethod
    def from_error(cls, error: AppError) -> StepFailure:
        """A domain error: storage trouble is retryable, a user's mistake is not."""
        body = error.to_dict()
        return cls(
            code=str(body["code"]),
            message=str(body["message"]),
            retryable=isinstance(error, StorageError),
            target=body.get("target"),
            details=list(body.get("details") or []),
        )

    @classmethod
    def unexpected(cls, text: str, *, phase: str) -> StepFailure:
        """A failure without a payload (a crash, a lost worker): internal, retryable, first line kept."""
        first_line = text.strip().splitlines()[0] if text.strip() else "unknown error"
        return cls(
            code="InternalServerError",
            message=f"Training failed during phase '{phase}': {first_line[:MAX_UNEXPECTED_TEXT]}",
            retryable=True,
        )

    def to_error(self) -> dict[str, Any]:
        """Azure's error object, as stored in a job's ``errors[]`` (same keys as ``AppError.to_dict``)."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target is not None:
            body["target"] = self.target
        if self.details is not None:
            body["details"] = self.details
        return body

    def to_text(self) -> str:
        """The exception message carrying this failure (readable first, payload last)."""
        payload = {"error": self.to_error(), "retryable": self.retryable}
        return f"{self.code}: {self.message} {MARKER}{json.dumps(payload)}"


class StepFailed(Exception):
    """Raised by an activity adapter; the message is :meth:`StepFailure.to_text`."""

    def __init__(self, failure: StepFailure) -> None:
        super().__init__(failure.to_text())
        self.failure = failure


def failure_from_text(text: str, *, phase: str) -> StepFailure:
    """The :class:`StepFailure` in an activity failure's text (the SDK may wrap and extend it)."""
    start = text.rfind(MARKER)
    if start >= 0:
        try:
            payload, _ = json.JSONDecoder().raw_decode(text, start + len(MARKER))
            error = payload["error"]
            return StepFailure(
                code=str(error["code"]),
                message=str(error["message"]),
                retryable=bool(payload["retryable"]),
                target=error.get("target"),
                details=error.get("details"),
            )
        except (ValueError, KeyError, TypeError):
            pass
    return StepFailure.unexpected(text, phase=phase)
