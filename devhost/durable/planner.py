"""Episode planning: old history plus waiting messages in, the events to commit and the work to start out.

Pure: no store, no clock (``now`` is passed in), no asyncio. The orchestrator's user function is
passed as ``orchestrate(context_json) -> OrchestratorResult``; the SDK handler is synchronous and does
no I/O, so a plan is a function of its inputs (durabletask keeps its ``_OrchestrationExecutor`` apart
from the worker the same way). ``devhost.durable.episodes`` commits a plan and starts its work.

Sequence numbers: the SDK numbers tasks as they are yielded, and ``call_activity_with_retry`` adds
timer and re-scheduled tasks that have no action of their own. Retry follow-ups are placed first in an
episode's batch, so their ids come before the ids of the actions the user code yields in that episode,
exactly as the SDK assigns them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from devhost.durable import history as h
from devhost.durable.history import ActionType, EventType, OrchestrationStatus
from devhost.durable.state import Event, HistoryIndex, execution_input
from devhost.durable.store import (
    COMPLETED,
    CONTINUED_AS_NEW,
    FAILED,
    RUNNING,
    SUSPENDED,
    TERMINATED,
    InstanceRecord,
)

Orchestrate = Callable[[str], h.OrchestratorResult]
_CONTROL = frozenset({EventType.EXECUTION_SUSPENDED, EventType.EXECUTION_RESUMED})


class Outcome(Enum):
    WAIT = "wait"  # nothing can run yet (messages before the start): keep the batch
    RECORD = "record"  # suspend/resume only: recorded without replaying the orchestrator
    REPLAY = "replay"  # the orchestrator ran: new events, maybe new work, maybe finished
    TERMINATE = "terminate"
    CONTINUE_AS_NEW = "continue_as_new"


@dataclass
class EpisodePlan:
    """What one episode commits (``events`` appended to the history) and what it starts (``work``)."""

    outcome: Outcome
    events: list[Event] = field(default_factory=list)
    # A new execution (first start or continue-as-new): the history is rewritten from row 0.
    fresh: bool = False
    execution_id: str | None = None
    input_text: str | None = None
    status: str = RUNNING  # the instance's runtime status after the commit
    output: str | None = None
    custom_status: str | None = None
    set_custom_status: bool = False
    work: list[Event] = field(default_factory=list)
    continue_input: str | None = None


def json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def child_id(instance_id: str, sequence: int) -> str:
    """Deterministic default id for a sub-orchestration without an explicit one."""
    return f"{instance_id}:{sequence:04X}"


def plan_episode(
    record: InstanceRecord, history: list[Event], messages: list[Event], now: datetime, orchestrate: Orchestrate,
) -> EpisodePlan:
    """Plan one episode of ``record`` over ``history`` consuming ``messages`` (in arrival order)."""
    starts = [m for m in messages if m["EventType"] == EventType.EXECUTION_STARTED]
    fresh = bool(starts)
    plan = EpisodePlan(Outcome.WAIT)
    if fresh:
        history = []
        plan.fresh = True
        plan.execution_id = starts[-1]["OrchestrationInstance"]["ExecutionId"]
        plan.input_text = starts[-1].get("Input")
        messages = [starts[-1]] + [m for m in messages if m["EventType"] != EventType.EXECUTION_STARTED]
    elif not history:
        return plan

    terminate = next((m for m in messages if m["EventType"] == EventType.EXECUTION_TERMINATED), None)
    if terminate is not None:
        plan.outcome, plan.status = Outcome.TERMINATE, TERMINATED
        plan.output = json.dumps(terminate.get("Input"))
        plan.events = [
            h.orchestrator_started(now), *([messages[0]] if fresh else []), terminate,
            h.execution_completed(OrchestrationStatus.TERMINATED, plan.output, timestamp=now),
            h.orchestrator_completed(now),
        ]
        return plan

    index = HistoryIndex.of(history)
    accepted = _accepted(index, messages)
    sdk_events = [m for m in accepted if m["EventType"] not in _CONTROL]
    status = record.runtime_status
    for message in accepted:
        if message["EventType"] == EventType.EXECUTION_SUSPENDED:
            status = SUSPENDED
        elif message["EventType"] == EventType.EXECUTION_RESUMED:
            status = RUNNING
    if not sdk_events:
        plan.outcome, plan.events, plan.status = Outcome.RECORD, accepted, status
        return plan

    # Retry follow-ups first: the SDK gives them ids before anything the user code yields.
    retry_first = [m for m in sdk_events if retry_consumes_id(index, m)]
    ordered = retry_first + [m for m in sdk_events if not retry_consumes_id(index, m)]
    if fresh:
        ordered.remove(messages[0])
        ordered.insert(0, messages[0])
    next_id = index.next_id
    followups: list[Event] = []
    for message in retry_first:
        event, next_id = _retry_followup(record.instance_id, index, message, next_id, now)
        followups.append(event)

    new_events = [h.orchestrator_started(now)] + ordered + [m for m in accepted if m["EventType"] in _CONTROL]
    episode_history = history + new_events
    input_text = plan.input_text if fresh else execution_input(history, record)
    result = orchestrate(h.context_json(
        episode_history, instance_id=record.instance_id, input_text=input_text,
        parent_instance_id=record.parent_instance_id, played_count=len(history),
    ))

    action_events: list[Event] = []
    continue_input: str | None = None
    continued = False
    failure: str | None = result.error if result.failed else None
    if failure is None:
        for action in h.flatten_actions(result.actions)[index.action_count:]:
            kind = action.get("actionType")
            if kind == ActionType.CONTINUE_AS_NEW:
                continued = True
                continue_input = action.get("input")
                break
            new_event = action_event(record.instance_id, action, next_id, now)
            if new_event is None:
                failure = (
                    f"action type {kind} is not supported by the local durable host "
                    "(durable entities and call_http need the real extension)"
                )
                break
            action_events.append(new_event)
            next_id += 1

    plan.set_custom_status = result.custom_status is not None or failure is None
    plan.custom_status = json_text(result.custom_status)
    if continued:
        plan.outcome, plan.status, plan.continue_input = Outcome.CONTINUE_AS_NEW, CONTINUED_AS_NEW, continue_input
        return plan

    plan.outcome = Outcome.REPLAY
    plan.status = SUSPENDED if status == SUSPENDED else RUNNING
    closing: list[Event] = []
    if failure is not None:
        failure_message = f"Orchestrator function '{record.name}' failed: {failure}"
        plan.output = json.dumps(failure_message)
        plan.status = FAILED
        action_events = []
        closing.append(h.execution_completed(
            OrchestrationStatus.FAILED, plan.output,
            failure={"ErrorType": "OrchestrationFailureException", "ErrorMessage": failure_message}, timestamp=now,
        ))
    elif result.is_done:
        plan.output = json_text(result.output)
        plan.status = COMPLETED
        closing.append(h.execution_completed(OrchestrationStatus.COMPLETED, plan.output, timestamp=now))
    plan.work = followups + action_events
    closing.append(h.orchestrator_completed(now))
    plan.events = new_events + plan.work + closing
    return plan


def _accepted(index: HistoryIndex, messages: list[Event]) -> list[Event]:
    """Drop duplicates: consumed messages and completions for work that is not open (at-least-once re-runs)."""
    accepted: list[Event] = []
    open_tasks = set(index.open_tasks)
    open_timers = set(index.open_timers)
    seen = set(index.message_ids)
    for message in messages:
        message_id = message.get("_msg")
        if message_id in seen:
            continue  # consumed before, or stored twice (a write retried after its answer was lost)
        if message_id:
            seen.add(message_id)
        if "TaskScheduledId" in message:
            if message["TaskScheduledId"] not in open_tasks:
                continue
            open_tasks.discard(message["TaskScheduledId"])
        elif message["EventType"] == EventType.TIMER_FIRED:
            if message["TimerId"] not in open_timers:
                continue
            open_timers.discard(message["TimerId"])
        accepted.append(message)
    return accepted


def retry_consumes_id(index: HistoryIndex, event: Event) -> bool:
    """Whether the SDK assigns a new sequence number while processing this event (retry emulation)."""
    kind = event["EventType"]
    if kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_FAILED):
        scheduled = index.open_tasks.get(int(event["TaskScheduledId"]))
        return bool(scheduled and scheduled.get("_retry"))
    if kind == EventType.TIMER_FIRED:
        timer = index.open_timers.get(int(event["TimerId"]))
        chain = (timer or {}).get("_retry")
        return bool(chain and chain["attempt"] < chain["max"])
    return False


def _retry_followup(
    instance_id: str, index: HistoryIndex, message: Event, next_id: int, now: datetime
) -> tuple[Event, int]:
    """TaskFailed -> the retry timer; retry TimerFired -> the next attempt (RetryInterceptor emulation)."""
    if message["EventType"] == EventType.TIMER_FIRED:
        chain = dict(index.open_timers[int(message["TimerId"])]["_retry"])
        chain["attempt"] += 1
        chain["followup"] = True
        if chain["kind"] == "activity":
            event = h.task_scheduled(next_id, chain["name"], chain.get("input"), now)
        else:
            # A failed child is terminal, so an explicit id can simply be started again.
            child = chain.get("instance") or child_id(instance_id, next_id)
            event = h.sub_orchestration_created(next_id, chain["name"], child, chain.get("input"), now)
    else:
        chain = dict(index.open_tasks[int(message["TaskScheduledId"])]["_retry"])
        chain["followup"] = True
        fire_at = now + timedelta(milliseconds=int(chain["interval_ms"]))
        event = h.timer_created(next_id, fire_at, now)
    event["_retry"] = chain
    return event, next_id + 1


def _retry_chain(kind: str, action: dict[str, Any]) -> dict[str, Any]:
    options = action.get("retryOptions") or {}
    chain = {
        "kind": kind, "name": action["functionName"], "input": action.get("input"),
        "max": int(options.get("maxNumberOfAttempts", 1)),
        "interval_ms": int(options.get("firstRetryIntervalInMilliseconds", 1000)), "attempt": 1,
    }
    if kind == "orchestrator":
        chain["instance"] = action.get("instanceId")
    return chain


def action_event(instance_id: str, action: dict[str, Any], event_id: int, now: datetime) -> Event | None:
    """The history event that records one new action (None: not supported locally)."""
    kind = action.get("actionType")
    if kind in (ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY):
        event = h.task_scheduled(event_id, action["functionName"], action.get("input"), now)
        if kind == ActionType.CALL_ACTIVITY_WITH_RETRY:
            event["_retry"] = _retry_chain("activity", action)
        return event
    if kind in (ActionType.CALL_SUB_ORCHESTRATOR, ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY):
        child = action.get("instanceId") or child_id(instance_id, event_id)
        event = h.sub_orchestration_created(event_id, action["functionName"], child, action.get("input"), now)
        if kind == ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY:
            event["_retry"] = _retry_chain("orchestrator", action)
        return event
    if kind == ActionType.CREATE_TIMER:
        return h.timer_created(event_id, h.parse_timestamp(action["fireAt"]), now)
    return None
