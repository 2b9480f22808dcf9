"""Queue-triggered training: a message on ``%NER_TRAIN_REQUESTS_QUEUE%`` works like ``POST :train``.

Body: the ``:train`` JSON plus ``"projectName"``. A message that can never succeed (bad JSON, bad
field, unknown project, slot taken) is logged and published as a rejected event, then consumed; only
transient failures are raised so the queue retries them (and moves them to the poison queue at last).
"""

from __future__ import annotations

import asyncio
import logging

import azure.durable_functions as df
import azure.functions as func

from functions.activity_names import TRAINING_ORCHESTRATOR
from shared.config import get_settings
from shared.errors import AppError, StorageError
from shared.training import jobs, requests

bp = df.Blueprint()
logger = logging.getLogger(__name__)


@bp.queue_trigger(
    arg_name="msg", queue_name="%NER_TRAIN_REQUESTS_QUEUE%", connection="NER_STORAGE_CONNECTION"
)
@bp.durable_client_input(client_name="client")
async def train_from_queue(msg: func.QueueMessage, client: df.DurableOrchestrationClient) -> None:
    """Start a training job requested by a queue message."""
    settings = get_settings()
    project_name: str | None = None
    try:
        project_name, body = requests.parse_queued_request(msg.get_body())
        job = await asyncio.to_thread(requests.create_training_job, settings, project_name, body)
    except StorageError:
        raise
    except AppError as error:
        await asyncio.to_thread(requests.reject_queued_request, settings, project_name, error)
        return
    try:
        await client.start_new(
            TRAINING_ORCHESTRATOR, job.job_id, {"projectName": project_name, "jobId": job.job_id}
        )
    except Exception as exc:
        await asyncio.to_thread(
            jobs.abandon, settings, job.project_name, job.job_id, str(exc)
        )
        raise
    logger.info(
        "[project=%s job=%s phase=queued] training started from queue message %s",
        job.project_name,
        job.job_id,
        msg.id,
        extra={"project": job.project_name, "jobId": job.job_id, "phase": "queued"},
    )
