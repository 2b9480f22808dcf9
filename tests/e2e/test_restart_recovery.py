"""The local host's restart recovery with the real app: SIGKILL the host (and its activity worker
processes) while a training job is in its training chunks, start a new host on the same storage and
settings, and the job still reaches ``succeeded`` (orchestration history survives in Azurite tables and
unfinished activities run again: at-least-once).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from devhost.azurite import Azurite
from devhost.testing import live_group_members
from tests.e2e.conftest import Api, HostNames, HostProcess, eventually, imported_sample, train

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

TRAINING_TIMEOUT = 600.0
"""Upper bound for "eventually" on a loaded machine; never asserted as a duration."""
SETTINGS = {"NER_TRAIN_MAX_STEPS": "400", "NER_TRAIN_EVAL_FREQUENCY": "50", "NER_TRAIN_CHUNK_SECONDS": "3"}


def test_training_survives_a_host_kill_mid_training(host_factory: Callable[..., HostProcess], azurite: Azurite) -> None:
    names = HostNames()
    first = host_factory(names, **SETTINGS)
    api = Api(first.endpoint)
    project = f"{names.tag}-restart"
    imported_sample(api, azurite.connection_string, project, documents=30)
    location = train(api, project, "survivor")
    job_path = location.split("/projects/", 1)[1].split("?")[0]

    def training() -> dict[str, Any] | None:
        job: dict[str, Any] = api.get(location).json()
        assert job["status"] in ("notStarted", "running"), job
        result = job["result"]
        chunked = result["trainingStatus"]["percentComplete"] > 0 or "estimatedEndDateTime" in result
        return job if chunked else None

    before = eventually(training, "the first training chunk", timeout=TRAINING_TIMEOUT)
    assert before["result"]["trainingStatus"]["status"] == "running"
    # The host runs activities in worker processes of its own session: all of them must go.
    assert len(live_group_members(first.process.pid)) > 1
    first.kill_group()
    eventually(lambda: not live_group_members(first.process.pid), "the killed host's processes to be gone")
    assert first.process.returncode == -9

    second = host_factory(names, **SETTINGS)
    assert second.endpoint != first.endpoint
    api = Api(second.endpoint)
    # The new host knows the job (its row and its orchestration) and finishes it.
    job = api.wait_job(api.url(job_path), timeout=TRAINING_TIMEOUT)
    assert job["status"] == "succeeded", job
    assert job["jobId"] == before["jobId"] and job["errors"] == []
    assert job["result"]["trainingStatus"]["percentComplete"] == 100
    assert job["result"]["evaluationStatus"]["status"] == "succeeded"
    model = api.get(f"{project}/models/survivor")
    assert model.status_code == 200, model.text
    summary = api.get(f"{project}/models/survivor/evaluation/summary-result").json()
    assert summary["customEntityRecognitionEvaluation"]["microF1"] > 0.5
    # The slot was released by the recovered job: training can start again.
    again = train(api, project, "after-restart")
    assert api.post(again.split("?")[0] + "/:cancel").status_code == 202
    assert api.wait_job(again, timeout=60)["status"] == "cancelled"
    # Nothing of the first host is left behind.
    assert os.getpgid(second.process.pid) == second.process.pid
