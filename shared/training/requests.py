"""Training requests: the ``:train`` body and the train-requests queue message, validated into a job.

Starting the orchestration is the caller's part (``functions/``): it starts
:data:`shared.jobs.kinds.TRAINING_ORCHESTRATOR` with instance id = job id and calls
:func:`shared.training.jobs.abandon` if that fails.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from shared.config import Settings
from shared.errors import AppError, Conflict, InvalidArgument, InvalidRequest
from shared.jobs import apply, lifecycle
from shared.jobs.ids import new_job_id
from shared.jobs.status import JobStatus
from shared.models import MAX_MODELS_PER_PROJECT, TrainingJobRecord, utc_now
from shared.ner import config_versions, transfer
from shared.ner.project_file import DATASET_TEST, MIN_DOCUMENTS, parse_project_file, validate_model_label
from shared.ner.splitting import check_manual_split, parse_evaluation_options
from shared.storage.blobs import BlobStore
from shared.storage.events import TRAINING_JOB_STATUS_CHANGED, JobEventPublisher
from shared.storage.projects import ProjectStore
from shared.storage.trained_models import ModelStore

logger = logging.getLogger(__name__)

def _validate_train_body(body: Any) -> tuple[str, str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequest(
            "The request body must be a JSON object with 'modelLabel' and 'trainingConfigVersion'."
        )
    label = body.get("modelLabel")
    if not isinstance(label, str) or not label:
        raise InvalidArgument(
            "The 'modelLabel' field is required and must be a non-empty string.", target="modelLabel"
        )
    validate_model_label(label)
    version = body.get("trainingConfigVersion")
    if not isinstance(version, str) or not version:
        supported = ", ".join(["latest", *(offered.version for offered in config_versions.offered_versions())])
        raise InvalidArgument(
            f"The 'trainingConfigVersion' field is required; supported versions: {supported}.",
            target="trainingConfigVersion",
        )
    resolved = config_versions.resolve_version(version).version  # "latest" is recorded as what it means
    options = parse_evaluation_options(body.get("evaluationOptions"))
    return label, resolved, options


def check_model_quota(settings: Settings, project_name: str, label: str) -> None:
    """Raise ``Conflict`` when a new ``label`` would exceed the project's model limit."""
    models = ModelStore(settings).list(project_name)
    labels = sorted(model.label for model in models)
    if label in labels or len(labels) < MAX_MODELS_PER_PROJECT:
        return
    raise Conflict(
        f"Project '{project_name}' already has {len(labels)} trained models, the maximum of "
        f"{MAX_MODELS_PER_PROJECT}. Delete a model or retrain an existing label ({', '.join(labels)}).",
        target="modelLabel",
    )


def project_seed(project_name: str) -> int:
    """The seed of every training job of a project: stable, derived from the project name.

    Azure draws a new random split per job, which its FAQ admits makes evaluations of retrained models
    non-comparable. With one seed per project, the same documents give the same train/dev/test split and
    the same training order on every job, so two models of a project are evaluated on the same test
    documents, and retraining unchanged data reproduces the model. The seed is recorded in the job and in
    its ``split.json``.
    """
    return int.from_bytes(hashlib.sha256(project_name.encode("utf-8")).digest()[:4], "big") % 2**31


def create_training_job(settings: Settings, project_name: str, body: dict[str, Any]) -> TrainingJobRecord:
    """Validate a ``:train`` request, claim the project's training slot and write the job row.

    Args:
        settings: App settings.
        project_name: The project to train.
        body: The ``TrainingJobOptions`` JSON (``modelLabel``, ``trainingConfigVersion``,
            optional ``evaluationOptions``).

    Returns:
        The new job, ``notStarted``.

    Raises:
        InvalidArgument: a field is missing or invalid, the project has no imported assets or fewer than
            :data:`MIN_DOCUMENTS` documents.
        ProjectNotFound: no such project.
        Conflict: another job holds the project's slot, or the project has 10 models already.
    """
    transfer.configure_from_settings(settings)  # whether the transfer version is offered
    label, config_version, options = _validate_train_body(body)
    project = ProjectStore(settings).get(project_name)
    if not project.assets_blob:
        raise InvalidArgument(
            f"Project '{project_name}' has no labelled data to train on: import a project file first.",
            target="projectName",
        )
    # Too few documents (a training limit, not an import one) and a manual split without Test documents
    # are the caller's mistakes: 400 now, not a failed job later. The counts recorded at import decide;
    # a project imported before they were recorded has its assets read.
    documents, tests = project.document_count, project.test_document_count
    if documents is None or tests is None:
        assets = parse_project_file(BlobStore(settings).get_json(project.assets_blob), expected_project_name=project_name)
        documents = len(assets.documents)
        tests = sum(1 for document in assets.documents if document.dataset == DATASET_TEST)
    if documents < MIN_DOCUMENTS:
        raise InvalidArgument(
            f"Project '{project_name}' has {documents} labelled documents; training needs at least "
            f"{MIN_DOCUMENTS}. Import a project file with more documents, then train again.",
            target="assets.documents",
        )
    if options.kind == "manual":
        check_manual_split(tests)
    check_model_quota(settings, project_name, label)

    now = utc_now()
    record = TrainingJobRecord(
        project_name=project_name,
        job_id=new_job_id(now),
        model_label=label,
        training_config_version=config_version,
        evaluation_options=options,
        status=JobStatus.NOT_STARTED,
        created=now,
        last_updated=now,
        expiration=lifecycle.expiration(now, settings.job_ttl_days),
        heartbeat=now,
        seed=project_seed(project_name),
    )
    apply.create_training(settings, record)
    apply.log_job(logging.INFO, record, "training job created for model '%s' (seed %d)", label, record.seed)
    return record


def parse_queued_request(body: bytes | str) -> tuple[str, dict[str, Any]]:
    """Read a training request from the train-requests queue: the ``:train`` body plus ``projectName``.

    Raises:
        InvalidRequest: the message is not a JSON object or has no ``projectName``.
    """
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"The training request message is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidRequest("The training request message must be a JSON object.")
    project = data.get("projectName")
    if not isinstance(project, str) or not project:
        raise InvalidArgument(
            "The training request message needs a 'projectName' string.", target="projectName"
        )
    return project, {key: value for key, value in data.items() if key != "projectName"}


def reject_queued_request(settings: Settings, project_name: str | None, error: AppError) -> None:
    """Log a queue message that cannot run and publish it as a failed ``TrainingJobStatusChanged`` event.

    There is no job (nothing was created), so the subject is the project's ``train`` path.
    """
    logger.warning(
        "[project=%s] training request from the queue rejected: %s",
        project_name,
        error.message,
        extra={"project": project_name, "phase": "queued"},
    )
    data = {
        "projectName": project_name,
        "status": str(JobStatus.FAILED),
        "phase": "queued",
        "errors": [error.to_dict()],
    }
    subject = f"projects/{project_name}/train" if project_name else "train-requests"
    JobEventPublisher(settings).publish(TRAINING_JOB_STATUS_CHANGED, subject, data)
