"""Shared pieces of the end-to-end tests of the real function app on the local host.

``python -m devhost start`` runs as a subprocess (``devhost.testing``: its own session, so the host and its
activity worker processes can be killed as one group) against the session's Azurite, with its own tables, containers,
queues and task hub. ``Api`` sends authenticated requests with an ``api-version``; the helpers create
projects from the generated sample and poll jobs.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from devhost.azurite import Azurite
from devhost.testing import HostProcess, start_host

ROOT = Path(__file__).resolve().parents[2]
KEY = "e2e-key-1"
OTHER_KEY = "e2e-key-2"
SYSTEM_KEY = "e2e-system-key"
"""The local host's system key (Durable HTTP API); set, so no key file is generated into the project."""
API_VERSION = "2023-04-01"
PROJECTS_PATH = "/language/authoring/analyze-text/projects"
READY_TIMEOUT = 180.0
"""Upper bounds for "eventually" (never asserted as durations)."""
OPERATION_TIMEOUT = 120.0

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], what: str, timeout: float = OPERATION_TIMEOUT, pause: float = 0.3) -> T:
    """Call ``probe`` until it returns something truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(pause)
    raise AssertionError(f"gave up waiting for {what} (last value: {last!r})")


@dataclass
class HostNames:
    """Per-host-set names: the same names on a restarted host mean the same data."""

    tag: str = field(default_factory=lambda: "e" + uuid.uuid4().hex[:11])

    @property
    def project_prefix(self) -> str:
        return f"{self.tag}-p"

    @property
    def events_queue(self) -> str:
        return f"{self.tag}-events"

    @property
    def train_queue(self) -> str:
        return f"{self.tag}-train"

    def env(self, connection: str) -> dict[str, str]:
        return {
            "AzureWebJobsStorage": connection,
            "NER_STORAGE_CONNECTION": connection,
            "NER_APP_CONTAINER": f"{self.tag}-app",
            "NER_TABLE_PREFIX": self.tag,
            "NER_TASK_HUB": f"{self.tag}hub",
            "NER_EVENTS_QUEUE": self.events_queue,
            "NER_TRAIN_REQUESTS_QUEUE": self.train_queue,
            "LANGUAGE_API_KEYS": f"{KEY},{OTHER_KEY}",
            "DEVHOST_SYSTEM_KEY": SYSTEM_KEY,
            # Tiny training budgets by default; tests override what they need.
            "NER_TRAIN_MAX_STEPS": "40",
            "NER_TRAIN_EVAL_FREQUENCY": "20",
            "NER_TRAIN_PATIENCE": "1000",
            "NER_TRAIN_CHUNK_SECONDS": "5",
        }


def start_app_host(env_values: dict[str, str], log_path: Path, *, workers: int = 2) -> HostProcess:
    """Start the function app on a free port and wait until it answers ``global/languages``."""
    return start_host(
        ROOT, env_values, log_path, workers=workers, timeout=READY_TIMEOUT,
        ready_path=f"{PROJECTS_PATH}/global/languages?api-version={API_VERSION}",
        ready_headers={"Ocp-Apim-Subscription-Key": KEY},
    )


@pytest.fixture(scope="module")
def host_factory(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., HostProcess]]:
    """``start(names, **env_overrides)``: a host of the app; every host started is stopped at module end."""
    started: list[HostProcess] = []
    log_dir = tmp_path_factory.mktemp("devhost")

    def start(names: HostNames, *, workers: int = 2, **overrides: str) -> HostProcess:
        values = names.env(azurite.connection_string)
        values.update(overrides)
        host = start_app_host(values, log_dir / f"{names.tag}.log", workers=workers)
        started.append(host)
        return host

    yield start
    for host in started:
        host.stop()
    # The logs help when a test failed; pytest shows captured stderr only for failures.
    for host in started:
        sys.stderr.write(f"--- {host.log_path} ---\n{host.log_tail(3000)}\n")


# ------------------------------------------------------------------------------------------- API client


class Api:
    """Requests against the authoring API of one host (subscription key and api-version added)."""

    def __init__(self, endpoint: str, key: str | None = KEY, api_version: str | None = API_VERSION) -> None:
        self.endpoint = endpoint
        self.key = key
        self.api_version = api_version
        self.session = requests.Session()

    def url(self, path: str) -> str:
        """Absolute URL of ``projects/<path>`` (``path`` may start with ``/``); no query."""
        return f"{self.endpoint}{PROJECTS_PATH}/{path.lstrip('/')}" if path else f"{self.endpoint}{PROJECTS_PATH}"

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        json_body: Any = None,
        data: bytes | str | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        api_version: bool = True,
    ) -> requests.Response:
        """Send a request. Absolute URLs (``operation-location``, ``nextLink``) are used as they are."""
        url = path_or_url if path_or_url.startswith("http") else self.url(path_or_url)
        query = dict(params or {})
        if api_version and self.api_version is not None and "api-version=" not in url:
            query.setdefault("api-version", self.api_version)
        all_headers = dict(headers or {})
        if self.key is not None:
            all_headers.setdefault("Ocp-Apim-Subscription-Key", self.key)
        if json_body is not None:
            data = json.dumps(json_body)
            all_headers.setdefault("Content-Type", "application/json")
        return self.session.request(method, url, params=query, data=data, headers=all_headers, timeout=60)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, json_body=body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, json_body=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def wait_job(self, location: str, *, timeout: float = OPERATION_TIMEOUT, until: tuple[str, ...] = ()) -> dict[str, Any]:
        """Poll a job URL until its status is terminal (or one of ``until``); return the job body."""
        terminal = ("succeeded", "failed", "cancelled", *until)

        def probe() -> dict[str, Any] | None:
            response = self.get(location)
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body if body["status"] in terminal else None

        return eventually(probe, f"job {location} to reach {terminal}", timeout=timeout)

    def follow_pages(self, path: str, params: dict[str, Any] | None = None) -> tuple[list[Any], int]:
        """Every item of a paged list, following ``nextLink`` to the end; also the number of pages."""
        items: list[Any] = []
        response = self.get(path, params=params)
        pages = 0
        while True:
            assert response.status_code == 200, response.text
            body = response.json()
            assert set(body) == {"value", "nextLink"}, body
            items.extend(body["value"])
            pages += 1
            if body["nextLink"] is None:
                return items, pages
            assert body["nextLink"].startswith(self.endpoint), body["nextLink"]
            response = self.get(body["nextLink"])


def assert_error(response: requests.Response, status: int, code: str, *mentions: str) -> dict[str, Any]:
    """``response`` is an Azure error ``{"error": {"code", "message", ...}}`` with ``x-ms-error-code``."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    assert response.headers.get("x-ms-error-code") == code
    text = json.dumps(error)
    for mention in mentions:
        assert mention in text, f"{mention!r} not in {error}"
    return error


def assert_operation_location(response: requests.Response, endpoint: str, path: str) -> str:
    """A 202 whose ``operation-location`` is the absolute URL of ``projects/<path>...`` with the api-version."""
    assert response.status_code == 202, (response.status_code, response.text)
    location = response.headers["operation-location"]
    assert location.startswith(f"{endpoint}{PROJECTS_PATH}/{path}"), location
    assert location.endswith(f"?api-version={API_VERSION}"), location
    return location


# ---------------------------------------------------------------------------------------- sample data


def upload_documents(connection: str, container: str, documents: dict[str, bytes]) -> None:
    """Create ``container`` (if needed) and upload the documents into it."""
    client = BlobServiceClient.from_connection_string(connection).get_container_client(container)
    if not client.exists():
        client.create_container()
    for location, data in documents.items():
        client.upload_blob(location, data, overwrite=True)


def sample_project(project: str, container: str, documents: int = 60) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The generated sample project file and its documents."""
    from samples.generate import generate_sample_project

    return generate_sample_project(project_name=project, container=container, documents=documents)


def create_project(api: Api, project: str, container: str) -> None:
    """Create a Custom NER project over ``container`` (which must exist)."""
    body = {
        "projectKind": "CustomEntityRecognition",
        "storageInputContainerName": container,
        "projectName": project,
        "language": "en-us",
    }
    response = api.patch(project, body, headers={"Content-Type": "application/merge-patch+json"})
    assert response.status_code in (200, 201), response.text


def import_project(api: Api, project: str, project_file: dict[str, Any]) -> dict[str, Any]:
    """Import ``project_file`` and wait for the import job; returns the finished job."""
    response = api.post(f"{project}/:import", project_file)
    location = assert_operation_location(response, api.endpoint, f"{project}/import/jobs/")
    return api.wait_job(location)


def imported_sample(
    api: Api,
    connection: str,
    project: str,
    documents: int = 60,
    edit: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Upload the sample's documents, create and import the project (after ``edit``); returns the project file."""
    container = f"{project}-docs"
    project_file, files = sample_project(project, container, documents)
    if edit is not None:
        edit(project_file)
    upload_documents(connection, container, files)
    create_project(api, project, container)
    job = import_project(api, project, project_file)
    assert job["status"] == "succeeded", job
    return project_file


def train(api: Api, project: str, label: str, **extra: Any) -> str:
    """Start a training job; returns its ``operation-location``."""
    body = {"modelLabel": label, "trainingConfigVersion": "latest", **extra}
    response = api.post(f"{project}/:train", body)
    return assert_operation_location(response, api.endpoint, f"{project}/train/jobs/")


def train_and_deploy(api: Api, project: str, *, label: str = "m1", deployment: str = "prod", timeout: float = 600.0) -> None:
    """Train ``label`` on an imported project and deploy it as ``deployment``; both jobs must succeed."""
    job = api.wait_job(train(api, project, label), timeout=timeout)
    assert job["status"] == "succeeded", job
    response = api.request("PUT", f"{project}/deployments/{deployment}", json_body={"trainedModelLabel": label})
    assert response.status_code == 202, response.text
    deployed = api.wait_job(response.headers["operation-location"])
    assert deployed["status"] == "succeeded", deployed


def queue_client(connection: str, queue: str) -> QueueClient:
    """A queue client that speaks base64 text, as the Functions queue extension does."""
    return QueueClient.from_connection_string(
        connection,
        queue,
        message_encode_policy=TextBase64EncodePolicy(),
        message_decode_policy=TextBase64DecodePolicy(),
    )
