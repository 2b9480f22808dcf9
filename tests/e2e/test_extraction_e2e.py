"""Entity extraction through the runtime API on the local host (``/language/analyze-text/jobs``).

The generated sample project is imported, trained and deployed (``PUT .../deployments/prod``); then, over HTTP:
a job runs to ``succeeded`` with Azure's shapes and entities that match the documents' labels, offsets
in every ``stringIndexType``, result paging through ``nextLink``, limits and unknown names answered with
Azure's error JSON, cancel, and CloudEvents for the job.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import regex
from azure.storage.queue import QueueClient

from devhost.azurite import Azurite
from tests.e2e.conftest import (
    API_VERSION,
    Api,
    HostNames,
    HostProcess,
    assert_error,
    eventually,
    imported_sample,
    train_and_deploy,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

RUNTIME_PATH = "/language/analyze-text/jobs"
TRAINING_TIMEOUT = 600.0
JOB_TIMEOUT = 120.0
DOCUMENTS = 60
ENTITY_TYPES = {"Vendor", "Product", "Quantity", "DeliveryDate", "DeliveryCity"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def names() -> HostNames:
    return HostNames()


@pytest.fixture(scope="module")
def host(host_factory: Callable[..., HostProcess], names: HostNames) -> HostProcess:
    return host_factory(names, NER_TRAIN_MAX_STEPS="300", NER_TRAIN_EVAL_FREQUENCY="50", NER_TRAIN_CHUNK_SECONDS="5")


@pytest.fixture(scope="module")
def api(host: HostProcess) -> Api:
    return Api(host.endpoint)


@pytest.fixture(scope="module")
def deployed(api: Api, azurite: Azurite, names: HostNames) -> dict[str, Any]:
    """The sample, trained (``m1``) and deployed as ``prod`` by a deployment job; the generated documents."""
    from samples.generate import generate_sample_documents

    project = f"{names.tag}-rt"
    imported_sample(api, azurite.connection_string, project, documents=DOCUMENTS)
    train_and_deploy(api, project, timeout=TRAINING_TIMEOUT)
    documents = {document.location: document for document in generate_sample_documents(documents=DOCUMENTS)}
    return {"project": project, "documents": documents}


def _body(project: str, documents: list[dict[str, Any]], **parameters: Any) -> dict[str, Any]:
    return {
        "displayName": "e2e",
        "analysisInput": {"documents": documents},
        "tasks": [
            {
                "kind": "CustomEntityRecognition",
                "taskName": "po",
                "parameters": {"projectName": project, "deploymentName": "prod", **parameters},
            }
        ],
    }


def _submit(api: Api, body: Any) -> str:
    response = api.post(f"{api.endpoint}{RUNTIME_PATH}", body)
    assert response.status_code == 202, response.text
    assert response.content == b""
    location = response.headers["operation-location"]
    prefix = f"{api.endpoint}{RUNTIME_PATH}/"
    assert location.startswith(prefix) and location.endswith(f"?api-version={API_VERSION}"), location
    assert UUID.match(location[len(prefix) :].split("?")[0]), location
    return location


def _wait(api: Api, location: str) -> dict[str, Any]:
    return api.wait_job(location, timeout=JOB_TIMEOUT)


def _slice(text: str, offset: int, length: int, scheme: str) -> str:
    if scheme == "UnicodeCodePoint":
        return text[offset : offset + length]
    if scheme == "Utf16CodeUnit":
        return text.encode("utf-16-le")[2 * offset : 2 * (offset + length)].decode("utf-16-le")
    clusters = regex.findall(r"\X", text)  # the sample has no Indic conjuncts
    return "".join(clusters[offset : offset + length])


@pytest.mark.parametrize("scheme", ["TextElements_v8", "UnicodeCodePoint", "Utf16CodeUnit"])
def test_a_job_extracts_the_labelled_entities(api: Api, deployed: dict[str, Any], scheme: str) -> None:
    # Documents with an emoji before their labels (po_002, po_007) are where the three schemes differ.
    picked = [deployed["documents"][name] for name in ("po_002.txt", "po_007.txt", "po_010.txt", "po_013.txt")]
    body = _body(deployed["project"], [{"id": d.location, "text": d.text, "language": "en"} for d in picked],
                 stringIndexType=scheme)
    state = _wait(api, _submit(api, body))
    assert state["status"] == "succeeded", state
    assert state["displayName"] == "e2e" and state["errors"] == []
    assert {k: state["tasks"][k] for k in ("total", "completed", "failed", "inProgress")} == {
        "total": 1, "completed": 1, "failed": 0, "inProgress": 0,
    }
    (item,) = state["tasks"]["items"]
    assert (item["kind"], item["taskName"], item["status"]) == ("CustomEntityRecognitionLROResults", "po", "succeeded")
    results = item["results"]
    assert (results["projectName"], results["deploymentName"], results["errors"]) == (deployed["project"], "prod", [])
    right = wrong = 0
    for document, source in zip(results["documents"], picked, strict=True):
        assert document["id"] == source.location and document["warnings"] == []
        gold = {(label.text, label.category) for label in source.labels}
        for entity in document["entities"]:
            assert entity["category"] in ENTITY_TYPES
            assert 0.0 <= entity["confidenceScore"] <= 1.0
            assert _slice(source.text, entity["offset"], entity["length"], scheme) == entity["text"]
            if (entity["text"], entity["category"]) in gold:
                right += 1
            else:
                wrong += 1
    assert right >= 8 and right > 2 * wrong, (right, wrong)


def test_results_page_through_next_link(api: Api, deployed: dict[str, Any]) -> None:
    sources = list(deployed["documents"].values())[:25]
    state = _wait(api, _submit(api, _body(deployed["project"], [{"id": d.location, "text": d.text} for d in sources])))
    assert state["status"] == "succeeded"
    seen = [d["id"] for d in state["tasks"]["items"][0]["results"]["documents"]]
    assert len(seen) == 20 and state["nextLink"].startswith(f"{api.endpoint}{RUNTIME_PATH}/")
    page = api.get(state["nextLink"])
    assert page.status_code == 200, page.text
    second = page.json()
    seen += [d["id"] for d in second["tasks"]["items"][0]["results"]["documents"]]
    assert "nextLink" not in second
    assert seen == [d.location for d in sources]
    top = api.get(state["nextLink"].split("?")[0], params={"top": 3, "skip": 1}).json()
    assert [d["id"] for d in top["tasks"]["items"][0]["results"]["documents"]] == [d.location for d in sources[1:4]]


def test_limits_and_unknown_names_are_azure_errors(api: Api, deployed: dict[str, Any]) -> None:
    url = f"{api.endpoint}{RUNTIME_PATH}"
    project = deployed["project"]
    too_many = _body(project, [{"id": str(i), "text": "x"} for i in range(26)])
    error = assert_error(api.post(url, too_many), 400, "InvalidRequest")
    assert error["innererror"]["code"] == "InvalidDocumentBatch"
    duplicate = _body(project, [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}])
    assert assert_error(api.post(url, duplicate), 400, "InvalidRequest", "'a'")["innererror"]["code"] == "InvalidDocument"
    big = _body(project, [{"id": str(i), "text": "word " * 6_000} for i in range(5)])
    assert assert_error(api.post(url, big), 413, "InvalidRequest", "125,000")["innererror"]["code"] == "InvalidDocumentBatch"
    body = _body(project, [{"id": "1", "text": "x"}])
    body["tasks"][0]["parameters"]["deploymentName"] = "staging"
    assert_error(api.post(url, body), 404, "NotFound", "staging")
    body["tasks"][0]["parameters"]["projectName"] = "no-such-project"
    assert_error(api.post(url, body), 404, "ProjectNotFound", "no-such-project")
    assert_error(api.get(f"{url}/{uuid.uuid4()}"), 404, "OperationNotFound")
    assert api.post(url, _body(project, [{"id": "1", "text": "x"}]), params={"api-version": "2099-01-01"}).status_code == 400
    assert Api(api.endpoint, key=None).post(url, _body(project, [{"id": "1", "text": "x"}])).status_code == 401


def test_empty_and_unsupported_language_documents_are_per_document_errors(api: Api, deployed: dict[str, Any]) -> None:
    source = deployed["documents"]["po_010.txt"]
    documents = [{"id": "ok", "text": source.text}, {"id": "empty", "text": ""}, {"id": "xx", "text": "Hi", "language": "tlh"}]
    state = _wait(api, _submit(api, _body(deployed["project"], documents)))
    results = state["tasks"]["items"][0]["results"]
    assert state["status"] == "succeeded" and [d["id"] for d in results["documents"]] == ["ok"]
    assert [(e["id"], e["error"]["innererror"]["code"]) for e in results["errors"]] == [
        ("empty", "InvalidDocument"), ("xx", "UnsupportedLanguageCode"),
    ]


def test_cancel(api: Api, deployed: dict[str, Any]) -> None:
    sources = list(deployed["documents"].values())[:25]
    location = _submit(api, _body(deployed["project"], [{"id": d.location, "text": d.text} for d in sources]))
    base = location.split("?")[0]
    response = api.post(f"{base}:cancel")
    if response.status_code == 202:  # usually: the job is still queued or predicting
        assert response.headers["operation-location"] == location
        assert _wait(api, location)["status"] == "cancelled"
    else:  # it already finished: a finished job cannot be cancelled
        assert_error(response, 409, "Conflict")
        assert _wait(api, location)["status"] == "succeeded"
    assert_error(api.post(f"{base}:cancel"), 409, "Conflict")


def test_job_state_changes_are_cloud_events(api: Api, azurite: Azurite, names: HostNames, deployed: dict[str, Any]) -> None:
    location = _submit(api, _body(deployed["project"], [{"id": "1", "text": deployed["documents"]["po_010.txt"].text}]))
    assert _wait(api, location)["status"] == "succeeded"
    job_id = location.split("?")[0].rsplit("/", 1)[1]
    raw = QueueClient.from_connection_string(azurite.connection_string, names.events_queue)
    found: list[dict[str, Any]] = []

    def statuses() -> list[str] | None:
        # Received messages stay invisible for a while, so each probe reads further into the queue.
        for message in raw.receive_messages(messages_per_page=32, visibility_timeout=600):
            event = json.loads(base64.b64decode(message.content))
            if job_id in event["subject"]:
                found.append(event)
        seen = [e["data"]["status"] for e in sorted(found, key=lambda e: e["time"])]
        return seen if seen and seen[-1] == "succeeded" else None

    seen = eventually(statuses, "the extraction job's events")
    assert seen[0] == "notStarted" and "running" in seen
    assert {e["type"] for e in found} == {"Microsoft.Language.CustomEntityRecognition.ExtractionJobStatusChanged"}
