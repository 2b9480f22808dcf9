"""The runtime API's entity-extraction jobs: routes, orchestration and activities.

- ``POST analyze-text/jobs``: validate (limits, tasks, deployments), record the job, start its
  orchestration, 202 + ``Operation-Location``.
- ``GET analyze-text/jobs/{jobId}``: ``AnalyzeTextJobState``; ``top``/``skip`` page over the documents
  (``nextLink`` to the next page); ``Retry-After: 1`` while the job is not finished, which azure-core
  based pollers honour instead of their 5 s (5.x) or 30 s (6.x) default interval.
- ``POST analyze-text/jobs/{jobId}:cancel``: 202 + ``Operation-Location`` of the job.

The orchestration (instance id = job id): start (pin models, plan batches) -> predict every (task,
batch) in parallel -> finish. An activity that still fails after its retries ends the job ``failed``
with a generic reason (the details are logged).
"""

import asyncio
import logging
from collections.abc import Generator
from typing import Any
from urllib.parse import urlencode, urlsplit

import azure.durable_functions as df
import azure.functions as func

from functions import _http
from shared.config import Settings, get_settings
from shared.errors import InvalidArgument
from shared.extraction import jobs
from shared.jobs.kinds import EXTRACTION_ORCHESTRATOR

log = logging.getLogger(__name__)

bp = df.Blueprint()

RUNTIME_ROUTE = "analyze-text/jobs"
RETRY_AFTER_SECONDS = "1"
START_ACTIVITY = "extraction_start"
PREDICT_ACTIVITY = "extraction_predict"
FINISH_ACTIVITY = "extraction_finish"
FAIL_ACTIVITY = "extraction_fail"
_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=3)


# ----------------------------------------------------------------------------------------------- routes


def resolve_deployment(settings: Settings, project_name: str, deployment_name: str) -> jobs.Deployed:
    """The model version a deployment serves (the deployments service's resolver)."""
    from shared.service.deployments import resolve_deployment as resolve  # lands with the deployments routes

    return resolve(settings, project_name, deployment_name)  # type: ignore[no-any-return]


def job_url(req: func.HttpRequest, job_id: str, **paging: int) -> str:
    """Absolute URL of a job (or of one page of it) with the request's api-version."""
    parts = urlsplit(req.url)
    query = {"api-version": _http.api_version(req), **{key: str(value) for key, value in paging.items()}}
    return f"{parts.scheme}://{parts.netloc}/{_http.ROUTE_PREFIX}/{RUNTIME_ROUTE}/{job_id}?{urlencode(query)}"


def _paging(req: func.HttpRequest) -> tuple[int | None, int]:
    """``top`` (at least 1) and ``skip`` (at least 0); Azure's clients may spell them ``$top``/``$skip``."""
    values: dict[str, int | None] = {}
    for name, minimum in (("top", 1), ("skip", 0)):
        raw = req.params.get(name, req.params.get(f"${name}"))
        if raw is None or raw == "":
            values[name] = None
            continue
        if not raw.isdigit() or int(raw) < minimum:
            raise InvalidArgument(f"'{name}' must be a whole number of at least {minimum}, got '{raw[:20]}'.", target=name)
        values[name] = int(raw)
    return values["top"], values["skip"] or 0


@bp.route(route=RUNTIME_ROUTE, methods=["POST"])
@bp.durable_client_input(client_name="client")
@_http.api_handler
async def submit_analyze_text_job(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = _http.read_json(req)
    settings = get_settings()
    job_id = await asyncio.to_thread(jobs.submit_job, settings, body, resolve_deployment)
    try:
        await client.start_new(EXTRACTION_ORCHESTRATOR, job_id, {"jobId": job_id})
    except Exception:
        await asyncio.to_thread(jobs.abandon_job, settings, job_id, "the orchestration could not be started")
        raise
    return func.HttpResponse(status_code=202, headers={"Operation-Location": job_url(req, job_id)})


@bp.route(route=RUNTIME_ROUTE + "/{jobId}", methods=["GET"])
@_http.api_handler
def get_analyze_text_job(req: func.HttpRequest) -> func.HttpResponse:
    job_id = _http.route(req, "jobId")
    top, skip = _paging(req)
    state = jobs.read_job(
        get_settings(), job_id, top=top, skip=skip, next_link=lambda t, s: job_url(req, job_id, top=t, skip=s)
    )
    headers = {} if state["status"] in jobs.FINISHED else {"Retry-After": RETRY_AFTER_SECONDS}
    return _http.json_response(state, headers=headers)


@bp.route(route=RUNTIME_ROUTE + "/{jobId}:cancel", methods=["POST"])
@_http.api_handler
def cancel_analyze_text_job(req: func.HttpRequest) -> func.HttpResponse:
    job_id = _http.route(req, "jobId")
    jobs.cancel_job(get_settings(), job_id)
    return func.HttpResponse(status_code=202, headers={"Operation-Location": job_url(req, job_id)})


# -------------------------------------------------------------------------------------- orchestration


@bp.orchestration_trigger(context_name="context", orchestration=EXTRACTION_ORCHESTRATOR)
def extraction_orchestrator(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Run one extraction job: start -> predict (fan-out over tasks x batches) -> finish."""
    job_id = (context.get_input() or {}).get("jobId") or context.instance_id
    try:
        plan = yield context.call_activity_with_retry(START_ACTIVITY, _RETRY, {"jobId": job_id})
        work = jobs.BatchPlan.from_dict(plan).work()
        if work:
            yield context.task_all(
                [context.call_activity_with_retry(PREDICT_ACTIVITY, _RETRY, {"jobId": job_id, **item}) for item in work]
            )
        status = yield context.call_activity_with_retry(FINISH_ACTIVITY, _RETRY, {"jobId": job_id, "plan": plan})
    except Exception as exc:
        if not context.is_replaying:
            log.warning("[job=%s phase=failed] extraction orchestration failed: %s", job_id, exc)
        status = yield context.call_activity(FAIL_ACTIVITY, {"jobId": job_id})
    return {"status": status}


@bp.activity_trigger(input_name="payload", activity=START_ACTIVITY)
def extraction_start(payload: dict) -> dict:
    settings = get_settings()
    plan = jobs.start_job(
        settings,
        payload["jobId"],
        resolve_deployment,
        max_documents=settings.extraction_batch_documents,
        max_characters=settings.extraction_batch_characters,
    )
    return plan.to_dict()


@bp.activity_trigger(input_name="payload", activity=PREDICT_ACTIVITY)
def extraction_predict(payload: dict) -> int:
    settings = get_settings()
    return jobs.predict_batch(settings, payload["jobId"], payload, cache_size=settings.model_cache_size)


@bp.activity_trigger(input_name="payload", activity=FINISH_ACTIVITY)
def extraction_finish(payload: dict) -> str:
    return jobs.finish_job(get_settings(), payload["jobId"], jobs.BatchPlan.from_dict(payload["plan"]))


@bp.activity_trigger(input_name="payload", activity=FAIL_ACTIVITY)
def extraction_fail(payload: dict) -> str:
    return jobs.abandon_job(get_settings(), payload["jobId"], "an activity failed after its retries")
