"""DurableTask.Core history events and the out-of-proc orchestrator protocol, as JSON.

Events are plain dicts in the shape Newtonsoft gives DTFx's ``HistoryEvent`` (PascalCase, integer
``EventType``), which is what the Python SDK's ``HistoryEvent(**event)`` reads. Keys starting with ``_``
are the engine's own bookkeeping (message ids, retry chains); they are stored with the event but never
sent to the SDK.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any


class EventType(IntEnum):
    """DurableTask.Core ``EventType`` numbers."""

    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_FAILED = 2
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_CREATED = 7
    SUB_ORCHESTRATION_COMPLETED = 8
    SUB_ORCHESTRATION_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_SENT = 14
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16
    GENERIC = 17
    HISTORY_STATE = 18
    EXECUTION_SUSPENDED = 19
    EXECUTION_RESUMED = 20


class OrchestrationStatus(IntEnum):
    """DTFx ``OrchestrationStatus`` as written into ExecutionCompleted."""

    RUNNING = 0
    COMPLETED = 1
    CONTINUED_AS_NEW = 2
    FAILED = 3
    CANCELED = 4
    TERMINATED = 5
    PENDING = 6
    SUSPENDED = 7


class ActionType(IntEnum):
    """The SDK's ``ActionType`` numbers (OrchestratorState actions)."""

    CALL_ACTIVITY = 0
    CALL_ACTIVITY_WITH_RETRY = 1
    CALL_SUB_ORCHESTRATOR = 2
    CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
    CONTINUE_AS_NEW = 4
    CREATE_TIMER = 5
    WAIT_FOR_EXTERNAL_EVENT = 6
    CALL_ENTITY = 7
    CALL_HTTP = 8
    SIGNAL_ENTITY = 9
    WHEN_ANY = 11
    WHEN_ALL = 12


# Events that take a sequence number (TaskScheduled.EventId etc.) and so advance the SDK's counter.
ID_EVENTS = frozenset(
    {EventType.TASK_SCHEDULED, EventType.TIMER_CREATED, EventType.SUB_ORCHESTRATION_CREATED, EventType.EVENT_SENT}
)
# Events that complete something the orchestrator waits for.
COMPLETION_EVENTS = frozenset(
    {
        EventType.TASK_COMPLETED,
        EventType.TASK_FAILED,
        EventType.TIMER_FIRED,
        EventType.SUB_ORCHESTRATION_COMPLETED,
        EventType.SUB_ORCHESTRATION_FAILED,
    }
)

OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    """ISO timestamp with microseconds, as DTFx writes them (``2024-01-01T00:00:00.123456Z``)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> datetime:
    """Inverse of :func:`format_timestamp`; also accepts the SDK's fireAt and offsets."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _event(event_type: EventType, timestamp: datetime | None, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "EventType": int(event_type),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": format_timestamp(timestamp or utc_now()),
    }
    event.update(fields)
    return event


def orchestrator_started(timestamp: datetime | None = None) -> dict[str, Any]:
    """OrchestratorStarted; its Timestamp drives ``context.current_utc_datetime``."""
    return _event(EventType.ORCHESTRATOR_STARTED, timestamp)


def orchestrator_completed(timestamp: datetime | None = None) -> dict[str, Any]:
    """OrchestratorCompleted, closing an episode."""
    return _event(EventType.ORCHESTRATOR_COMPLETED, timestamp)


def execution_started(
    name: str,
    input_text: str | None,
    instance_id: str,
    execution_id: str,
    *,
    parent: dict[str, Any] | None = None,
    version: str = "",
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """ExecutionStarted. ``Version`` is always present: the SDK fails without it."""
    return _event(
        EventType.EXECUTION_STARTED,
        timestamp,
        OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
        ParentInstance=parent,
        Name=name,
        Version=version or "",
        Input=input_text,
        Tags=None,
    )


def execution_completed(
    status: OrchestrationStatus, result: str | None, *, failure: dict[str, Any] | None = None,
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """ExecutionCompleted with the DTFx status number and the result text."""
    return _event(
        EventType.EXECUTION_COMPLETED, timestamp, OrchestrationStatus=int(status), Result=result, FailureDetails=failure
    )


def execution_terminated(reason: str | None, timestamp: datetime | None = None) -> dict[str, Any]:
    """ExecutionTerminated; Input holds the reason."""
    return _event(EventType.EXECUTION_TERMINATED, timestamp, Input=reason)


def execution_suspended(reason: str | None, timestamp: datetime | None = None) -> dict[str, Any]:
    """ExecutionSuspended."""
    return _event(EventType.EXECUTION_SUSPENDED, timestamp, Reason=reason)


def execution_resumed(reason: str | None, timestamp: datetime | None = None) -> dict[str, Any]:
    """ExecutionResumed."""
    return _event(EventType.EXECUTION_RESUMED, timestamp, Reason=reason)


def task_scheduled(event_id: int, name: str, input_text: str | None, timestamp: datetime | None = None) -> dict[str, Any]:
    """TaskScheduled; EventId is the task's sequence number."""
    return _event(EventType.TASK_SCHEDULED, timestamp, event_id, Name=name, Version="", Input=input_text)


def task_completed(scheduled_id: int, result: str | None, timestamp: datetime | None = None) -> dict[str, Any]:
    """TaskCompleted; Result is the df_dumps text of the activity's return value."""
    return _event(EventType.TASK_COMPLETED, timestamp, TaskScheduledId=scheduled_id, Result=result)


def task_failed(scheduled_id: int, reason: str, details: str | None, timestamp: datetime | None = None) -> dict[str, Any]:
    """TaskFailed; the SDK raises ``Exception(f"{Reason} \\n {Details}")``."""
    return _event(EventType.TASK_FAILED, timestamp, TaskScheduledId=scheduled_id, Reason=reason, Details=details)


def timer_created(event_id: int, fire_at: datetime, timestamp: datetime | None = None) -> dict[str, Any]:
    """TimerCreated."""
    return _event(EventType.TIMER_CREATED, timestamp, event_id, FireAt=format_timestamp(fire_at))


def timer_fired(timer_id: int, fire_at: str, timestamp: datetime | None = None) -> dict[str, Any]:
    """TimerFired; TimerId matches TimerCreated.EventId."""
    return _event(EventType.TIMER_FIRED, timestamp, TimerId=timer_id, FireAt=fire_at)


def sub_orchestration_created(
    event_id: int, name: str, instance_id: str, input_text: str | None, timestamp: datetime | None = None
) -> dict[str, Any]:
    """SubOrchestrationInstanceCreated."""
    return _event(
        EventType.SUB_ORCHESTRATION_CREATED, timestamp, event_id, Name=name, Version="", InstanceId=instance_id,
        Input=input_text,
    )


def sub_orchestration_completed(scheduled_id: int, result: str | None, timestamp: datetime | None = None) -> dict[str, Any]:
    """SubOrchestrationInstanceCompleted."""
    return _event(EventType.SUB_ORCHESTRATION_COMPLETED, timestamp, TaskScheduledId=scheduled_id, Result=result)


def sub_orchestration_failed(
    scheduled_id: int, reason: str, details: str | None, timestamp: datetime | None = None
) -> dict[str, Any]:
    """SubOrchestrationInstanceFailed."""
    return _event(
        EventType.SUB_ORCHESTRATION_FAILED, timestamp, TaskScheduledId=scheduled_id, Reason=reason, Details=details
    )


def event_raised(name: str, input_text: str | None, timestamp: datetime | None = None) -> dict[str, Any]:
    """EventRaised; matched by Name, Input is JSON text."""
    return _event(EventType.EVENT_RAISED, timestamp, Name=name, Input=input_text)


def continue_as_new(result: str | None, timestamp: datetime | None = None) -> dict[str, Any]:
    """ContinueAsNew; Result is the new input."""
    return _event(EventType.CONTINUE_AS_NEW, timestamp, Result=result)


def new_message_id() -> str:
    """Unique id stamped on an inbound message so replays of the inbox can be de-duplicated."""
    return uuid.uuid4().hex


def public_event(event: dict[str, Any], *, played: bool | None = None) -> dict[str, Any]:
    """The event as the SDK/status API sees it: the engine's ``_`` keys removed."""
    shown = {k: v for k, v in event.items() if not k.startswith("_")}
    if played is not None:
        shown["IsPlayed"] = played
    return shown


def _event_text(event: dict[str, Any], played: bool) -> str:
    # Past events are serialized once and cached: replay cost stays one string join per event.
    if played:
        cached = event.get("_json")
        if cached is None:
            cached = json.dumps(public_event(event, played=True), separators=(",", ":"))
            event["_json"] = cached
        return str(cached)
    return json.dumps(public_event(event, played=False), separators=(",", ":"))


def context_json(
    history: list[dict[str, Any]],
    *,
    instance_id: str,
    input_text: str | None,
    parent_instance_id: str | None = None,
    played_count: int | None = None,
) -> str:
    """The orchestration trigger's context JSON, as the DF extension builds it.

    Args:
        history: all events of the current execution, the new episode's included.
        instance_id: the instance id.
        input_text: the orchestration input as JSON text (df_dumps output); sent as a JSON string.
        parent_instance_id: the parent's id for sub-orchestrations.
        played_count: how many leading events were seen by an earlier episode (``IsPlayed: true``);
            defaults to everything before the last OrchestratorStarted.
    """
    if played_count is None:
        played_count = 0
        for index in range(len(history) - 1, -1, -1):
            if history[index]["EventType"] == EventType.ORCHESTRATOR_STARTED:
                played_count = index
                break
    parts = [_event_text(event, index < played_count) for index, event in enumerate(history)]
    head = {
        "input": input_text,
        "instanceId": instance_id,
        "isReplaying": False,
        "parentInstanceId": parent_instance_id,
        "upperSchemaVersion": 1,
        "upperSchemaVersionNew": 2,
        "longRunningTimerIntervalDuration": "3.00:00:00",
        "maximumShortTimerDuration": "6.00:00:00",
        "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
    }
    return '{"history":[' + ",".join(parts) + "]," + json.dumps(head)[1:]


@dataclass
class OrchestratorResult:
    """What one handler call (episode) returned: the OrchestratorState plus the error, if it raised."""

    is_done: bool
    actions: list[dict[str, Any]]
    output: Any = None
    custom_status: Any = None
    error: str | None = None
    failed: bool = False
    raw: dict[str, Any] = field(default_factory=dict)


def parse_orchestrator_state(text: str) -> OrchestratorResult:
    """Parse the JSON the handler returned (schema V2/V3: ``actions`` is ``[[...]]``)."""
    state = json.loads(text)
    actions: list[dict[str, Any]] = []
    for group in state.get("actions") or []:
        actions.extend(group)
    return OrchestratorResult(
        is_done=bool(state.get("isDone")),
        actions=actions,
        output=state.get("output"),
        custom_status=state.get("customStatus"),
        error=state.get("error"),
        raw=state,
    )


def parse_orchestrator_exception(exc: BaseException) -> OrchestratorResult:
    """The SDK raises ``Exception("<msg>\\n\\n$OutOfProcData$:<state>")`` on a user exception."""
    message = str(exc)
    if OUT_OF_PROC_MARKER in message:
        error, _, state_text = message.partition(OUT_OF_PROC_MARKER)
        try:
            result = parse_orchestrator_state(state_text)
        except ValueError:
            result = OrchestratorResult(is_done=False, actions=[])
        result.error = result.error or error
        result.failed = True
        return result
    return OrchestratorResult(is_done=False, actions=[], error=message or type(exc).__name__, failed=True)


def flatten_actions(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flat, id-ordered actions: compound WhenAll/WhenAny expanded, WaitForExternalEvent dropped."""
    flat: list[dict[str, Any]] = []
    stack = list(reversed(actions))
    while stack:
        action = stack.pop()
        kind = action.get("actionType")
        if kind in (ActionType.WHEN_ALL, ActionType.WHEN_ANY):
            stack.extend(reversed(action.get("compoundActions") or []))
        elif kind != ActionType.WAIT_FOR_EXTERNAL_EVENT:
            flat.append(action)
    return flat


def describe(history: list[dict[str, Any]]) -> list[str]:
    """Short labels (``TaskScheduled#3``) for tests and logs."""
    labels = []
    for event in history:
        name = EventType(event["EventType"]).name.title().replace("_", "")
        ref = event.get("TaskScheduledId", event.get("TimerId"))
        if event["EventType"] in (EventType.TASK_SCHEDULED, EventType.TIMER_CREATED, EventType.SUB_ORCHESTRATION_CREATED):
            ref = event["EventId"]
        labels.append(f"{name}#{ref}" if ref is not None and ref != -1 else name)
    return labels


def run_handler(user_function: Any, context_json: str) -> OrchestratorResult:
    """One episode through the SDK's orchestrator handler (synchronous, no I/O)."""
    import azure.functions as func

    try:
        return parse_orchestrator_state(user_function(func.OrchestrationContext(context_json)))
    except Exception as exc:  # noqa: BLE001 - the SDK reports user failures by raising
        return parse_orchestrator_exception(exc)
