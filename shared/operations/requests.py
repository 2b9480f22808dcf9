"""Operation jobs: the request an operation orchestration carries, creating and reading the job row.

The kinds themselves (table, partition, ``operation-location``, orchestrator) are declared in
:mod:`shared.jobs.kinds`; the row is written by :mod:`shared.jobs.apply`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.config import Settings
from shared.jobs import apply
from shared.jobs.kinds import DELETION, EXPORT, IMPORT, LOAD_SNAPSHOT, JobKind, kind_named
from shared.models import OperationJobRecord
from shared.storage.operation_jobs import OperationJobStore

__all__ = ["DELETION", "EXPORT", "IMPORT", "LOAD_SNAPSHOT", "OperationRequest", "get_operation_job", "start_job"]


@dataclass
class OperationRequest:
    """What the operation orchestration needs to run one operation (small, JSON-able)."""

    kind: str
    project_name: str
    job_id: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "projectName": self.project_name, "jobId": self.job_id, "params": self.params}

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> OperationRequest:
        return cls(
            kind=str(body["kind"]),
            project_name=str(body["projectName"]),
            job_id=str(body["jobId"]),
            params=dict(body.get("params") or {}),
        )

    @property
    def job_kind(self) -> JobKind:
        return kind_named(self.kind)


def start_job(settings: Settings, kind: JobKind, project_name: str, **extra: Any) -> OperationJobRecord:
    """Record a new ``notStarted`` operation job of ``kind`` (its orchestration is started by the caller)."""
    return apply.create_operation(settings, kind, project_name, **extra)


def get_operation_job(settings: Settings, kind: JobKind | str, project_name: str, job_id: str) -> OperationJobRecord:
    """An import/export/load-snapshot job of ``project_name``, or (kind ``deletion``) a deletion job.

    Raises:
        OperationNotFound: unknown or expired job id.
    """
    job_kind = kind_named(kind) if isinstance(kind, str) else kind
    return OperationJobStore(settings).get(job_kind.name, job_kind.scope(project_name), job_id)
