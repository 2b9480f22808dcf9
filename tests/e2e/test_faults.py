"""Faults an operator meets, with the real app on the local host (issue 10).

- Storage outage mid-training: the test's own Azurite is stopped for ~30 s while a training job is in
  its chunks and started again on the same ports and data folder. The engine must lose no activity
  result: the job then ends ``succeeded`` (or ``failed`` with a reason), and a new ``:train`` is
  accepted. The time from storage's return to the job's next visible step is printed
  (``RECOVERY seconds=...``) for RELIABILITY.md; it is not asserted.
- A second host on the same storage and task hub refuses to start, naming the holder.
- The Durable HTTP API (``/runtime/webhooks/durabletask``) answers anonymous callers 401.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devhost.azurite import Azurite, start_azurite
from devhost.testing import reaper, spawn_host
from tests.e2e.conftest import (
    ROOT,
    SYSTEM_KEY,
    Api,
    HostNames,
    HostProcess,
    eventually,
    imported_sample,
    start_app_host,
    train,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

OUTAGE_SECONDS = 30.0
TRAINING_TIMEOUT = 900.0
"""Upper bounds for "eventually" on a loaded machine; never asserted as durations."""
SETTINGS = {"NER_TRAIN_MAX_STEPS": "200", "NER_TRAIN_EVAL_FREQUENCY": "50", "NER_TRAIN_CHUNK_SECONDS": "3"}


@pytest.fixture
def own_azurite(tmp_path: Path) -> Iterator[Azurite]:
    """An Azurite of this test alone (it gets stopped and restarted), with a data folder that survives."""
    azurite = start_azurite(ROOT, location=tmp_path / "azurite", watcher=reaper())
    try:
        yield azurite
    finally:
        azurite.stop()


@pytest.fixture
def own_host(own_azurite: Azurite, tmp_path: Path) -> Iterator[HostProcess]:
    names = HostNames()
    values = names.env(own_azurite.connection_string)
    values.update(SETTINGS)
    host = start_app_host(values, tmp_path / "host.log")
    try:
        yield host
    finally:
        host.stop()
        # What the engine did about the outage (its retries), for the reader of a failure or of -s.
        lines = host.log_path.read_text(errors="replace").splitlines()
        print("\n".join(line for line in lines if "storage" in line.lower() or "ERROR" in line)[-6000:])


def _job(api: Api, location: str) -> dict[str, Any] | None:
    """The job body, or None while the service cannot answer (storage is away)."""
    try:
        response = api.get(location)
    except requests.RequestException:
        return None
    return response.json() if response.status_code == 200 else None


def _step(job: dict[str, Any]) -> tuple[Any, ...]:
    training = job["result"]["trainingStatus"]
    return job["status"], training["percentComplete"], training["status"], job["lastUpdatedDateTime"]


def test_storage_outage_mid_training_loses_nothing(own_azurite: Azurite, own_host: HostProcess) -> None:
    api = Api(own_host.endpoint)
    project = "outage"
    imported_sample(api, own_azurite.connection_string, project, documents=30)
    location = train(api, project, "outage")

    job_id = location.split("/train/jobs/")[1].split("?")[0]
    progress = f"{own_host.endpoint}/language/studio/api/projects/{project}/train/jobs/{job_id}/progress"

    def training() -> dict[str, Any] | None:
        job = _job(api, location)
        assert job is None or job["status"] in ("notStarted", "running"), job
        # percentComplete is above 0 from the split on (an estimate): the job's history shows the first chunk.
        return job if job and api.get(progress).json().get("history") else None

    eventually(training, "the first training chunk", timeout=TRAINING_TIMEOUT)
    snapshot = _job(api, location)
    assert snapshot is not None
    step = _step(snapshot)
    own_azurite.halt()
    time.sleep(OUTAGE_SECONDS)
    assert _job(api, location) is None  # the service really lost its storage
    own_azurite.restart()
    back = time.monotonic()

    def moved() -> dict[str, Any] | None:
        job = _job(api, location)
        if job is None:
            return None
        return job if job["status"] in ("succeeded", "failed") or _step(job) != step else None

    eventually(moved, "the job's next step after the outage", timeout=TRAINING_TIMEOUT, pause=0.5)
    recovered = time.monotonic() - back
    job = api.wait_job(location, timeout=TRAINING_TIMEOUT)
    print(f"\nRECOVERY seconds={recovered:.1f} finished_after={time.monotonic() - back:.1f} status={job['status']}")
    if job["status"] == "failed":
        assert job["errors"], job  # a failure says why
    else:
        assert job["status"] == "succeeded", job
    # No slot is left held: training can start again.
    again = train(api, project, "after-outage")
    assert api.post(again.split("?")[0] + "/:cancel").status_code == 202
    assert api.wait_job(again, timeout=120)["status"] == "cancelled"


@pytest.fixture(scope="module")
def hub_host(host_factory: Callable[..., HostProcess]) -> tuple[HostNames, HostProcess]:
    names = HostNames()
    return names, host_factory(names)


def test_second_host_on_the_same_hub_refuses_naming_the_holder(
    hub_host: tuple[HostNames, HostProcess], azurite: Azurite, tmp_path: Path
) -> None:
    names, first = hub_host
    second = spawn_host(ROOT, names.env(azurite.connection_string), tmp_path / "second.log")
    try:
        code = second.process.wait(timeout=180)
    finally:
        second.stop()
    log = second.log_tail()
    assert code != 0, log
    assert "held by" in log and first.endpoint in log and f"pid {first.process.pid}" in log, log
    # The holder was not disturbed.
    assert Api(first.endpoint).get("global/languages").status_code == 200


DURABLE = "/runtime/webhooks/durabletask"
WEBHOOK_CALLS = [
    ("GET", "/instances"),
    ("GET", "/instances/any-id?showHistory=true&showHistoryOutput=true"),
    ("DELETE", "/instances/any-id"),
    ("DELETE", "/instances?createdTimeFrom=2020-01-01T00:00:00Z"),
    ("POST", "/orchestrators/training_orchestrator"),
    ("POST", "/instances/any-id/terminate?reason=x"),
    ("POST", "/instances/any-id/raiseEvent/x"),
]


@pytest.mark.parametrize(("method", "path"), WEBHOOK_CALLS)
def test_durable_webhooks_refuse_anonymous_callers(hub_host: tuple[HostNames, HostProcess], method: str, path: str) -> None:
    _, host = hub_host
    for headers in ({}, {"x-functions-key": "not-the-key"}):
        response = requests.request(method, host.endpoint + DURABLE + path, json={}, headers=headers, timeout=30)
        assert response.status_code == 401, (response.status_code, response.text)
        assert response.text == ""


def test_durable_webhooks_open_with_the_system_key(hub_host: tuple[HostNames, HostProcess]) -> None:
    _, host = hub_host
    response = requests.get(f"{host.endpoint}{DURABLE}/instances", params={"code": SYSTEM_KEY}, timeout=30)
    assert response.status_code == 200, response.text
    assert isinstance(response.json(), list)
