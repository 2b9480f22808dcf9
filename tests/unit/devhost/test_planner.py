"""plan_episode without a store: histories and messages in, events and work out, through the real SDK
handler of tests/apps/durable_app's orchestrators."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devhost.durable import history as h
from devhost.durable.history import EventType
from devhost.durable.planner import EpisodePlan, Outcome, plan_episode
from devhost.durable.store import InstanceRecord
from devhost.indexer import IndexedApp, load_app

APP_DIR = Path(__file__).resolve().parents[2] / "apps" / "durable_app"
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def app() -> IndexedApp:
    return load_app(APP_DIR)


class Instance:
    """One instance driven episode by episode, the way the engine applies plans (without storage)."""

    def __init__(self, app: IndexedApp, name: str, input_value: Any = None) -> None:
        self.app = app
        input_text = None if input_value is None else json.dumps(input_value)
        self.record = InstanceRecord(
            instance_id="plan-1", name=name, version="", execution_id="e1", runtime_status="Pending",
            created_time=T0, last_updated_time=T0, input=input_text,
        )
        self.history: list[dict[str, Any]] = []
        self.calls = 0

    def orchestrate(self, context_json: str) -> h.OrchestratorResult:
        self.calls += 1
        return h.run_handler(self.app.orchestrator(self.record.name).user_function, context_json)

    def started(self) -> dict[str, Any]:
        return h.execution_started(self.record.name, self.record.input, "plan-1", "e1", timestamp=T0)

    def episode(self, messages: list[dict[str, Any]], seconds: float = 1.0) -> EpisodePlan:
        plan = plan_episode(self.record, self.history, messages, T0 + timedelta(seconds=seconds), self.orchestrate)
        if plan.fresh:
            self.history = []
        self.history = self.history + plan.events
        self.record.runtime_status = plan.status
        return plan


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return h.describe(events)


def test_first_episode_schedules_the_first_activity(app: IndexedApp) -> None:
    instance = Instance(app, "sequence", {"steps": 2})
    plan = instance.episode([instance.started()])
    assert plan.outcome is Outcome.REPLAY and plan.fresh and plan.execution_id == "e1"
    assert kinds(plan.events) == ["OrchestratorStarted", "ExecutionStarted", "TaskScheduled#0", "OrchestratorCompleted"]
    assert [e["Name"] for e in plan.work] == ["sleepy"]
    assert plan.status == "Running"


def test_sequence_runs_to_completion_on_results_alone(app: IndexedApp) -> None:
    instance = Instance(app, "sequence", {"steps": 3})
    plan = instance.episode([instance.started()])
    for step in range(3):
        task_id = int(plan.work[0]["EventId"])
        plan = instance.episode([h.task_completed(task_id, json.dumps(step * 10))], seconds=2.0 + step)
    assert plan.status == "Completed"
    assert json.loads(plan.output or "null") == [0, 10, 20]
    assert plan.work == []
    assert kinds(plan.events)[-2:] == ["ExecutionCompleted", "OrchestratorCompleted"]


def test_messages_before_the_start_wait(app: IndexedApp) -> None:
    instance = Instance(app, "sequence")
    plan = instance.episode([h.event_raised("approve", "true")])
    assert plan.outcome is Outcome.WAIT and plan.events == [] and instance.calls == 0


def test_duplicate_completion_is_dropped_without_replay(app: IndexedApp) -> None:
    instance = Instance(app, "sequence", {"steps": 2})
    first = instance.episode([instance.started()])
    task_id = int(first.work[0]["EventId"])
    instance.episode([h.task_completed(task_id, "1")])
    calls = instance.calls
    plan = instance.episode([h.task_completed(task_id, "1")])  # an at-least-once re-run's result
    assert plan.outcome is Outcome.RECORD and plan.events == []
    assert instance.calls == calls


def test_terminate_wins_and_is_recorded_without_replay(app: IndexedApp) -> None:
    instance = Instance(app, "approval", 30)
    instance.episode([instance.started()])
    calls = instance.calls
    plan = instance.episode([h.event_raised("approve", "true"), h.execution_terminated("stop")])
    assert plan.outcome is Outcome.TERMINATE and plan.status == "Terminated"
    assert json.loads(plan.output or "null") == "stop"
    assert "ExecutionTerminated" in kinds(plan.events)
    assert instance.calls == calls


def test_terminate_with_the_start_records_both(app: IndexedApp) -> None:
    instance = Instance(app, "approval", 30)
    plan = instance.episode([instance.started(), h.execution_terminated("early")])
    assert plan.outcome is Outcome.TERMINATE and plan.fresh
    assert kinds(plan.events)[:3] == ["OrchestratorStarted", "ExecutionStarted", "ExecutionTerminated"]


def test_suspend_is_recorded_without_replay(app: IndexedApp) -> None:
    instance = Instance(app, "approval", 30)
    instance.episode([instance.started()])
    calls = instance.calls
    plan = instance.episode([h.execution_suspended("pause")])
    assert plan.outcome is Outcome.RECORD and plan.status == "Suspended"
    assert kinds(plan.events) == ["ExecutionSuspended"]
    assert instance.calls == calls


def test_failed_attempt_schedules_the_retry_timer_first(app: IndexedApp) -> None:
    instance = Instance(app, "retrying", {"max": 3, "succeed_on": 2})
    first = instance.episode([instance.started()])
    assert kinds(first.work) == ["TaskScheduled#0"] and first.work[0]["_retry"]["max"] == 3
    plan = instance.episode([h.task_failed(0, "boom", None)])
    assert kinds(plan.work) == ["TimerCreated#1"]
    fire_at = h.parse_timestamp(plan.work[0]["FireAt"])
    assert fire_at == T0 + timedelta(seconds=1.0, milliseconds=50)
    plan = instance.episode([h.timer_fired(1, plan.work[0]["FireAt"])], seconds=2.0)
    assert kinds(plan.work) == ["TaskScheduled#2"] and plan.work[0]["_retry"]["attempt"] == 2


def test_orchestrator_exception_fails_the_instance(app: IndexedApp) -> None:
    instance = Instance(app, "broken")
    instance.episode([instance.started()])
    plan = instance.episode([h.task_completed(0, "1")])
    assert plan.status == "Failed" and plan.work == []
    assert "bad orchestrator" in json.loads(plan.output or "null")
    assert plan.events[-2]["EventType"] == EventType.EXECUTION_COMPLETED


def test_continue_as_new_carries_the_next_input(app: IndexedApp) -> None:
    instance = Instance(app, "counter", {"count": 0, "limit": 2})
    instance.episode([instance.started()])
    plan = instance.episode([h.task_completed(0, "0")])
    assert plan.outcome is Outcome.CONTINUE_AS_NEW and plan.status == "ContinuedAsNew"
    assert json.loads(plan.continue_input or "null") == {"count": 1, "limit": 2}
    assert plan.events == []


def test_unknown_orchestrator_fails_with_its_name(app: IndexedApp) -> None:
    instance = Instance(app, "sequence")

    def missing(context_json: str) -> h.OrchestratorResult:
        return h.OrchestratorResult(is_done=False, actions=[], error="no orchestrator 'nope'", failed=True)

    plan = plan_episode(instance.record, [], [instance.started()], T0, missing)
    assert plan.status == "Failed" and "nope" in (plan.output or "")
