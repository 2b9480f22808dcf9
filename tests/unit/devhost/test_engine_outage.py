"""A storage outage while activities run: the engine waits it out and loses no result (issue 10 #1).

MemoryStore with a switch that makes every call fail as a refused connection does (the
``ServiceRequestError`` the storage SDKs raise), real SDK handler and real worker processes.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

from azure.core.exceptions import HttpResponseError, ServiceRequestError

from devhost.durable import history as h
from devhost.durable.engine import DurableEngine
from devhost.durable.retry import Backoff, is_transient
from devhost.durable.store import MemoryStore
from devhost.indexer import load_app

APP_DIR = Path(__file__).resolve().parents[2] / "apps" / "durable_app"


class FlakyStore(MemoryStore):
    """Every call fails while ``down`` is set; counts the calls refused."""

    def __init__(self) -> None:
        super().__init__()
        self.down = threading.Event()
        self.refused = 0

    def __getattribute__(self, name: str) -> Any:
        attribute = super().__getattribute__(name)
        if name.startswith("_") or not callable(attribute) or name in ("down", "refused"):
            return attribute
        down = super().__getattribute__("down")

        def call(*args: Any, **kwargs: Any) -> Any:
            if down.is_set():
                self.refused += 1
                raise ServiceRequestError("Connection refused")
            return attribute(*args, **kwargs)

        return call


def test_results_delivered_during_an_outage_are_kept() -> None:
    store = FlakyStore()
    engine = DurableEngine(load_app(APP_DIR), store, worker_count=2)
    engine.backoff = Backoff(first=0.05, cap=0.2)

    async def scenario() -> tuple[str, Any, list[str]]:
        await engine.start()
        try:
            instance_id = await engine.start_new("slow_fanout", None, json.dumps({"n": 4, "seconds": 0.6}))
            # Storage goes away while the four activities run and comes back after they all finished.
            for _ in range(200):
                if any(e["EventType"] == h.EventType.TASK_SCHEDULED for e in await engine.get_history(instance_id)):
                    break
                await asyncio.sleep(0.02)
            store.down.set()
            for _ in range(600):
                if engine.stats.activities_run >= 4:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # the results are being written (and refused) now
            store.down.clear()
            record = await engine.wait_for(instance_id, 60)
            return record.runtime_status, record.output, h.describe(await engine.get_history(instance_id))
        finally:
            await engine.stop()

    status, output, labels = asyncio.run(scenario())
    assert store.refused > 0  # the outage really hit the engine's writes
    assert status == "Completed", output
    assert json.loads(output) == "finished"
    assert sum(label.startswith("TaskCompleted") for label in labels) == 4


def test_only_transient_failures_are_retried() -> None:
    assert is_transient(ServiceRequestError("Connection refused"))
    assert is_transient(ConnectionResetError())
    assert is_transient(HttpResponseError(message="busy", response=None))  # no answer at all
    error = HttpResponseError(message="bad request")
    error.status_code = 400
    assert not is_transient(error)
    error.status_code = 503
    assert is_transient(error)
    assert not is_transient(ValueError("bug"))


def test_backoff_grows_to_its_cap() -> None:
    backoff = Backoff(first=0.25, factor=2.0, cap=2.0)
    assert [backoff.delay(n) for n in (1, 2, 3, 4, 5, 9)] == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
