"""Running an operation job to its end: one runner per kind, the outcome applied through the lifecycle.

Errors the user can fix (bad documents, missing container or model) end the job ``failed`` with the
error in ``errors[]``. Storage outages and unexpected errors propagate so the orchestration can retry;
if it gives up it calls :func:`abandon_operation`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from shared.config import Settings
from shared.errors import AppError, StorageError
from shared.jobs import apply, lifecycle
from shared.models import OperationJobRecord
from shared.operations.deletion import run_deletion
from shared.operations.deployments import RUNNERS as DEPLOYMENT_RUNNERS
from shared.operations.exports import run_export
from shared.operations.imports import run_import
from shared.operations.requests import DELETION, EXPORT, IMPORT, LOAD_SNAPSHOT, OperationRequest
from shared.operations.snapshots import run_load_snapshot

log = logging.getLogger(__name__)

Runner = Callable[[Settings, OperationRequest], dict[str, Any]]
"""Does the work of one operation; returns the record fields to set on success (e.g. ``result_url``)."""

RUNNERS: dict[str, Runner] = {
    IMPORT.name: run_import,
    EXPORT.name: run_export,
    DELETION.name: run_deletion,
    LOAD_SNAPSHOT.name: run_load_snapshot,
    **DEPLOYMENT_RUNNERS,
}


def _apply(settings: Settings, request: OperationRequest, transition: apply.OperationTransition) -> OperationJobRecord:
    return apply.apply_operation(settings, request.job_kind, request.project_name, request.job_id, transition)


def run_operation(settings: Settings, request: OperationRequest) -> OperationJobRecord:
    """Run one long-running operation to its end and record the outcome on its job."""
    runner = RUNNERS.get(request.kind)
    if runner is None:
        raise ValueError(f"unknown operation kind {request.kind!r}")
    _apply(settings, request, lifecycle.start_operation)
    try:
        changes = runner(settings, request)
    except StorageError:
        raise
    except AppError as exc:
        log.info("%s job %s of project %s failed: %s", request.kind, request.job_id, request.project_name, exc)
        errors = [exc.to_dict()]
        return _apply(settings, request, lambda record: lifecycle.fail_operation(record, errors))
    return _apply(settings, request, lambda record: lifecycle.succeed_operation(record, **changes))


def abandon_operation(settings: Settings, request: OperationRequest, reason: str) -> OperationJobRecord:
    """Mark an operation failed after an unexpected error (its orchestration failed or never started)."""
    error = {
        "code": "InternalServerError",
        "message": f"The {request.kind} operation failed unexpectedly: {reason}",
        "details": [],
    }
    return _apply(settings, request, lambda record: lifecycle.fail_operation(record, [error]))
