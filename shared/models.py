"""Domain records shared by the stores, the services and the HTTP layer.

Times are timezone-aware UTC ``datetime`` objects; ``to_public()`` renders Azure's wire JSON
(2023-04-01 field names) so the HTTP layer never builds these bodies by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from shared.jobs.status import TERMINAL, JobStatus

PROJECT_KIND = "CustomEntityRecognition"
MAX_MODELS_PER_PROJECT = 10
NO_EXPIRATION_DATE = date(2099, 12, 31)
"""Self-hosted training configs and models do not expire, but Azure's ``modelExpirationDate`` fields are
required: both the config-versions list and every trained model report this far date."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_datetime(value: datetime | None) -> str | None:
    """ISO 8601 with a ``Z`` suffix, as Azure writes it."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _drop_none(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value is not None}


@dataclass
class EvaluationOptions:
    """How a training job splits the project's documents into training and test sets."""

    kind: str = "percentage"  # "percentage" | "manual"
    training_split_percentage: int = 80
    testing_split_percentage: int = 20

    def to_public(self) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": self.kind}
        if self.kind == "percentage":
            body["trainingSplitPercentage"] = self.training_split_percentage
            body["testingSplitPercentage"] = self.testing_split_percentage
        return body

    @classmethod
    def from_public(cls, body: dict[str, Any]) -> EvaluationOptions:
        """Trusting constructor for stored values; request validation lives in the service layer."""
        return cls(
            kind=body.get("kind", "percentage"),
            training_split_percentage=int(body.get("trainingSplitPercentage", 80)),
            testing_split_percentage=int(body.get("testingSplitPercentage", 20)),
        )


@dataclass
class ProjectRecord:
    """A project's metadata row. Its labelled assets live in a blob (see ``assets_blob``)."""

    project_name: str
    storage_input_container_name: str
    language: str
    created: datetime
    last_modified: datetime
    project_kind: str = PROJECT_KIND
    multilingual: bool = False
    description: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    last_trained: datetime | None = None
    last_deployed: datetime | None = None
    assets_blob: str | None = None
    """Blob (in the app container) holding the imported project file, or None before any import."""
    test_document_count: int | None = None
    """Documents marked ``Test`` in the imported assets, so ``:train`` can check a manual split without
    reading the assets; None before an import (or on rows written before it was recorded)."""
    document_count: int | None = None
    """Documents in the imported assets, so ``:train`` can check the training minimum without reading
    them; None before an import (or on rows written before it was recorded)."""
    running_job_id: str | None = None
    """The training slot: id of the job that holds it, or None. Claimed with an ETag-conditional write."""
    etag: str | None = None

    def to_public(self) -> dict[str, Any]:
        return _drop_none(
            {
                "projectName": self.project_name,
                "projectKind": self.project_kind,
                "storageInputContainerName": self.storage_input_container_name,
                "settings": self.settings,
                "multilingual": self.multilingual,
                "description": self.description,
                "language": self.language,
                "createdDateTime": format_datetime(self.created),
                "lastModifiedDateTime": format_datetime(self.last_modified),
                "lastTrainedDateTime": format_datetime(self.last_trained),
                "lastDeployedDateTime": format_datetime(self.last_deployed),
            }
        )


@dataclass
class SubJobState:
    """``trainingStatus`` / ``evaluationStatus`` of a training job."""

    status: str = JobStatus.NOT_STARTED
    percent_complete: int = 0
    start: datetime | None = None
    end: datetime | None = None

    def to_public(self) -> dict[str, Any]:
        return _drop_none(
            {
                "percentComplete": self.percent_complete,
                "startDateTime": format_datetime(self.start),
                "endDateTime": format_datetime(self.end),
                "status": self.status,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_public()

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> SubJobState:
        return cls(
            status=body.get("status", JobStatus.NOT_STARTED),
            percent_complete=int(body.get("percentComplete", 0)),
            start=parse_datetime(body.get("startDateTime")),
            end=parse_datetime(body.get("endDateTime")),
        )


@dataclass
class TrainingJobRecord:
    """One training job (PartitionKey = project, RowKey = job id). Expires ``job_ttl_days`` after creation."""

    project_name: str
    job_id: str
    model_label: str
    training_config_version: str
    evaluation_options: EvaluationOptions
    status: str
    created: datetime
    last_updated: datetime
    expiration: datetime
    training_status: SubJobState = field(default_factory=SubJobState)
    evaluation_status: SubJobState = field(default_factory=SubJobState)
    estimated_end: datetime | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)
    """Azure ``{code, message}`` items (a ``target`` may name the document)."""
    errors: list[dict[str, Any]] = field(default_factory=list)
    """Azure ``Error`` objects saying what to fix."""
    phase: str = "queued"
    """Internal phase for logs and custom status: queued, splitting, training, evaluating, registering, done."""
    history: list[dict[str, Any]] = field(default_factory=list)
    """Per training chunk ``{"step", "loss", "devF1"}`` (devF1 None before the first dev evaluation), for
    the studio's curve; not part of Azure's job JSON."""
    heartbeat: datetime | None = None
    """Last sign of life from the orchestration; the watchdog fails running jobs whose heartbeat stopped."""
    seed: int = 0
    etag: str | None = None

    def to_public(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "modelLabel": self.model_label,
            "trainingConfigVersion": self.training_config_version,
            "trainingStatus": self.training_status.to_public(),
            "evaluationStatus": self.evaluation_status.to_public(),
        }
        if self.estimated_end is not None and self.status not in TERMINAL:
            result["estimatedEndDateTime"] = format_datetime(self.estimated_end)
        return {
            "result": result,
            "jobId": self.job_id,
            "createdDateTime": format_datetime(self.created),
            "lastUpdatedDateTime": format_datetime(self.last_updated),
            "expirationDateTime": format_datetime(self.expiration),
            "status": self.status,
            "warnings": self.warnings,
            "errors": self.errors,
        }


@dataclass
class OperationJobRecord:
    """A long-running operation other than training: import, export, project deletion, load-snapshot."""

    kind: str  # "import" | "export" | "deletion" | "load-snapshot"
    project_name: str
    job_id: str
    status: str
    created: datetime
    last_updated: datetime
    expiration: datetime
    warnings: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    result_url: str | None = None
    """Export only: where the exported project file can be downloaded."""
    model_label: str | None = None
    """Load-snapshot only: the model whose snapshot is loaded."""
    subject_name: str | None = None
    """The deployment or exported model the job's status URL names (its jobs are polled below that name)."""
    etag: str | None = None

    def to_public(self) -> dict[str, Any]:
        return _drop_none(
            {
                "jobId": self.job_id,
                "createdDateTime": format_datetime(self.created),
                "lastUpdatedDateTime": format_datetime(self.last_updated),
                "expirationDateTime": format_datetime(self.expiration),
                "status": self.status,
                "warnings": self.warnings,
                "errors": self.errors,
                "resultUrl": self.result_url,
            }
        )


@dataclass
class TrainedModelRecord:
    """A model produced by a successful training job (PartitionKey = project, RowKey = label)."""

    project_name: str
    label: str
    model_id: str
    job_id: str
    last_trained: datetime
    last_training_duration_seconds: int
    model_expiration_date: date
    training_config_version: str
    evaluation_options: EvaluationOptions
    model_blob: str
    """spaCy pipeline bytes (``nlp.to_bytes()``) in the app container."""
    evaluation_summary_blob: str
    """Azure ``EvaluationSummary`` JSON."""
    evaluation_documents_blob: str
    """JSON list of per-document ``DocumentEvaluationResult`` items (test documents only)."""
    snapshot_blob: str
    """The project file as trained (assets snapshot), for ``:load-snapshot`` and the recorded split."""
    has_snapshot: bool = True
    etag: str | None = None

    def to_public(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "modelId": self.model_id,
            "lastTrainedDateTime": format_datetime(self.last_trained),
            "lastTrainingDurationInSeconds": self.last_training_duration_seconds,
            "modelExpirationDate": self.model_expiration_date.isoformat(),
            "modelTrainingConfigVersion": self.training_config_version,
            "hasSnapshot": self.has_snapshot,
        }
