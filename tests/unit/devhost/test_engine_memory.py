"""DurableEngine over MemoryStore with tests/apps/durable_app: real SDK, real worker processes, and the
HTTP API driven by the SDK's own DurableOrchestrationClient."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import azure.durable_functions as df
import pytest
from aiohttp import web

from devhost.durable import api as durable_api
from devhost.durable import history as h
from devhost.durable.engine import DurableEngine
from devhost.durable.errors import InstanceGone
from devhost.durable.payloads import DurableUrls
from devhost.durable.store import MemoryStore
from devhost.indexer import load_app

APP_DIR = Path(__file__).resolve().parents[2] / "apps" / "durable_app"
T = TypeVar("T")


class Harness:
    """One event loop, one engine and one HTTP server for the whole module (workers start once)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.engine = DurableEngine(load_app(APP_DIR), MemoryStore(), worker_count=2)
        self.urls = DurableUrls(f"http://127.0.0.1:{self.port}", self.engine.hub_name)
        self.runner: web.AppRunner | None = None
        self.run(self._start())

    async def _start(self) -> None:
        await self.engine.start()
        web_app = web.Application()
        durable_api.add_routes(web_app, self.engine, self.urls)
        self.runner = web.AppRunner(web_app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def close(self) -> None:
        async def stop() -> None:
            await self.engine.stop()
            if self.runner:
                await self.runner.cleanup()

        self.run(stop())
        self.loop.close()

    def client(self) -> df.DurableOrchestrationClient:
        return df.DurableOrchestrationClient(self.urls.client_binding_json())


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    instance = Harness()
    try:
        yield instance
    finally:
        instance.close()


def start_and_wait(harness: Harness, name: str, value: Any = None, timeout: float = 60) -> Any:
    async def go() -> Any:
        instance_id = await harness.engine.start_new(name, None, None if value is None else json.dumps(value))
        return await harness.engine.wait_for(instance_id, timeout)

    return harness.run(go())


def test_fan_out_completes_with_custom_status_and_batched_episodes(harness: Harness) -> None:
    before = harness.engine.stats.episodes
    record = start_and_wait(harness, "fanout", {"n": 20, "burn": 5})
    assert record.runtime_status == "Completed"
    assert json.loads(record.output) == {"total": sum(i * i for i in range(20)), "n": 20}
    assert json.loads(record.custom_status) == {"phase": "done"}
    # Results are batched: far fewer episodes than activities (at most start + one per completion).
    assert harness.engine.stats.episodes - before <= 21
    history = harness.run(harness.engine.get_history(record.instance_id))
    labels = h.describe(history)
    assert labels[:2] == ["OrchestratorStarted", "ExecutionStarted"]
    assert sorted(label for label in labels if label.startswith("TaskCompleted")) == sorted(
        f"TaskCompleted#{i}" for i in range(20)
    )
    assert labels[-2:] == ["ExecutionCompleted", "OrchestratorCompleted"]


def test_timer(harness: Harness) -> None:
    record = start_and_wait(harness, "timer_then_done", 0.2)
    assert (record.runtime_status, json.loads(record.output)) == ("Completed", "timer fired")


def test_retry_history_and_result(harness: Harness, tmp_path: Path) -> None:
    spec = {"max": 3, "succeed_on": 3, "path": str(tmp_path / "count")}
    record = start_and_wait(harness, "retrying", spec)
    assert json.loads(record.output) == {"result": "ok after 3"}
    labels = h.describe(harness.run(harness.engine.get_history(record.instance_id)))
    retry_part = [x for x in labels if x.split("#")[0] in ("TaskScheduled", "TaskFailed", "TimerCreated",
                                                            "TimerFired", "TaskCompleted")]
    assert retry_part == [
        "TaskScheduled#0", "TaskFailed#0", "TimerCreated#1", "TimerFired#1", "TaskScheduled#2",
        "TaskFailed#2", "TimerCreated#3", "TimerFired#3", "TaskScheduled#4", "TaskCompleted#4",
    ]


def test_retry_exhausted(harness: Harness, tmp_path: Path) -> None:
    spec = {"max": 2, "succeed_on": 9, "path": str(tmp_path / "count")}
    record = start_and_wait(harness, "retrying", spec)
    assert json.loads(record.output) == {"error": "Activity function 'flaky' failed: RuntimeError: attempt 2 failed "}
    assert (tmp_path / "count").read_text() == "2"


def test_sub_orchestrations_complete_and_fail(harness: Harness) -> None:
    ok = start_and_wait(harness, "parent", [1, 2, 3])
    assert json.loads(ok.output) == {"results": [2, 4, 6]}
    bad = start_and_wait(harness, "parent", [1, -2])
    assert "Orchestrator function 'child' failed: negative input -2" in json.loads(bad.output)["error"]


def test_continue_as_new_runs_new_executions(harness: Harness) -> None:
    record = start_and_wait(harness, "counter", {"count": 0, "limit": 3})
    assert (record.runtime_status, json.loads(record.output)) == ("Completed", 3)
    history = harness.run(harness.engine.get_history(record.instance_id))
    started = [e for e in history if e["EventType"] == h.EventType.EXECUTION_STARTED]
    assert len(started) == 1 and json.loads(started[0]["Input"]) == {"count": 3, "limit": 3}


def test_orchestrator_failure(harness: Harness) -> None:
    record = start_and_wait(harness, "broken")
    assert record.runtime_status == "Failed"
    assert json.loads(record.output) == "Orchestrator function 'broken' failed: bad orchestrator"


def test_dead_worker_process_is_retried(harness: Harness, tmp_path: Path) -> None:
    record = start_and_wait(harness, "survivor", str(tmp_path / "marker"))
    assert (record.runtime_status, json.loads(record.output)) == ("Completed", "survived")


def test_external_event_buffered_before_wait_and_suspend_holds_it(harness: Harness) -> None:
    async def go() -> tuple[str, Any, Any]:
        engine = harness.engine
        instance_id = await engine.start_new("approval", None, "30")
        await engine.suspend(instance_id, "hold on")
        await engine.raise_event(instance_id, "approve", json.dumps("yes"))
        await asyncio.sleep(0.3)
        held = await engine.get_instance(instance_id)
        await engine.resume(instance_id, "go")
        record = await engine.wait_for(instance_id, 30)
        return held.runtime_status, record.runtime_status, json.loads(record.output)

    held_status, status, output = harness.run(go())
    assert held_status == "Suspended"
    assert (status, output) == ("Completed", {"approved": "yes"})


def test_terminate_mid_run_drops_late_results_and_then_gone(harness: Harness) -> None:
    async def go() -> tuple[Any, list[str]]:
        engine = harness.engine
        instance_id = await engine.start_new("slow_fanout", None, json.dumps({"n": 6, "seconds": 0.4}))
        await asyncio.sleep(0.2)
        await engine.terminate(instance_id, "cancelled by user")
        record = await engine.wait_for(instance_id, 30)
        await asyncio.sleep(1.0)  # activities finishing now must not change anything
        after = await engine.get_instance(instance_id)
        with pytest.raises(InstanceGone):
            await engine.terminate(instance_id, "again")
        return (record.runtime_status, json.loads(record.output), after.runtime_status), h.describe(
            await engine.get_history(instance_id)
        )

    (status, output, later), labels = harness.run(go())
    assert (status, output, later) == ("Terminated", "cancelled by user", "Terminated")
    assert labels[-3:] == ["ExecutionTerminated", "ExecutionCompleted", "OrchestratorCompleted"]
    assert "TaskCompleted#5" not in labels


def test_http_api_through_the_sdk_client(harness: Harness) -> None:
    async def go() -> dict[str, Any]:
        client = harness.client()
        seen: dict[str, Any] = {}
        instance_id = await client.start_new("fanout", None, {"n": 3})
        record = await harness.engine.wait_for(instance_id, 30)
        status = await client.get_status(instance_id, show_history=True, show_history_output=True)
        seen["status"] = (status.runtime_status.value, status.output, status.input_, status.custom_status)
        seen["history_types"] = [e["EventType"] for e in status.historyEvents]
        seen["created"] = status.created_time is not None and record.created_time is not None
        # start with an explicit id that is still running -> clean exception from the 400 body
        await client.start_new("approval", "fixed-id", 30)
        with pytest.raises(Exception, match="already exists"):
            await client.start_new("approval", "fixed-id", 30)
        # Pending until its first episode has run (which may take a moment on a loaded machine).
        for _ in range(200):
            running = await client.get_status("fixed-id")
            if running.runtime_status.value != "Pending":
                break
            await asyncio.sleep(0.05)
        seen["running"] = running.runtime_status.value
        await client.raise_event("fixed-id", "approve", {"by": "me"})
        done = await harness.engine.wait_for("fixed-id", 30)
        seen["approval"] = json.loads(done.output)
        seen["terminate_done"] = await client.terminate("fixed-id", "late")  # 410: not an error
        seen["unknown"] = bool(await client.get_status("no-such-instance"))
        by_prefix = await client.get_status_by(runtime_status=[df.OrchestrationRuntimeStatus.Completed])
        seen["listed"] = {s.instance_id for s in by_prefix} >= {instance_id, "fixed-id"}
        purged = await client.purge_instance_history(instance_id)
        seen["purged"] = purged.instances_deleted
        seen["after_purge"] = bool(await client.get_status(instance_id))
        with pytest.raises(Exception, match="doesn't exist"):
            await client.start_new("no_such_orchestrator")
        return seen

    seen = harness.run(go())
    assert seen["status"] == ("Completed", {"total": 5, "n": 3}, {"n": 3}, {"phase": "done"})
    assert seen["history_types"][0] == "ExecutionStarted"
    assert seen["history_types"][-1] == "ExecutionCompleted"
    assert seen["running"] == "Running"
    # As with the real extension (azure-functions-durable-python issue #295): the client json.dumps the
    # data and aiohttp encodes that string again, so the orchestrator receives the JSON text.
    assert seen["approval"] == {"approved": '{"by": "me"}'}
    assert seen["terminate_done"] is None
    assert seen["unknown"] is False
    assert seen["listed"] is True
    assert seen["purged"] == 1
    assert seen["after_purge"] is False


def test_client_binding_json_shape(harness: Harness) -> None:
    binding = json.loads(harness.urls.client_binding_json())
    base = f"http://127.0.0.1:{harness.port}/runtime/webhooks/durabletask"
    assert binding["baseUrl"] == base
    assert binding["rpcBaseUrl"] == base + "/"
    assert binding["httpBaseUrl"] is None
    assert binding["requiredQueryStringParameters"] == ""
    assert binding["taskHubName"] == "DurableAppHub"
    assert binding["managementUrls"]["id"] == "INSTANCEID"
    assert binding["managementUrls"]["statusQueryGetUri"].startswith(base + "/instances/INSTANCEID?")
    assert "{functionName}" in binding["creationUrls"]["createNewInstancePostUri"]


def test_replay_cost_of_100_activity_fan_out(harness: Harness) -> None:
    """Not a timing assertion: records episodes and handler time for the report (printed with -s)."""
    engine = harness.engine
    episodes, seconds = engine.stats.episodes, engine.stats.handler_seconds
    record = start_and_wait(harness, "fanout", {"n": 100})
    assert json.loads(record.output)["total"] == sum(i * i for i in range(100))
    used = engine.stats.episodes - episodes
    assert used <= 101
    print(f"\n100-activity fan-out: {used} episodes, {engine.stats.handler_seconds - seconds:.3f} s handler time")


def test_terminate_right_after_start(harness: Harness) -> None:
    async def go() -> tuple[str, list[str]]:
        engine = harness.engine
        instance_id = await engine.start_new("approval", None, "30")
        await engine.terminate(instance_id, "never mind")
        record = await engine.wait_for(instance_id, 30)
        return record.runtime_status, h.describe(await engine.get_history(instance_id))

    status, labels = harness.run(go())
    assert status == "Terminated"
    assert "ExecutionTerminated" in labels
