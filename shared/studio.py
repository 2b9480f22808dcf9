"""Read-only use cases of the studio page that the authoring API does not cover.

* A test document's text: the evaluation results carry offsets only, so the text is read from the
  project's input container. Only documents in the model's test set can be read this way.
* A training job's phase and per-chunk history (step, loss, dev F1), for the live view and its curve;
  Azure's job JSON has no place for them.
* The training side of a model's split (documents and labels per entity type), read from what the
  training job kept: the model's data snapshot minus its test set. (An ``:export`` job per page view
  would do the same work in the wrong place and fill the job table.)
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from shared.config import Settings
from shared.errors import InvalidArgument, NotFound
from shared.ner.project_file import parse_project_file
from shared.operations.exports import snapshot_project_file
from shared.service.projects import get_project, get_training_job
from shared.service.trained_models import get_model, list_evaluation_results
from shared.storage.clients import blob_container
from shared.storage.documents import read_document

STRING_INDEX_TYPE = "Utf16CodeUnit"


def _tested_locations(settings: Settings, project_name: str, model_label: str) -> set[str]:
    return {str(item.get("location")) for item in list_evaluation_results(
        settings, project_name, model_label, string_index_type=STRING_INDEX_TYPE
    )}  # fmt: skip


def evaluated_document_text(settings: Settings, project_name: str, model_label: str, location: str | None) -> str:
    """The text of ``location``, a test document of ``model_label``.

    Raises:
        InvalidArgument: ``location`` missing; NotFound: not a test document of the model;
        ProjectNotFound / NotFound (model); InvalidArgument from the reader (document gone or unusable).
    """
    if not location:
        raise InvalidArgument(message="The 'location' query parameter is required.", target="location")
    get_model(settings, project_name, model_label)
    if location not in _tested_locations(settings, project_name, model_label):
        raise NotFound(
            message=f"'{location[:200]}' is not a test document of model '{model_label}'.", target="location"
        )
    container = get_project(settings, project_name).storage_input_container_name
    return read_document(blob_container(settings.storage_connection, container, create=False), location)


def training_progress(settings: Settings, project_name: str, job_id: str) -> dict[str, Any]:
    """``{"phase", "history"}`` of a training job (history: ``[{"step", "loss", "devF1"}, ...]``).

    Raises:
        ProjectNotFound / OperationNotFound.
    """
    record = get_training_job(settings, project_name, job_id)
    history: list[dict[str, Any]] = list(getattr(record, "history", None) or [])
    return {"jobId": record.job_id, "phase": record.phase, "history": history}


def training_side(settings: Settings, project_name: str, model_label: str) -> dict[str, Any]:
    """``{"trainingDocuments", "trainingEntities": {category: labels}}`` of a trained model.

    The documents of the model's snapshot (the project file as trained) that are not in its test set:
    the training documents of the effective split, the dev set included.

    Raises:
        ProjectNotFound / NotFound (model).
    """
    get_model(settings, project_name, model_label)
    tested = _tested_locations(settings, project_name, model_label)
    snapshot = parse_project_file(snapshot_project_file(settings, project_name, model_label))
    trained = [document for document in snapshot.documents if document.location not in tested]
    entities = Counter(label.category for document in trained for label in document.labels())
    return {"trainingDocuments": len(trained), "trainingEntities": dict(sorted(entities.items()))}
