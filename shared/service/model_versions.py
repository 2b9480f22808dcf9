"""Model versions: what deployments and exported models pin, and when a version's blobs may go.

Training writes every model version once, under its own folder ``models/{project}/{label}/{jobId}/``, and
points the label's model row at it. Retraining the label writes a new folder and repoints the row, so a
deployment or an export that recorded the old folder keeps exactly the bytes it was made from.
"""

from __future__ import annotations

from shared.config import Settings
from shared.errors import ErrorDetail, InvalidArgument, NotFound
from shared.models import TrainedModelRecord
from shared.storage.blobs import BlobStore
from shared.storage.deployments import DeploymentStore
from shared.storage.trained_models import ModelStore


def version_prefix(model_blob: str) -> str:
    """The folder of one model version (``models/{project}/{label}/{jobId}/``) from its model blob."""
    return model_blob.rsplit("/", 1)[0] + "/"


def require_trained_model(settings: Settings, project_name: str, label: object, purpose: str) -> TrainedModelRecord:
    """The label's current model version, for a request whose ``trainedModelLabel`` is ``label``.

    Args:
        purpose: what the caller does with it ("deployed", "exported"), for the message.

    Raises:
        InvalidArgument: naming ``trainedModelLabel`` when it is missing or has no successfully trained model.
    """
    if not isinstance(label, str) or not label.strip():
        raise InvalidArgument(
            message=f"'trainedModelLabel' is required: the label of a successfully trained model to be {purpose}.",
            target="trainedModelLabel",
        )
    try:
        return ModelStore(settings).get(project_name, label)
    except NotFound:
        raise InvalidArgument(
            message=(
                f"Project '{project_name}' has no successfully trained model labelled '{label}'; only a "
                f"successfully trained model can be {purpose}."
            ),
            target="trainedModelLabel",
            details=[ErrorDetail("InvalidParameterValue", label, "trainedModelLabel")],
        ) from None


def release_model_version(settings: Settings, project_name: str, model_blob: str) -> int:
    """Delete a model version's folder once nothing needs it: not the label's current model, no deployment.

    Returns:
        How many blobs were deleted (0 when the version is still needed).
    """
    prefix = version_prefix(model_blob)
    if not prefix.startswith(f"models/{project_name}/"):
        return 0  # not a per-version folder written by training: never delete outside it
    if any(d.model_blob == model_blob for d in DeploymentStore(settings).list(project_name)):
        return 0
    if any(model.model_blob == model_blob for model in ModelStore(settings).list(project_name)):
        return 0
    return BlobStore(settings).delete_prefix(prefix)
