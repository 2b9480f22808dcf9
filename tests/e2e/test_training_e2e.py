"""Real (small) training runs through the API on the local host: success with a useful model, job
events on the events queue, queue-triggered training, and cancelling a job while it trains.

Budgets are tiny (300 steps, 5 s chunks): on the 60-document sample that reaches a micro F1 around
0.95; the assertion only asks for a clearly non-trivial 0.5.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient

from devhost.azurite import Azurite
from tests.e2e.conftest import (
    Api,
    HostNames,
    HostProcess,
    assert_error,
    assert_operation_location,
    eventually,
    imported_sample,
    queue_client,
    train,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

TRAINING_TIMEOUT = 600.0
"""Upper bound for a tiny training run on a loaded 2-core machine; not a performance assertion."""
CANCEL_TIMEOUT = 60.0
MIN_MICRO_F1 = 0.5
DOCUMENTS = 60
ENTITY_TYPES = {"Vendor", "Product", "Quantity", "DeliveryDate", "DeliveryCity"}


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _utf16_slice(text: str, offset: int, length: int) -> str:
    data = text.encode("utf-16-le")
    return data[2 * offset : 2 * (offset + length)].decode("utf-16-le")


EXTRA_TEST_DOCUMENTS = ("po_002.txt", "po_007.txt", "po_017.txt")
"""Sample documents with an emoji (outside the BMP) before their labels, added to the test set: the
sample's own Test documents have none, and they are where UTF-16 and Python offsets differ."""


def _more_tests(project_file: dict[str, Any]) -> None:
    for document in project_file["assets"]["documents"]:
        if document["location"] in EXTRA_TEST_DOCUMENTS:
            document["dataset"] = "Test"


@pytest.fixture(scope="module")
def names() -> HostNames:
    return HostNames()


@pytest.fixture(scope="module")
def host(host_factory: Callable[..., HostProcess], names: HostNames) -> HostProcess:
    return host_factory(
        names, NER_TRAIN_MAX_STEPS="300", NER_TRAIN_EVAL_FREQUENCY="50", NER_TRAIN_CHUNK_SECONDS="5"
    )


@pytest.fixture(scope="module")
def api(host: HostProcess) -> Api:
    return Api(host.endpoint)


@pytest.fixture(scope="module")
def sample(api: Api, azurite: Azurite, names: HostNames) -> dict[str, Any]:
    """The imported 60-document sample and the generated documents (texts and labels)."""
    from samples.generate import generate_sample_documents

    project = f"{names.tag}-sample"
    project_file = imported_sample(api, azurite.connection_string, project, documents=DOCUMENTS, edit=_more_tests)
    documents = {document.location: document for document in generate_sample_documents(documents=DOCUMENTS)}
    return {"project": project, "file": project_file, "documents": documents}


@pytest.fixture(scope="module")
def trained(api: Api, sample: dict[str, Any]) -> dict[str, Any]:
    """A manual-split training run of the sample, finished."""
    project = sample["project"]
    location = train(api, project, "quality", evaluationOptions={"kind": "manual"})
    job = api.wait_job(location, timeout=TRAINING_TIMEOUT)
    return {"location": location, "job": job}


def test_training_succeeds_with_times_and_registers_the_model(api: Api, sample: dict[str, Any],
                                                              trained: dict[str, Any]) -> None:
    job = trained["job"]
    assert job["status"] == "succeeded", job
    assert job["errors"] == []
    result = job["result"]
    assert result["modelLabel"] == "quality" and result["trainingConfigVersion"] == "2026-11-29.1"  # "latest"
    training, evaluation = result["trainingStatus"], result["evaluationStatus"]
    for state in (training, evaluation):
        assert state["status"] == "succeeded" and state["percentComplete"] == 100
        assert _time(state["startDateTime"]) <= _time(state["endDateTime"])
    assert _time(training["endDateTime"]) <= _time(evaluation["startDateTime"])
    assert "estimatedEndDateTime" not in result
    created, updated = _time(job["createdDateTime"]), _time(job["lastUpdatedDateTime"])
    assert created <= _time(training["startDateTime"]) and _time(evaluation["endDateTime"]) <= updated
    assert _time(job["expirationDateTime"]) - created == timedelta(days=7)

    project = sample["project"]
    model = api.get(f"{project}/models/quality").json()
    assert model["label"] == "quality" and model["hasSnapshot"] is True
    assert model["lastTrainingDurationInSeconds"] >= 0
    assert _time(model["lastTrainedDateTime"]) >= _time(training["startDateTime"])
    assert "quality" in [item["label"] for item in api.follow_pages(f"{project}/models")[0]]
    listed = {item["jobId"]: item for item in api.follow_pages(f"{project}/train/jobs")[0]}
    assert listed[job["jobId"]]["status"] == "succeeded"
    assert api.get(project).json()["lastTrainedDateTime"] is not None


def test_evaluation_summary_is_non_trivial(api: Api, sample: dict[str, Any], trained: dict[str, Any],
                                          record_property: Callable[[str, object], None]) -> None:
    assert trained["job"]["status"] == "succeeded"
    summary = api.get(f"{sample['project']}/models/quality/evaluation/summary-result").json()
    assert summary["evaluationOptions"] == {"kind": "manual"}
    evaluation = summary["customEntityRecognitionEvaluation"]
    record_property("microF1", evaluation["microF1"])
    assert evaluation["microF1"] > MIN_MICRO_F1, evaluation
    assert set(evaluation["entities"]) == ENTITY_TYPES
    for counts in evaluation["entities"].values():
        assert counts["truePositiveCount"] + counts["falseNegativeCount"] > 0
    # Micro F1 agrees with the per-entity counts.
    tp = sum(counts["truePositiveCount"] for counts in evaluation["entities"].values())
    fp = sum(counts["falsePositiveCount"] for counts in evaluation["entities"].values())
    fn = sum(counts["falseNegativeCount"] for counts in evaluation["entities"].values())
    assert evaluation["microF1"] == pytest.approx(2 * tp / (2 * tp + fp + fn), abs=1e-5)


def test_evaluation_results_cover_exactly_the_test_documents_with_utf16_offsets(
    api: Api, sample: dict[str, Any], trained: dict[str, Any]
) -> None:
    assert trained["job"]["status"] == "succeeded"
    results, _ = api.follow_pages(
        f"{sample['project']}/models/quality/evaluation/result",
        {"stringIndexType": "Utf16CodeUnit", "maxpagesize": 4},
    )
    test_documents = {d["location"] for d in sample["file"]["assets"]["documents"] if d.get("dataset") == "Test"}
    assert {item["location"] for item in results} == test_documents
    assert len(results) == len(test_documents)

    generated = sample["documents"]
    matched: dict[str, int] = {}
    for item in results:
        document = generated[item["location"]]
        regions = item["customEntityRecognitionResult"]["entities"]
        assert [(r["regionOffset"], r["regionLength"]) for r in regions] == [
            (document.region_offset, document.region_length)
        ]
        expected = regions[0]["expectedEntities"]
        assert [(e["category"], e["offset"], e["length"]) for e in expected] == [
            (label.category, label.offset, label.length) for label in document.labels
        ]
        for entity, label in zip(expected, document.labels, strict=True):
            assert _utf16_slice(document.text, entity["offset"], entity["length"]) == label.text
        gold = {(e["category"], e["offset"], e["length"]) for e in expected}
        for entity in regions[0]["predictedEntities"]:
            start, end = entity["offset"], entity["offset"] + entity["length"]
            assert document.region_offset <= start < end <= document.region_offset + document.region_length
            surface = _utf16_slice(document.text, entity["offset"], entity["length"])
            # Token-aligned spans: a shifted (code point vs UTF-16) offset would cut words or spaces.
            assert surface == surface.strip() and surface, (item["location"], entity, surface)
            if (entity["category"], entity["offset"], entity["length"]) in gold:
                matched[item["location"]] = matched.get(item["location"], 0) + 1
    non_bmp = [location for location in test_documents if len(generated[location].text.encode("utf-16-le")) // 2
               != len(generated[location].text)]  # fmt: skip
    assert sorted(non_bmp) == list(EXTRA_TEST_DOCUMENTS)
    # Predictions that hit the gold spans exactly, after an emoji too: offsets are converted both ways.
    assert sum(matched.values()) > 0
    assert any(matched.get(location) for location in non_bmp), matched


def test_job_state_changes_are_cloud_events_on_the_events_queue(azurite: Azurite, names: HostNames,
                                                              sample: dict[str, Any], trained: dict[str, Any]) -> None:
    job = trained["job"]
    subject = f"projects/{sample['project']}/train/jobs/{job['jobId']}"
    # No decode policy: read the stored text as it is, which must be base64 of the JSON.
    raw = QueueClient.from_connection_string(azurite.connection_string, names.events_queue)
    events: list[dict[str, Any]] = []
    for message in raw.receive_messages(messages_per_page=32, visibility_timeout=600):
        events.append(json.loads(base64.b64decode(message.content)))
    # Queues promise no order: the events' own times do.
    mine = sorted((event for event in events if event["subject"] == subject), key=lambda event: _time(event["time"]))
    assert mine, [event["subject"] for event in events]
    for event in mine:
        assert event["specversion"] == "1.0"
        assert event["source"] == "/language/authoring/analyze-text"
        assert event["datacontenttype"] == "application/json"
        assert event["data"]["jobId"] == job["jobId"] and event["data"]["modelLabel"] == "quality"
        _time(event["time"])
    assert len({event["id"] for event in mine}) == len(mine)
    prefix = "Microsoft.Language.CustomEntityRecognition."
    changes = [e["data"]["status"] for e in mine if e["type"] == prefix + "TrainingJobStatusChanged"]
    assert changes == ["notStarted", "running", "succeeded"]
    progress = [e["data"]["percentComplete"] for e in mine if e["type"] == prefix + "TrainingJobProgressed"]
    assert progress and progress == sorted(progress) and progress[-1] == 100


def test_queue_message_starts_a_training_job(api: Api, azurite: Azurite, names: HostNames, sample: dict[str, Any],
                                             trained: dict[str, Any]) -> None:
    project = sample["project"]
    assert trained["job"]["status"] == "succeeded"  # the project's slot is free again
    requests_queue = queue_client(azurite.connection_string, names.train_queue)
    try:
        # The Functions queue listener waits for a missing queue; the producer creates it.
        requests_queue.create_queue()
    except ResourceExistsError:
        pass
    requests_queue.send_message(json.dumps({"projectName": f"{names.tag}-nowhere", "modelLabel": "q", "trainingConfigVersion": "latest"}))
    requests_queue.send_message(
        json.dumps({"projectName": project, "modelLabel": "queued", "trainingConfigVersion": "latest"})
    )

    def queued_job() -> dict[str, Any] | None:
        jobs = api.get(f"{project}/train/jobs").json()["value"]
        return next((job for job in jobs if job["result"]["modelLabel"] == "queued"), None)

    found = eventually(queued_job, "the queued training job to appear")
    job = api.wait_job(api.url(f"{project}/train/jobs/{found['jobId']}"), timeout=TRAINING_TIMEOUT)
    assert job["status"] == "succeeded", job
    assert api.get(f"{project}/models/queued").status_code == 200
    # Default 80/20 split: every Test document is evaluated, and not every document is.
    results, _ = api.follow_pages(f"{project}/models/queued/evaluation/result", {"stringIndexType": "Utf16CodeUnit"})
    test_documents = {d["location"] for d in sample["file"]["assets"]["documents"] if d.get("dataset") == "Test"}
    assert test_documents < {item["location"] for item in results}
    assert len(results) < DOCUMENTS

    # The message for an unknown project was consumed and reported as a rejected request.
    events = queue_client(azurite.connection_string, names.events_queue)

    def rejection() -> dict[str, Any] | None:
        for message in events.peek_messages(max_messages=32):
            event = json.loads(message.content)
            if event["subject"] == f"projects/{names.tag}-nowhere/train":
                return event
        return None

    event = eventually(rejection, "the rejected queue request's event")
    assert event["data"]["status"] == "failed"
    assert f"{names.tag}-nowhere" in json.dumps(event["data"]["errors"])
    eventually(lambda: not requests_queue.peek_messages(max_messages=32), "the requests queue to be drained")


def test_cancel_a_running_job(host_factory: Callable[..., HostProcess], azurite: Azurite) -> None:
    # A host of its own: the step budget is a host setting, and this job must still be training when cancelled.
    names = HostNames()
    host = host_factory(names, NER_TRAIN_MAX_STEPS="5000", NER_TRAIN_EVAL_FREQUENCY="50", NER_TRAIN_CHUNK_SECONDS="3")
    api = Api(host.endpoint)
    try:
        project = f"{names.tag}-cancel"
        imported_sample(api, azurite.connection_string, project, documents=30)
        location = train(api, project, "never")

        def training() -> dict[str, Any] | None:
            job: dict[str, Any] = api.get(location).json()
            result = job["result"]
            # After the first chunk the job knows its pace: progress or an estimated end is shown.
            started = result["trainingStatus"]["percentComplete"] > 0 or "estimatedEndDateTime" in result
            assert job["status"] == "running" or not started, job
            return job if started else None

        before = eventually(training, "the job to report training progress", timeout=TRAINING_TIMEOUT)
        assert before["result"]["trainingStatus"]["status"] == "running"

        response = api.post(location.split("?")[0] + "/:cancel")
        assert assert_operation_location(response, api.endpoint, f"{project}/train/jobs/") == location
        assert response.content == b""
        job = api.wait_job(location, timeout=CANCEL_TIMEOUT)
        assert job["status"] == "cancelled", job
        assert job["result"]["trainingStatus"]["status"] == "cancelled"
        assert job["result"]["evaluationStatus"]["status"] in ("cancelled", "notStarted")
        assert_error(api.get(f"{project}/models/never"), 404, "NotFound", "never")
        assert api.get(f"{project}/models").json()["value"] == []
        assert_error(api.post(location.split("?")[0] + "/:cancel"), 409, "Conflict", "cancelled")

        # The slot was released: a new job is accepted (and cancelled before it costs anything).
        again = train(api, project, "next")
        assert api.post(again.split("?")[0] + "/:cancel").status_code == 202
        assert api.wait_job(again, timeout=CANCEL_TIMEOUT)["status"] == "cancelled"
        # The cancelled job stays cancelled (no late chunk revives it).
        assert api.get(location).json()["status"] == "cancelled"
    finally:
        host.stop()
