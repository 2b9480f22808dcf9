"""TableStore on Azurite, and an engine restart (new engine on the same store) mid-orchestration."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devhost.durable import history as h
from devhost.durable.engine import DurableEngine
from devhost.durable.store import InstanceRecord
from devhost.durable.table_store import TableStore
from devhost.indexer import load_app

pytestmark = pytest.mark.integration

APP_DIR = Path(__file__).resolve().parents[1] / "apps" / "durable_app"


def test_table_store_round_trip(storage_connection: str, unique_name: str) -> None:
    store = TableStore(storage_connection, unique_name)
    now = datetime.now(UTC).replace(microsecond=0)
    big_input = json.dumps("x" * 70_000)  # above the table property limit -> blob
    record = InstanceRecord(
        instance_id="inst-1", name="orch", execution_id="e1", runtime_status="Running",
        created_time=now, last_updated_time=now, input=big_input, custom_status=json.dumps({"p": 1}),
    )
    store.put_instance(record)
    loaded = store.get_instance("inst-1")
    assert loaded is not None
    assert (loaded.input, loaded.custom_status, loaded.created_time) == (big_input, '{"p": 1}', now)

    events = [h.orchestrator_started(), h.execution_started("orch", big_input, "inst-1", "e1")]
    events += [h.task_scheduled(i, "work", str(i)) for i in range(150)]  # more than one 100-op batch
    key = store.add_message("inst-1", h.task_completed(0, "1"))
    store.write_history("inst-1", "e1", 0, events, consumed=[])
    assert store.load_messages("inst-1")[0][0] == key
    history = store.load_history("inst-1")
    assert len(history) == 152
    assert history[1]["Input"] == big_input
    assert [e["EventId"] for e in history[2:]] == list(range(150))

    # An episode: append + consume the message in one call.
    store.write_history("inst-1", "e1", 152, [h.task_completed(0, "1")], consumed=[key])
    assert store.load_messages("inst-1") == []
    # A new execution overwrites from row 0 and drops the old tail.
    store.write_history("inst-1", "e2", 0, [h.orchestrator_started()], truncate=True)
    assert len(store.load_history("inst-1")) == 1

    assert [r.instance_id for r in store.query_instances(statuses=["Running"], prefix="inst")] == ["inst-1"]
    assert store.query_instances(statuses=["Completed"]) == []
    assert store.query_instances(created_from=now + timedelta(seconds=5)) == []
    assert store.delete_instance("inst-1") is True
    assert store.get_instance("inst-1") is None
    assert store.load_history("inst-1") == []


def test_restart_mid_orchestration_loses_no_result(storage_connection: str, unique_name: str) -> None:
    app = load_app(APP_DIR)

    async def scenario() -> tuple[list[int], list[str], list[str], str]:
        first = DurableEngine(app, TableStore(storage_connection, unique_name), worker_count=1)
        await first.start()
        seq_id = await first.start_new("sequence", "seq-1", json.dumps({"steps": 4, "seconds": 0.4}))
        timer_id = await first.start_new("timer_then_done", "timer-1", "1.5")
        # Wait until the first result is recorded, then "crash": a new engine on the same store.
        for _ in range(200):
            labels = h.describe(await first.get_history(seq_id))
            if "TaskCompleted#0" in labels:
                break
            await asyncio.sleep(0.05)
        before_crash = [e for e in await first.get_history(seq_id) if e["EventType"] == h.EventType.TASK_COMPLETED]
        await first.stop()

        second = DurableEngine(app, TableStore(storage_connection, unique_name), worker_count=1)
        await second.start()
        try:
            record = await second.wait_for(seq_id, 60)
            timer_record = await second.wait_for(timer_id, 60)
            history = await second.get_history(seq_id)
        finally:
            await second.stop()
        recorded = [e for e in history if e["EventType"] == h.EventType.TASK_COMPLETED]
        kept = [e["Timestamp"] for e in recorded[: len(before_crash)]]
        return json.loads(record.output), h.describe(history), kept, timer_record.runtime_status + str(
            [e["Timestamp"] for e in before_crash] == kept
        )

    output, labels, _, timer_and_kept = asyncio.run(scenario())
    assert output == [100, 101, 102, 103]
    assert [x for x in labels if x.startswith("TaskCompleted")] == [f"TaskCompleted#{i}" for i in range(4)]
    assert labels[-2:] == ["ExecutionCompleted", "OrchestratorCompleted"]
    # The results recorded before the crash are the very events in the final history.
    assert timer_and_kept == "CompletedTrue"
