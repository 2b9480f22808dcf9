"""Timer: purge expired training and extraction jobs (rows, Durable instance history, blobs) and run the watchdog."""

from __future__ import annotations

import asyncio
import logging

import azure.durable_functions as df
import azure.functions as func

from shared.config import get_settings
from shared.extraction import jobs as extraction_jobs
from shared.jobs import housekeeping

bp = df.Blueprint()
logger = logging.getLogger(__name__)


@bp.timer_trigger(arg_name="timer", schedule="%NER_PURGE_SCHEDULE%", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def purge_expired_jobs(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Purge expired jobs and their instances; fail and terminate jobs whose heartbeat stopped."""
    if timer.past_due:
        logger.info("purge timer is past due; running now")
    settings = get_settings()

    # Storage calls are blocking; keep them off the worker's single event loop.
    stale = await asyncio.to_thread(housekeeping.fail_stale_jobs, settings)
    for key in stale:
        try:
            await client.terminate(
                key.instance_id, "The job stopped responding and was failed by the watchdog."
            )
        except Exception:  # noqa: BLE001 - the instance may be gone already; the row is what matters
            logger.warning("could not terminate instance %s of a stale job", key.instance_id, exc_info=True)

    expired = await asyncio.to_thread(housekeeping.find_expired_jobs, settings)
    for key in expired:
        await client.purge_instance_history(key.instance_id)
        await asyncio.to_thread(housekeeping.forget_job, settings, key)

    # Extraction jobs (runtime API): instance history first, then blobs and row, as above.
    expired_extractions = await asyncio.to_thread(extraction_jobs.find_expired, settings)
    for job_id in expired_extractions:
        await client.purge_instance_history(job_id)
        await asyncio.to_thread(extraction_jobs.forget_job, settings, job_id)

    orphans = await asyncio.to_thread(housekeeping.purge_orphan_scratch, settings)
    logger.info(
        "housekeeping: %d stale jobs failed, %d expired jobs and %d expired extraction jobs purged, "
        "%d orphaned scratch blobs deleted",
        len(stale),
        len(expired),
        len(expired_extractions),
        orphans,
    )
