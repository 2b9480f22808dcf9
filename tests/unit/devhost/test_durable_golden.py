"""Golden tests of the out-of-proc protocol: histories built with devhost.durable.history, run through
the real azure-functions-durable handler, asserting the actions and state it returns."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from devhost.durable import history as h
from devhost.durable.history import ActionType

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def run(fn: Any, events: list[dict[str, Any]], input_value: Any = None, played: int | None = None) -> h.OrchestratorResult:
    """One episode through the SDK's handler, as the engine does it."""
    payload = h.context_json(
        events, instance_id="golden-1", input_text=None if input_value is None else json.dumps(input_value),
        played_count=played,
    )
    handler = df.Orchestrator.create(fn)
    try:
        return h.parse_orchestrator_state(handler(func.OrchestrationContext(payload)))
    except Exception as exc:  # noqa: BLE001 - the SDK's failure channel
        return h.parse_orchestrator_exception(exc)


def start(input_value: Any = None, name: str = "orch") -> list[dict[str, Any]]:
    return [
        h.orchestrator_started(T0),
        h.execution_started(name, None if input_value is None else json.dumps(input_value), "golden-1", "e1",
                            timestamp=T0),
    ]


def episode(*events: dict[str, Any], when: float) -> list[dict[str, Any]]:
    return [h.orchestrator_started(at(when)), *events]


def done() -> dict[str, Any]:
    return h.orchestrator_completed(T0)


# ---------------------------------------------------------------- orchestrators under test

def fan_out(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    n = context.get_input()
    results = yield context.task_all([context.call_activity("work", i) for i in range(n)])
    return sum(results)


def sequential(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    first = yield context.call_activity("a", "x")
    second = yield context.call_activity("b", first)
    return [first, second]


def with_timer(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    seconds = context.get_input()
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=seconds))
    return "fired"


def wait_event(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    value = yield context.wait_for_external_event("approve")
    return {"got": value}


def event_or_timeout(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    event = context.wait_for_external_event("approve")
    timer = context.create_timer(context.current_utc_datetime + timedelta(seconds=60))
    winner = yield context.task_any([event, timer])
    return "event" if winner == event else "timeout"


def retried(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    options = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=2)
    try:
        value = yield context.call_activity_with_retry("flaky", options, "in")
    except Exception as exc:  # noqa: BLE001
        return {"failed": str(exc)}
    after = yield context.call_activity("after", value)
    return {"value": value, "after": after}


def parent(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    try:
        value = yield context.call_sub_orchestrator("child", 5, instance_id="kid-1")
    except Exception as exc:  # noqa: BLE001
        return {"failed": str(exc)}
    return {"child": value}


def failing(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    context.set_custom_status("about to fail")
    yield context.call_activity("a", None)
    raise ValueError("boom")


def counting(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    count = context.get_input()
    yield context.call_activity("tick", count)
    context.continue_as_new(count + 1)


# ---------------------------------------------------------------- tests

def test_first_episode_uses_schema_v3_and_one_compound_action() -> None:
    result = run(fan_out, start(3), 3)

    assert result.raw["schemaVersion"] == 2
    assert result.is_done is False
    assert [a["actionType"] for a in result.actions] == [ActionType.WHEN_ALL]
    flat = h.flatten_actions(result.actions)
    assert [(a["functionName"], a["input"]) for a in flat] == [("work", "0"), ("work", "1"), ("work", "2")]


def test_fan_in_with_all_completions_in_one_batch_completes() -> None:
    events = start(3) + [h.task_scheduled(i, "work", str(i), T0) for i in range(3)] + [done()]
    partial = events + episode(h.task_completed(0, "10", at(1)), h.task_completed(2, "30", at(1)), when=1)
    waiting = run(fan_out, partial, 3)
    assert waiting.is_done is False
    assert len(h.flatten_actions(waiting.actions)) == 3  # re-emitted, nothing new

    complete = partial + [done()] + episode(h.task_completed(1, "20", at(2)), when=2)
    result = run(fan_out, complete, 3)
    assert result.is_done is True
    assert result.output == 60


def test_sequential_actions_grow_append_only() -> None:
    first = run(sequential, start())
    assert [a["functionName"] for a in h.flatten_actions(first.actions)] == ["a"]

    events = start() + [h.task_scheduled(0, "a", '"x"', T0), done()]
    events += episode(h.task_completed(0, '"A"', at(1)), when=1)
    second = run(sequential, events)
    flat = h.flatten_actions(second.actions)
    assert [(a["functionName"], a["input"]) for a in flat] == [("a", '"x"'), ("b", '"A"')]


def test_short_timer_action_and_firing() -> None:
    first = run(with_timer, start(30), 30)
    (timer,) = h.flatten_actions(first.actions)
    assert timer["actionType"] == ActionType.CREATE_TIMER
    assert h.parse_timestamp(timer["fireAt"]) == at(30)

    events = start(30) + [h.timer_created(0, at(30), T0), done()]
    events += episode(h.timer_fired(0, timer["fireAt"], at(30)), when=30)
    assert run(with_timer, events, 30).output == "fired"


def test_long_timer_is_split_into_three_day_timers() -> None:
    ten_days = 10 * 86400
    first = run(with_timer, start(ten_days), ten_days)
    flat = h.flatten_actions(first.actions)
    assert [h.parse_timestamp(a["fireAt"]) for a in flat] == [T0 + timedelta(days=3)]

    events = start(ten_days) + [h.timer_created(0, T0 + timedelta(days=3), T0), done()]
    events += episode(h.timer_fired(0, flat[0]["fireAt"]), when=3 * 86400)
    second = h.flatten_actions(run(with_timer, events, ten_days).actions)
    assert [h.parse_timestamp(a["fireAt"]) for a in second[1:]] == [T0 + timedelta(days=6)]

    events += [h.timer_created(1, T0 + timedelta(days=6)), done()]
    events += episode(h.timer_fired(1, second[1]["fireAt"]), when=6 * 86400)
    third = run(with_timer, events, ten_days)
    assert third.is_done is False
    assert h.parse_timestamp(h.flatten_actions(third.actions)[2]["fireAt"]) == T0 + timedelta(days=10)

    events += [h.timer_created(2, T0 + timedelta(days=10)), done()]
    events += episode(h.timer_fired(2, h.flatten_actions(third.actions)[2]["fireAt"]), when=ten_days)
    assert run(with_timer, events, ten_days).output == "fired"


def test_external_event_raised_before_the_wait_is_buffered() -> None:
    waiting = run(wait_event, start())
    assert waiting.is_done is False
    assert h.flatten_actions(waiting.actions) == []  # WaitForExternalEvent takes no sequence number

    events = start() + [h.event_raised("approve", json.dumps({"ok": True}), T0)]
    assert run(wait_event, events).output == {"got": {"ok": True}}


def test_task_any_event_beats_timer() -> None:
    first = run(event_or_timeout, start())
    (timer,) = h.flatten_actions(first.actions)
    events = start() + [h.timer_created(0, at(60), T0), done()]
    events += episode(h.event_raised("approve", '"yes"', at(5)), when=5)
    assert run(event_or_timeout, events).output == "event"


def _retry_history(outcomes: list[str]) -> list[dict[str, Any]]:
    """The DTFx RetryInterceptor history for attempts with the given outcomes ('fail'/'ok')."""
    events = start() + [h.task_scheduled(0, "flaky", '"in"', T0), done()]
    task_id, next_id, clock = 0, 1, 1
    for outcome in outcomes:
        if outcome == "ok":
            events += episode(h.task_completed(task_id, '"good"'), when=clock)
            return events
        events += episode(h.task_failed(task_id, "bad", "details"), when=clock)
        events += [h.timer_created(next_id, at(clock + 1)), done()]
        events += episode(h.timer_fired(next_id, h.format_timestamp(at(clock + 1))), when=clock + 1)
        task_id, next_id, clock = next_id + 1, next_id + 2, clock + 2
        events += [h.task_scheduled(task_id, "flaky", '"in"'), done()]
    return events


def test_retry_first_action_carries_retry_options() -> None:
    (action,) = h.flatten_actions(run(retried, start()).actions)
    assert action["actionType"] == ActionType.CALL_ACTIVITY_WITH_RETRY
    assert action["retryOptions"] == {"firstRetryIntervalInMilliseconds": 1000, "maxNumberOfAttempts": 2}


def test_retry_succeeds_on_second_attempt_and_next_action_gets_the_next_id() -> None:
    events = _retry_history(["fail", "ok"])
    result = run(retried, events)
    flat = h.flatten_actions(result.actions)
    # One action for the whole retried call, then the next activity with the retried value.
    assert [(a["actionType"], a["functionName"]) for a in flat] == [
        (ActionType.CALL_ACTIVITY_WITH_RETRY, "flaky"), (ActionType.CALL_ACTIVITY, "after"),
    ]
    assert flat[1]["input"] == '"good"'
    # Ids used so far: task 0, timer 1, task 2 -> "after" must be 3 to complete.
    events = events + [h.task_scheduled(3, "after", '"good"'), done()]
    events += episode(h.task_completed(3, '"A"'), when=10)
    assert run(retried, events).output == {"value": "good", "after": "A"}


def test_retry_exhausted_fails_only_after_the_extra_timer() -> None:
    before_extra_timer = _retry_history(["fail"]) + episode(h.task_failed(2, "bad again", "d2"), when=5)
    assert run(retried, before_extra_timer).is_done is False

    exhausted = before_extra_timer + [h.timer_created(3, at(6)), done()]
    exhausted += episode(h.timer_fired(3, h.format_timestamp(at(6))), when=6)
    result = run(retried, exhausted)
    assert result.is_done is True
    assert result.output["failed"].startswith("bad again")


def test_sub_orchestration_action_and_results() -> None:
    (action,) = h.flatten_actions(run(parent, start()).actions)
    assert action["actionType"] == ActionType.CALL_SUB_ORCHESTRATOR
    assert (action["functionName"], action["input"], action["instanceId"]) == ("child", "5", "kid-1")

    created = start() + [h.sub_orchestration_created(0, "child", "kid-1", "5", T0), done()]
    ok = run(parent, created + episode(h.sub_orchestration_completed(0, "10"), when=1))
    assert ok.output == {"child": 10}
    failed = run(parent, created + episode(h.sub_orchestration_failed(0, "child broke", None), when=1))
    assert failed.output["failed"].startswith("child broke")


def test_orchestrator_exception_uses_out_of_proc_data() -> None:
    events = start() + [h.task_scheduled(0, "a", "null", T0), done()] + episode(h.task_completed(0, "1"), when=1)
    result = run(failing, events)
    assert result.failed is True
    assert result.error == "boom"
    assert result.custom_status == "about to fail"


def test_activity_failure_surfaces_reason_and_details() -> None:
    events = start(1) + [h.task_scheduled(0, "work", "0", T0), done()]
    events += episode(h.task_failed(0, "Activity function 'work' failed: KeyError", "Traceback..."), when=1)
    result = run(fan_out, events, 1)
    assert result.failed is True
    assert "Activity function 'work' failed: KeyError" in (result.error or "")


def test_continue_as_new_action() -> None:
    events = start(4) + [h.task_scheduled(0, "tick", "4", T0), done()] + episode(h.task_completed(0, "null"), when=1)
    result = run(counting, events, 4)
    assert result.is_done is True
    flat = h.flatten_actions(result.actions)
    assert flat[-1]["actionType"] == ActionType.CONTINUE_AS_NEW
    assert flat[-1]["input"] == "5"


def test_execution_started_without_version_breaks_the_sdk() -> None:
    events = start(1)
    del events[1]["Version"]
    with pytest.raises(AttributeError):
        df.Orchestrator.create(fan_out)(func.OrchestrationContext(
            h.context_json(events, instance_id="x", input_text="1")
        ))


def test_flatten_drops_waits_and_expands_nested_compounds() -> None:
    actions = [
        {"actionType": ActionType.WHEN_ANY, "compoundActions": [
            {"actionType": ActionType.WAIT_FOR_EXTERNAL_EVENT, "externalEventName": "e"},
            {"actionType": ActionType.WHEN_ALL, "compoundActions": [
                {"actionType": ActionType.CALL_ACTIVITY, "functionName": "x"},
                {"actionType": ActionType.CREATE_TIMER, "fireAt": "2024-01-01T00:00:00.000000Z"},
            ]},
        ]},
        {"actionType": ActionType.CALL_ACTIVITY, "functionName": "y"},
    ]
    assert [a["actionType"] for a in h.flatten_actions(actions)] == [
        ActionType.CALL_ACTIVITY, ActionType.CREATE_TIMER, ActionType.CALL_ACTIVITY,
    ]


def test_context_json_marks_past_events_played_and_hides_engine_keys() -> None:
    events = start(1) + [h.task_scheduled(0, "work", "0", T0), done()] + episode(h.task_completed(0, "5"), when=1)
    events[2]["_retry"] = {"attempt": 1}
    payload = json.loads(h.context_json(events, instance_id="i", input_text="1"))
    assert payload["upperSchemaVersionNew"] == 2
    assert payload["maximumShortTimerDuration"] == "6.00:00:00"
    assert payload["input"] == "1"
    assert [e["IsPlayed"] for e in payload["history"]] == [True, True, True, True, False, False]
    assert all("_retry" not in e for e in payload["history"])
