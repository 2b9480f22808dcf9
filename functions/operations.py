"""Long-running project operations (import, export, project deletion, load-snapshot).

One small orchestration per operation job (instance id = job id): it runs the operation's activity with
retries (storage hiccups) and, if the activity still fails, records the failure on the job. The HTTP
handlers start it through :func:`start_operation`.
"""

import asyncio
import logging
from collections.abc import Generator
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from functions import _http
from shared.config import get_settings
from shared.errors import StorageError
from shared.jobs.kinds import OPERATION_ORCHESTRATOR
from shared.operations.requests import OperationRequest
from shared.operations.run import abandon_operation, run_operation

log = logging.getLogger(__name__)

bp = df.Blueprint()

RUN_OPERATION_ACTIVITY = "run_project_operation"
FAIL_OPERATION_ACTIVITY = "fail_project_operation"

NOT_STARTED_REASON = "its orchestration could not be started (the service log has the details)"
NOT_STARTED_MESSAGE = "The job could not be started right now; it was marked failed. Retry in a few seconds."

_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2000, max_number_of_attempts=3)


def operation_location(req: func.HttpRequest, op: OperationRequest) -> str:
    """The absolute status URL clients poll for ``op`` (declared by its kind)."""
    return _http.projects_url(req, op.job_kind.location_path(op.project_name, op.job_id, op.params))


async def start_operation(req: func.HttpRequest, client: df.DurableOrchestrationClient, op: OperationRequest) -> func.HttpResponse:
    """Start the orchestration for a recorded operation job and answer 202 with its location.

    If the orchestration cannot be started the job is marked failed and the caller gets a 503.
    """
    try:
        await client.start_new(OPERATION_ORCHESTRATOR, op.job_id, op.to_dict())
    except Exception as exc:
        # The exception may name hosts and URLs: the job and the caller get a generic reason, the log the rest.
        log.exception("could not start the orchestration of %s job %s", op.kind, op.job_id)
        await asyncio.to_thread(abandon_operation, get_settings(), op, NOT_STARTED_REASON)
        raise StorageError(message=NOT_STARTED_MESSAGE) from exc
    return _http.accepted(operation_location(req, op))


@bp.orchestration_trigger(context_name="context")
def project_operation_orchestrator(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Run one operation job; record an unexpected failure on the job."""
    request = context.get_input()
    try:
        result = yield context.call_activity_with_retry(RUN_OPERATION_ACTIVITY, _RETRY, request)
    except Exception as exc:
        if not context.is_replaying:
            log.warning("operation %s failed: %s", request.get("jobId"), exc)
        # The exception text may hold internals: the job gets a generic reason, the log the details.
        reason = f"an internal error occurred; the service log has the details of job {request.get('jobId')}"
        yield context.call_activity(FAIL_OPERATION_ACTIVITY, {"request": request, "reason": reason})
        return {"status": "failed"}
    return dict(result)


@bp.activity_trigger(input_name="request")
def run_project_operation(request: dict) -> dict:
    """Run an import/export/deletion/load-snapshot job."""
    job = run_operation(get_settings(), OperationRequest.from_dict(request))
    return {"status": job.status}


@bp.activity_trigger(input_name="failure")
def fail_project_operation(failure: dict) -> dict:
    """Mark an operation job failed after its activity failed unexpectedly."""
    request = OperationRequest.from_dict(failure["request"])
    job = abandon_operation(get_settings(), request, str(failure.get("reason", "unknown error")))
    return {"status": job.status}
