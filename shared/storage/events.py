"""Job state-change events: CloudEvents 1.0 (JSON format) messages on ``settings.events_queue``.

Every message is one structured-mode CloudEvent::

    {"specversion": "1.0", "id": "<uuid4>", "source": "/language/authoring/analyze-text",
     "type": "Microsoft.Language.CustomEntityRecognition.TrainingJobStatusChanged",
     "subject": "projects/<project>/train/jobs/<jobId>", "time": "2024-05-01T12:00:00.123456Z",
     "datacontenttype": "application/json", "data": {...}}

Event types (``EVENT_TYPES``):

- ``...TrainingJobStatusChanged``: a training job changed ``status`` (notStarted, running, cancelling,
  succeeded, failed, cancelled). Subject ``projects/{p}/train/jobs/{jobId}``.
- ``...TrainingJobProgressed``: a running job's progress changed (phase, percentComplete).
- ``...OperationJobStatusChanged``: an import/export/deletion/load-snapshot job changed ``status``.
  Subject ``projects/{p}/jobs/{kind}/{jobId}``.
- ``...DeploymentJobStatusChanged`` (deploy, delete deployment), ``...DeploymentSwapJobStatusChanged``,
  ``...DeploymentResourcesJobStatusChanged`` (assign, unassign, delete-from-resources),
  ``...ExportedModelJobStatusChanged`` (create or delete an exported model) and
  ``...ExtractionJobStatusChanged`` (runtime ``analyze-text/jobs``): the same ``data`` and subject as
  ``OperationJobStatusChanged``, typed by kind so a subscriber can filter without reading ``data.kind``.
  Each job kind names its type (:mod:`shared.jobs.kinds`).

Messages are base64-encoded text, as the Functions queue extension expects by default, so a
``queue_trigger`` function receives the JSON string.

Publishing is a notification side channel: the job row is the truth and pollers read it. A storage
failure while publishing is therefore logged and swallowed, so it can never undo or fail the state
change the caller has already written.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from azure.core.exceptions import AzureError

from shared.config import Settings
from shared.errors import StorageError
from shared.models import OperationJobRecord, TrainingJobRecord, format_datetime, utc_now
from shared.storage.clients import forget_created, queue_client, storage_call

logger = logging.getLogger(__name__)

SPEC_VERSION = "1.0"
EVENT_SOURCE = "/language/authoring/analyze-text"
_TYPE_PREFIX = "Microsoft.Language.CustomEntityRecognition."
TRAINING_JOB_STATUS_CHANGED = _TYPE_PREFIX + "TrainingJobStatusChanged"
TRAINING_JOB_PROGRESSED = _TYPE_PREFIX + "TrainingJobProgressed"
OPERATION_JOB_STATUS_CHANGED = _TYPE_PREFIX + "OperationJobStatusChanged"
DEPLOYMENT_JOB_STATUS_CHANGED = _TYPE_PREFIX + "DeploymentJobStatusChanged"
DEPLOYMENT_SWAP_JOB_STATUS_CHANGED = _TYPE_PREFIX + "DeploymentSwapJobStatusChanged"
DEPLOYMENT_RESOURCES_JOB_STATUS_CHANGED = _TYPE_PREFIX + "DeploymentResourcesJobStatusChanged"
EXPORTED_MODEL_JOB_STATUS_CHANGED = _TYPE_PREFIX + "ExportedModelJobStatusChanged"
EXTRACTION_JOB_STATUS_CHANGED = _TYPE_PREFIX + "ExtractionJobStatusChanged"
OPERATION_EVENT_TYPES = frozenset(
    {
        OPERATION_JOB_STATUS_CHANGED,
        DEPLOYMENT_JOB_STATUS_CHANGED,
        DEPLOYMENT_SWAP_JOB_STATUS_CHANGED,
        DEPLOYMENT_RESOURCES_JOB_STATUS_CHANGED,
        EXPORTED_MODEL_JOB_STATUS_CHANGED,
        EXTRACTION_JOB_STATUS_CHANGED,
    }
)
"""Status-change types of non-training jobs (same ``data``: :func:`operation_job_data`)."""
EVENT_TYPES = frozenset({TRAINING_JOB_STATUS_CHANGED, TRAINING_JOB_PROGRESSED, *OPERATION_EVENT_TYPES})

MAX_EVENT_BYTES = 45_000
"""Largest JSON event we send: a queue message holds 64 KiB, and base64 grows text by a third."""


def training_job_subject(project: str, job_id: str) -> str:
    """CloudEvents ``subject`` of a training job (its path under the authoring API)."""
    return f"projects/{project}/train/jobs/{job_id}"


def operation_job_subject(kind: str, project: str, job_id: str) -> str:
    """CloudEvents ``subject`` of an import/export/deletion/load-snapshot job."""
    return f"projects/{project}/jobs/{kind}/{job_id}"


def training_job_data(record: TrainingJobRecord) -> dict[str, Any]:
    """Event ``data`` for a training job: ids, status, phase, progress and any errors."""
    return {
        "projectName": record.project_name,
        "jobId": record.job_id,
        "modelLabel": record.model_label,
        "status": record.status,
        "phase": record.phase,
        "percentComplete": record.training_status.percent_complete,
        "createdDateTime": format_datetime(record.created),
        "lastUpdatedDateTime": format_datetime(record.last_updated),
        "errors": record.errors,
        "warningCount": len(record.warnings),
    }


def operation_job_data(record: OperationJobRecord) -> dict[str, Any]:
    """Event ``data`` for an operation job."""
    return {
        "projectName": record.project_name,
        "jobId": record.job_id,
        "kind": record.kind,
        "status": record.status,
        "lastUpdatedDateTime": format_datetime(record.last_updated),
        "errors": record.errors,
    }


def build_event(event_type: str, subject: str, data: dict[str, Any]) -> dict[str, Any]:
    """A CloudEvents 1.0 event (structured JSON form) with a fresh id and the current time.

    Raises:
        ValueError: ``event_type`` is not one of :data:`EVENT_TYPES` (a programming error).
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}; expected one of {sorted(EVENT_TYPES)}")
    return {
        "specversion": SPEC_VERSION,
        "id": str(uuid.uuid4()),
        "source": EVENT_SOURCE,
        "type": event_type,
        "subject": subject,
        "time": utc_now().isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": data,
    }


def encode_event(event: dict[str, Any]) -> str:
    """The event as JSON text that fits in a queue message (large nested data is dropped, flagged)."""
    text = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    if len(text.encode("utf-8")) <= MAX_EVENT_BYTES:
        return text
    data = event.get("data") or {}
    slim = {key: value for key, value in data.items() if not isinstance(value, (list, dict))}
    slim["dataTruncated"] = True
    return json.dumps({**event, "data": slim}, ensure_ascii=False, separators=(",", ":"))


class JobEventPublisher:
    """Sends job events to ``settings.events_queue`` (created on first use)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def publish(self, event_type: str, subject: str, data: dict[str, Any]) -> None:
        """Send one CloudEvent; a storage failure is logged, never raised (see the module docstring).

        Args:
            event_type: one of :data:`EVENT_TYPES`.
            subject: e.g. :func:`training_job_subject`.
            data: JSON-serialisable event data.

        Raises:
            ValueError: unknown ``event_type`` (a programming error, not a storage failure).
        """
        event = build_event(event_type, subject, data)
        queue = self._settings.events_queue
        try:
            client = queue_client(self._settings.storage_connection, queue)
            with storage_call(f"send event {event['type']} for {subject} to queue '{queue}'"):
                client.send_message(encode_event(event))
        except StorageError as exc:
            # The job row (already written) is the truth; a lost notification must not fail the job.
            logger.warning("event not published (%s %s): %s", event_type, subject, exc.message)
            return
        except AzureError as exc:
            # The queue vanished after we created it (QueueNotFound): recreate it on the next publish.
            forget_created(self._settings.storage_connection)
            logger.warning(
                "event not published (%s %s): %s: %s", event_type, subject, type(exc).__name__, exc
            )
            return
        logger.debug("published %s for %s (id %s)", event_type, subject, event["id"])

    def publish_training_job(
        self, record: TrainingJobRecord, event_type: str = TRAINING_JOB_STATUS_CHANGED
    ) -> None:
        """Publish a training job event built from its record."""
        self.publish(
            event_type, training_job_subject(record.project_name, record.job_id), training_job_data(record)
        )

    def publish_operation_job(
        self, record: OperationJobRecord, event_type: str = OPERATION_JOB_STATUS_CHANGED
    ) -> None:
        """Publish a status change of a non-training job (``event_type``: its kind's, one of
        :data:`OPERATION_EVENT_TYPES`) built from its record."""
        if event_type not in OPERATION_EVENT_TYPES:
            raise ValueError(f"{event_type!r} is not an operation job event type")
        self.publish(
            event_type,
            operation_job_subject(record.kind, record.project_name, record.job_id),
            operation_job_data(record),
        )
