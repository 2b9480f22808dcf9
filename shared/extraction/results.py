"""The job status document of ``GET /language/analyze-text/jobs/{jobId}`` (``AnalyzeTextJobState``).

Statuses. A task is ``notStarted``, ``running``, ``succeeded``, ``failed`` or ``cancelled``; the job's
status follows from its tasks (:func:`job_status`). A job ends ``succeeded`` when at least one task
succeeded, with problems of single documents in ``results.errors`` and failed tasks listed in the job's
``errors``, or ``failed`` when every task failed; it never ends ``partiallyCompleted``. Microsoft's
``azure-ai-textanalytics`` 5.x poller stops on any of those, but the 6.x and azure-core pollers stop only
on ``succeeded``/``failed``/``canceled``, so ``partiallyCompleted`` would leave them polling forever.

Failed tasks. Their item has no ``results``; the job's ``errors`` holds one error per failed task with
``target`` ``#/tasks/items/{i}`` (``i`` = the item's position in ``tasks.items``), which is how
``azure-ai-textanalytics`` 5.x finds the error of a task without results and reports it on every
document of that task.

Paging. ``top``/``skip`` select a window of the request's documents (input order); every task item of the
page holds the ``documents`` and ``errors`` entries of those documents, and ``nextLink`` points at the
next window (the 5.x client follows it and merges pages by document id). Without ``top`` a page holds
:data:`DEFAULT_PAGE_DOCUMENTS` documents, so a job of Azure's maximum of 25 documents comes in two pages
(Azure pages job results too; the number is not documented) and clients' paging is exercised.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.extraction.request import CUSTOM_ENTITY_RECOGNITION
from shared.jobs.status import TERMINAL, JobStatus
from shared.models import format_datetime

NOT_STARTED = JobStatus.NOT_STARTED.value
RUNNING = JobStatus.RUNNING.value
SUCCEEDED = JobStatus.SUCCEEDED.value
FAILED = JobStatus.FAILED.value
CANCELLING = JobStatus.CANCELLING.value
CANCELLED = JobStatus.CANCELLED.value

DEFAULT_PAGE_DOCUMENTS = 20


def iso(moment: datetime) -> str:
    """Azure's date-time format (UTC, ``Z``)."""
    return format_datetime(moment) or ""


@dataclass
class TaskOutcome:
    """The state of one task of a job, with every document's result so far (input order).

    ``error`` is the task's own error (Azure's ``Error``: code, message) when it failed as a whole.
    """

    index: int
    kind: str
    task_name: str | None
    status: str
    last_update: datetime
    project_name: str | None = None
    deployment_name: str | None = None
    documents: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the job's stored results (:meth:`from_dict` reads it back)."""
        return {
            "index": self.index,
            "kind": self.kind,
            "taskName": self.task_name,
            "status": self.status,
            "lastUpdate": iso(self.last_update),
            "projectName": self.project_name,
            "deploymentName": self.deployment_name,
            "documents": self.documents,
            "errors": self.errors,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskOutcome:
        return cls(
            index=int(data["index"]),
            kind=str(data["kind"]),
            task_name=data.get("taskName"),
            status=str(data["status"]),
            last_update=datetime.fromisoformat(data["lastUpdate"]),
            project_name=data.get("projectName"),
            deployment_name=data.get("deploymentName"),
            documents=list(data.get("documents") or []),
            errors=list(data.get("errors") or []),
            error=data.get("error"),
        )


def job_status(task_statuses: Sequence[str], *, cancel_requested: bool = False) -> str:
    """The job's status from its tasks' statuses.

    A cancel request makes an unfinished job ``cancelling`` and, once nothing runs, ``cancelled``.
    """
    if not task_statuses:
        return NOT_STARTED
    finished = all(status in TERMINAL for status in task_statuses)
    if cancel_requested:
        return CANCELLED if finished or RUNNING not in task_statuses else CANCELLING
    if finished:
        return FAILED if all(status == FAILED for status in task_statuses) else SUCCEEDED
    if all(status == NOT_STARTED for status in task_statuses):
        return NOT_STARTED
    return RUNNING


def tasks_counters(outcomes: Sequence[TaskOutcome]) -> dict[str, int]:
    statuses = [outcome.status for outcome in outcomes]
    return {
        "completed": statuses.count(SUCCEEDED),
        "failed": statuses.count(FAILED),
        "inProgress": statuses.count(RUNNING) + statuses.count(NOT_STARTED),
        "total": len(statuses),
    }


def _item(outcome: TaskOutcome, window: set[str] | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "kind": f"{outcome.kind}LROResults",
        "lastUpdateDateTime": iso(outcome.last_update),
        "status": outcome.status,
    }
    if outcome.task_name is not None:
        item["taskName"] = outcome.task_name
    if outcome.status == FAILED or outcome.kind != CUSTOM_ENTITY_RECOGNITION:
        return item  # no results: the job's errors name this item
    item["results"] = {
        "projectName": outcome.project_name,
        "deploymentName": outcome.deployment_name,
        "documents": [doc for doc in outcome.documents if window is None or doc["id"] in window],
        "errors": [err for err in outcome.errors if window is None or err["id"] in window],
    }
    return item


def job_state(
    *,
    job_id: str,
    created: datetime,
    last_updated: datetime,
    expires: datetime | None,
    status: str,
    display_name: str | None,
    document_ids: Sequence[str],
    outcomes: Sequence[TaskOutcome],
    top: int | None = None,
    skip: int = 0,
    next_link: Callable[[int, int], str] | None = None,
    job_errors: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """``AnalyzeTextJobState`` for one page of documents.

    Args:
        document_ids: The request's document ids in input order (what ``top``/``skip`` page over).
        outcomes: Every task, in request order.
        top, skip: The page; ``top`` None means :data:`DEFAULT_PAGE_DOCUMENTS`.
        next_link: Builds the absolute URL of the page ``(top, skip)``; without it no ``nextLink``.
        job_errors: Job-level errors besides those of failed tasks (e.g. why the job failed).
    """
    ordered = sorted(outcomes, key=lambda outcome: outcome.index)
    size = DEFAULT_PAGE_DOCUMENTS if top is None else top
    page_ids = list(document_ids[skip : skip + size])
    window = set(page_ids)
    errors = list(job_errors)
    for position, outcome in enumerate(ordered):
        if outcome.status == FAILED and outcome.error is not None:
            errors.append({**outcome.error, "target": f"#/tasks/items/{position}"})
    body: dict[str, Any] = {
        "jobId": job_id,
        "createdDateTime": iso(created),
        "lastUpdatedDateTime": iso(last_updated),
        "status": status,
        "errors": errors,
        "tasks": {**tasks_counters(ordered), "items": [_item(outcome, window) for outcome in ordered]},
    }
    if display_name is not None:
        body["displayName"] = display_name
    if expires is not None:
        body["expirationDateTime"] = iso(expires)
    if next_link is not None and skip + size < len(document_ids) and size > 0:
        body["nextLink"] = next_link(size, skip + size)
    return body
