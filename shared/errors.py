"""The service's error hierarchy.

Every failure the service can explain is an :class:`AppError`. Each subclass fixes an Azure
``ErrorCode`` and the HTTP status it maps to, so the HTTP layer (``functions/_http.py``) turns any
``AppError`` into Azure's error JSON without knowing the cause::

    AppError                      500 InternalServerError  (base; never raised directly)
    ├── InvalidArgument           400 InvalidArgument      bad field, document or label
    │   └── InvalidRequest        400 InvalidRequest       malformed request (body, api-version)
    │       └── RequestTooLarge   413 InvalidRequest       request body over the size limit
    ├── Unauthorized              401 Unauthorized         missing or wrong subscription key
    ├── NotFound                  404 NotFound
    │   ├── ProjectNotFound       404 ProjectNotFound
    │   └── OperationNotFound     404 OperationNotFound    unknown or expired job id
    ├── Conflict                  409 Conflict             a job is running, job already finished
    ├── StorageError              503 ServiceUnavailable   storage unreachable or refused a call
    └── TrainingFailed            500 InternalServerError  a training job failed (goes into errors[])

Storage modules translate azure-core exceptions into these types; nothing else catches them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ErrorDetail:
    """One entry of an error's ``details`` array (Azure's recursive ``Error`` object)."""

    code: str
    message: str
    target: str | None = None

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target is not None:
            body["target"] = self.target
        return body


@dataclass(eq=False)
class AppError(Exception):
    """Base of every error the service reports to its callers."""

    message: str
    target: str | None = None
    details: list[ErrorDetail] = field(default_factory=list)

    code = "InternalServerError"
    status = 500

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """Azure's ``Error`` object: ``code``, ``message``, ``target`` and ``details``."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target is not None:
            body["target"] = self.target
        body["details"] = [detail.to_dict() for detail in self.details]
        return body


class InvalidArgument(AppError):
    code = "InvalidArgument"
    status = 400


class InvalidRequest(InvalidArgument):
    code = "InvalidRequest"
    status = 400


class RequestTooLarge(InvalidRequest):
    status = 413


class Unauthorized(AppError):
    code = "Unauthorized"
    status = 401


class NotFound(AppError):
    code = "NotFound"
    status = 404


class ProjectNotFound(NotFound):
    code = "ProjectNotFound"


class OperationNotFound(NotFound):
    code = "OperationNotFound"


class Conflict(AppError):
    code = "Conflict"
    status = 409


class StorageError(AppError):
    code = "ServiceUnavailable"
    status = 503


class TrainingFailed(AppError):
    code = "InternalServerError"
    status = 500


def invalid_with_details(message: str, details: list[ErrorDetail], target: str | None = None) -> InvalidArgument:
    """An ``InvalidArgument`` that carries one detail per problem found (e.g. per bad label)."""
    return InvalidArgument(message=message, target=target, details=details)
