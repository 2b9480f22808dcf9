"""Job events: CloudEvents 1.0 JSON on the events queue, base64 text as the Functions extension reads it."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from datetime import timedelta
from typing import Any

import pytest
from azure.storage.queue import QueueClient, TextBase64DecodePolicy

from devhost.azurite import free_port
from shared.config import Settings, load_settings
from shared.jobs.apply import apply_operation, create_operation
from shared.jobs.kinds import (
    DEPLOYMENT,
    DEPLOYMENT_DELETION,
    DEPLOYMENT_SWAP,
    EXPORTED_MODEL,
    EXTRACTION,
    IMPORT,
    RESOURCES_ASSIGNMENT,
    JobKind,
)
from shared.models import (
    EvaluationOptions,
    JobStatus,
    OperationJobRecord,
    TrainingJobRecord,
    parse_datetime,
    utc_now,
)
from shared.storage.events import (
    DEPLOYMENT_JOB_STATUS_CHANGED,
    DEPLOYMENT_RESOURCES_JOB_STATUS_CHANGED,
    DEPLOYMENT_SWAP_JOB_STATUS_CHANGED,
    EVENT_SOURCE,
    EXPORTED_MODEL_JOB_STATUS_CHANGED,
    EXTRACTION_JOB_STATUS_CHANGED,
    OPERATION_JOB_STATUS_CHANGED,
    TRAINING_JOB_PROGRESSED,
    TRAINING_JOB_STATUS_CHANGED,
    JobEventPublisher,
    training_job_subject,
)

pytestmark = pytest.mark.integration


def receive_all(settings: Settings, *, decode: bool = True) -> list[str]:
    client = QueueClient.from_connection_string(
        settings.storage_connection,
        settings.events_queue,
        message_decode_policy=TextBase64DecodePolicy() if decode else None,
    )
    messages = [message.content for message in client.receive_messages(messages_per_page=32, max_messages=32)]
    return messages


def make_job() -> TrainingJobRecord:
    now = utc_now()
    return TrainingJobRecord(
        project_name="proj",
        job_id="job-1",
        model_label="m1",
        training_config_version="2022-05-01",
        evaluation_options=EvaluationOptions(),
        status=JobStatus.RUNNING,
        created=now,
        last_updated=now,
        expiration=now + timedelta(days=7),
        warnings=[{"code": "Warning", "message": "w"}],
    )


def test_published_event_is_a_cloudevent_in_base64_text(settings: Settings) -> None:
    publisher = JobEventPublisher(settings)
    publisher.publish(TRAINING_JOB_STATUS_CHANGED, "projects/proj/train/jobs/job-1", {"status": "running"})
    raw = receive_all(settings, decode=False)
    assert len(raw) == 1
    event: dict[str, Any] = json.loads(base64.b64decode(raw[0]).decode("utf-8"))
    assert event["specversion"] == "1.0"
    assert uuid.UUID(event["id"]).version == 4
    assert event["source"] == EVENT_SOURCE
    assert event["type"] == TRAINING_JOB_STATUS_CHANGED
    assert event["subject"] == "projects/proj/train/jobs/job-1"
    assert event["datacontenttype"] == "application/json"
    assert event["data"] == {"status": "running"}
    sent = parse_datetime(event["time"])
    assert sent is not None and abs(utc_now() - sent) < timedelta(minutes=5)


def test_training_job_helper_and_distinct_ids(settings: Settings) -> None:
    publisher = JobEventPublisher(settings)
    job = make_job()
    publisher.publish_training_job(job)
    publisher.publish_training_job(job, TRAINING_JOB_PROGRESSED)
    events = [json.loads(content) for content in receive_all(settings)]
    assert [event["type"] for event in events] == [TRAINING_JOB_STATUS_CHANGED, TRAINING_JOB_PROGRESSED]
    assert events[0]["id"] != events[1]["id"]
    assert events[0]["subject"] == training_job_subject("proj", "job-1")
    data = events[0]["data"]
    assert data["projectName"] == "proj" and data["jobId"] == "job-1" and data["status"] == "running"
    assert data["warningCount"] == 1


def test_oversized_data_is_trimmed_to_fit_a_queue_message(settings: Settings) -> None:
    data = {"status": "failed", "errors": [{"code": "X", "message": "e" * 1000} for _ in range(100)]}
    JobEventPublisher(settings).publish(TRAINING_JOB_STATUS_CHANGED, "projects/p/train/jobs/j", data)
    events = [json.loads(content) for content in receive_all(settings)]
    assert events[0]["data"] == {"status": "failed", "dataTruncated": True}


def test_unknown_event_type_is_a_programming_error(settings: Settings) -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        JobEventPublisher(settings).publish("Something.Else", "s", {})


def test_unreachable_queue_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    account = "devstoreaccount1"
    key = base64.b64encode(b"k" * 32).decode()
    connection = (
        f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};"
        f"QueueEndpoint=http://127.0.0.1:{port}/{account};BlobEndpoint=http://127.0.0.1:{port}/{account};"
        f"TableEndpoint=http://127.0.0.1:{port}/{account};"
    )
    settings = load_settings({"NER_STORAGE_CONNECTION": connection, "LANGUAGE_API_KEYS": "k"})
    with caplog.at_level(logging.WARNING, logger="shared.storage.events"):
        JobEventPublisher(settings).publish(TRAINING_JOB_STATUS_CHANGED, "projects/p/train/jobs/j", {})
    assert any("event not published" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    ("kind", "event_type"),
    [
        (DEPLOYMENT, DEPLOYMENT_JOB_STATUS_CHANGED),
        (DEPLOYMENT_DELETION, DEPLOYMENT_JOB_STATUS_CHANGED),
        (DEPLOYMENT_SWAP, DEPLOYMENT_SWAP_JOB_STATUS_CHANGED),
        (RESOURCES_ASSIGNMENT, DEPLOYMENT_RESOURCES_JOB_STATUS_CHANGED),
        (EXPORTED_MODEL, EXPORTED_MODEL_JOB_STATUS_CHANGED),
        (EXTRACTION, EXTRACTION_JOB_STATUS_CHANGED),
        (IMPORT, OPERATION_JOB_STATUS_CHANGED),  # the earlier kinds keep the generic type
    ],
)
def test_each_job_kind_publishes_its_own_event_type(settings: Settings, kind: JobKind, event_type: str) -> None:
    # Through the job framework itself: the row is created, then moves to running; both are published.
    job = create_operation(settings, kind, "proj")
    apply_operation(settings, kind, "proj", job.job_id, lambda record: setattr(record, "status", JobStatus.RUNNING))
    events = [json.loads(content) for content in receive_all(settings)]
    assert [(e["type"], e["data"]["status"]) for e in events] == [(event_type, "notStarted"), (event_type, "running")]
    assert {e["subject"] for e in events} == {f"projects/{kind.scope('proj')}/jobs/{kind.name}/{job.job_id}"}
    assert events[0]["data"]["kind"] == kind.name and events[0]["data"]["jobId"] == job.job_id


def test_an_operation_event_needs_an_operation_type(settings: Settings) -> None:
    job = make_job()
    with pytest.raises(ValueError, match="not an operation job event type"):
        JobEventPublisher(settings).publish_operation_job(
            OperationJobRecord("import", "proj", "j", JobStatus.RUNNING, job.created, job.created, job.expiration),
            TRAINING_JOB_PROGRESSED,
        )
