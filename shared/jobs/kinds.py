"""Job kinds: each long-running operation is one small declaration.

A kind names its table (``settings.<table>``), the partition its rows live in, the status URL clients
poll (``operation-location``, relative to ``authoring/analyze-text/projects/``), the orchestration that
runs it, whether it holds the project's training slot, and how its row renders as Azure's JSON.
Adding a kind (deployments, swaps, extraction jobs, exported models) means adding one entry here, a
runner, and its routes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.models import OperationJobRecord, TrainingJobRecord
from shared.storage import events

TRAINING_ORCHESTRATOR = "training_orchestrator"
OPERATION_ORCHESTRATOR = "project_operation_orchestrator"
GLOBAL_SCOPE = "global"
"""Deletion jobs are polled at ``projects/global/deletion-jobs/{jobId}`` (no project in the URL), so their
rows live under this pseudo project. It is also why no project may be called ``global``."""


@dataclass(frozen=True)
class JobKind:
    """What is particular to one kind of long-running job; everything else is shared."""

    name: str
    table: str
    """Settings attribute naming the job table (``jobs_table`` or ``operations_table``)."""
    location: str
    """``operation-location`` path template: ``{project}``, ``{job}`` and the job's params."""
    orchestrator: str
    holds_slot: bool = False
    """True when the job owns the project's one training slot while it is active."""
    global_scope: bool = False
    """True when rows live under :data:`GLOBAL_SCOPE` instead of the project (the URL names none)."""
    public: Callable[[Any], dict[str, Any]] = OperationJobRecord.to_public
    """Renders the job row as the status JSON clients read."""
    event_type: str = events.OPERATION_JOB_STATUS_CHANGED
    """CloudEvents ``type`` of the job's status changes (training jobs publish their own two types)."""

    def scope(self, project_name: str) -> str:
        """The pseudo project the job rows of ``project_name`` live under."""
        return GLOBAL_SCOPE if self.global_scope else project_name

    def location_path(self, project_name: str, job_id: str, params: Mapping[str, Any] | None = None) -> str:
        """The status path of a job, below ``authoring/analyze-text/projects/``."""
        return self.location.format(project=project_name, job=job_id, **(params or {}))


TRAINING = JobKind(
    "training",
    table="jobs_table",
    location="{project}/train/jobs/{job}",
    orchestrator=TRAINING_ORCHESTRATOR,
    holds_slot=True,
    public=TrainingJobRecord.to_public,
)
IMPORT = JobKind("import", "operations_table", "{project}/import/jobs/{job}", OPERATION_ORCHESTRATOR)
EXPORT = JobKind("export", "operations_table", "{project}/export/jobs/{job}", OPERATION_ORCHESTRATOR)
DELETION = JobKind(
    "deletion", "operations_table", GLOBAL_SCOPE + "/deletion-jobs/{job}", OPERATION_ORCHESTRATOR, global_scope=True
)
LOAD_SNAPSHOT = JobKind(
    "load-snapshot",
    "operations_table",
    "{project}/models/{modelLabel}/load-snapshot/jobs/{job}",
    OPERATION_ORCHESTRATOR,
)

_DEPLOYMENT_JOBS = "{project}/deployments/{deploymentName}/jobs/{job}"
_DEPLOYED = events.DEPLOYMENT_JOB_STATUS_CHANGED
DEPLOYMENT = JobKind("deployment", "operations_table", _DEPLOYMENT_JOBS, OPERATION_ORCHESTRATOR, event_type=_DEPLOYED)
DEPLOYMENT_DELETION = JobKind(
    "deployment-deletion", "operations_table", _DEPLOYMENT_JOBS, OPERATION_ORCHESTRATOR, event_type=_DEPLOYED
)
DEPLOYMENT_SWAP = JobKind(
    "deployment-swap",
    "operations_table",
    "{project}/deployments/swap/jobs/{job}",
    OPERATION_ORCHESTRATOR,
    event_type=events.DEPLOYMENT_SWAP_JOB_STATUS_CHANGED,
)
_RESOURCES = events.DEPLOYMENT_RESOURCES_JOB_STATUS_CHANGED
DEPLOYMENT_RESOURCES_DELETION = JobKind(
    "deployment-resources-deletion",
    "operations_table",
    "{project}/deployments/{deploymentName}/delete-from-resources/jobs/{job}",
    OPERATION_ORCHESTRATOR,
    event_type=_RESOURCES,
)
RESOURCES_ASSIGNMENT = JobKind(
    "resources-assignment",
    "operations_table",
    "{project}/resources/assign/jobs/{job}",
    OPERATION_ORCHESTRATOR,
    event_type=_RESOURCES,
)
RESOURCES_UNASSIGNMENT = JobKind(
    "resources-unassignment",
    "operations_table",
    "{project}/resources/unassign/jobs/{job}",
    OPERATION_ORCHESTRATOR,
    event_type=_RESOURCES,
)
_EXPORTED_MODEL_JOBS = "{project}/exported-models/{exportedModelName}/jobs/{job}"
_EXPORTED = events.EXPORTED_MODEL_JOB_STATUS_CHANGED
EXPORTED_MODEL = JobKind(
    "exported-model", "operations_table", _EXPORTED_MODEL_JOBS, OPERATION_ORCHESTRATOR, event_type=_EXPORTED
)
EXPORTED_MODEL_DELETION = JobKind(
    "exported-model-deletion", "operations_table", _EXPORTED_MODEL_JOBS, OPERATION_ORCHESTRATOR, event_type=_EXPORTED
)

EXTRACTION_ORCHESTRATOR = "extraction_orchestrator"
EXTRACTION = JobKind(
    "extraction",
    "operations_table",
    "analyze-text/jobs/{job}",  # the runtime API's: below /language/, not below the projects
    EXTRACTION_ORCHESTRATOR,
    global_scope=True,  # the runtime's URLs name no project
    event_type=events.EXTRACTION_JOB_STATUS_CHANGED,
)
"""Entity-extraction jobs of the runtime API (:mod:`shared.extraction.jobs`); their status JSON is built
from the row and the job's blobs, not by ``public``."""

KINDS: dict[str, JobKind] = {
    kind.name: kind
    for kind in (
        TRAINING,
        IMPORT,
        EXPORT,
        DELETION,
        LOAD_SNAPSHOT,
        DEPLOYMENT,
        DEPLOYMENT_DELETION,
        DEPLOYMENT_SWAP,
        DEPLOYMENT_RESOURCES_DELETION,
        RESOURCES_ASSIGNMENT,
        RESOURCES_UNASSIGNMENT,
        EXPORTED_MODEL,
        EXPORTED_MODEL_DELETION,
        EXTRACTION,
    )
}
OPERATION_KINDS = tuple(name for name, kind in KINDS.items() if kind.orchestrator == OPERATION_ORCHESTRATOR)


def kind_named(name: str) -> JobKind:
    """The declared kind called ``name``.

    Raises:
        ValueError: no such kind.
    """
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown job kind {name!r}") from None
