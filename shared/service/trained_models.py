"""Trained-model use cases: list, get, delete, evaluation summary and per-document evaluation results.

Models are written by the training pipeline (``TrainedModelRecord`` + blobs); this module only reads and
deletes them. Training config versions live here too, as they describe what a model is trained with.
"""

from __future__ import annotations

import logging
from typing import Any

from shared.config import Settings
from shared.errors import NotFound
from shared.jobs.workspace import calibration_blob
from shared.models import NO_EXPIRATION_DATE, TrainedModelRecord
from shared.ner import config_versions, transfer
from shared.service.deployments import check_model_not_deployed
from shared.service.projects import check_string_index_type
from shared.storage.blobs import BlobStore
from shared.storage.projects import ProjectStore
from shared.storage.trained_models import ModelStore

log = logging.getLogger(__name__)

TRAINING_CONFIG_EXPIRATION = NO_EXPIRATION_DATE


def training_config_versions(settings: Settings | None = None) -> list[dict[str, Any]]:
    """``global/training-config-versions`` items: every version offered now (``shared/ner/config_versions``).

    With ``settings``, the transfer base they name is checked first, so its version is listed only when
    it is usable.
    """
    if settings is not None:
        transfer.configure_from_settings(settings)
    return [
        {
            "trainingConfigVersion": version.version,
            "modelExpirationDate": TRAINING_CONFIG_EXPIRATION.isoformat(),
        }
        for version in config_versions.offered_versions()
    ]


def list_models(settings: Settings, project_name: str) -> list[TrainedModelRecord]:
    """The project's trained models ordered by label. Raises ProjectNotFound."""
    ProjectStore(settings).get(project_name)
    return sorted(ModelStore(settings).list(project_name), key=lambda model: model.label)


def get_model(settings: Settings, project_name: str, label: str) -> TrainedModelRecord:
    """One trained model. Raises ProjectNotFound or NotFound (naming the model)."""
    ProjectStore(settings).get(project_name)
    return ModelStore(settings).get(project_name, label)


def delete_model(settings: Settings, project_name: str, label: str) -> None:
    """Delete a trained model and its blobs (model, evaluation, snapshot, confidence calibration).

    Raises:
        ProjectNotFound / NotFound; Conflict naming the deployments when the model is deployed.
    """
    model = get_model(settings, project_name, label)
    check_model_not_deployed(settings, project_name, label)
    blobs = BlobStore(settings)
    names = (model.model_blob, model.evaluation_summary_blob, model.evaluation_documents_blob, model.snapshot_blob)
    for name in (*names, calibration_blob(model.model_blob)):
        try:
            blobs.delete(name)
        except NotFound:
            pass
    ModelStore(settings).delete(project_name, label)
    log.info("model %s of project %s deleted", label, project_name)


def get_evaluation_summary(settings: Settings, project_name: str, label: str) -> dict[str, Any]:
    """The model's Azure ``EvaluationSummary`` JSON. Raises ProjectNotFound / NotFound."""
    model = get_model(settings, project_name, label)
    summary: dict[str, Any] = BlobStore(settings).get_json(model.evaluation_summary_blob)
    return summary


def list_evaluation_results(
    settings: Settings, project_name: str, label: str, *, string_index_type: str | None
) -> list[dict[str, Any]]:
    """Per-document evaluation results (test documents only), in Azure's ``DocumentEvaluationResult`` shape.

    Raises:
        InvalidArgument: ``stringIndexType`` missing or not ``Utf16CodeUnit``; ProjectNotFound / NotFound.
    """
    check_string_index_type(string_index_type)
    model = get_model(settings, project_name, label)
    documents: list[dict[str, Any]] = BlobStore(settings).get_json(model.evaluation_documents_blob)
    return documents
