"""What the engine derives from an instance's history: sequence numbers, open work, consumed messages.

``HistoryIndex`` is pure (it only reads events), so the episode planner and the engine share it;
``InstanceState`` adds what only the running engine has (the waiting messages and the episode task).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from devhost.durable import history as h
from devhost.durable.history import EventType
from devhost.durable.store import InstanceRecord

Event = dict[str, Any]
Message = tuple[str, Event]  # (store key, event)


@dataclass
class HistoryIndex:
    """Ids, open tasks/timers and consumed message ids of one execution's history."""

    next_id: int = 0
    action_count: int = 0
    open_tasks: dict[int, Event] = field(default_factory=dict)  # TaskScheduled / SubOrch created
    open_timers: dict[int, Event] = field(default_factory=dict)
    message_ids: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, events: list[Event]) -> HistoryIndex:
        index = cls()
        for event in events:
            index.observe(event)
        return index

    def observe(self, event: Event) -> None:
        """Account for one event appended to the history."""
        kind = event["EventType"]
        message_id = event.get("_msg")
        if message_id:
            self.message_ids.add(message_id)
        if kind in h.ID_EVENTS:
            self.next_id = max(self.next_id, int(event["EventId"]) + 1)
            if not (event.get("_retry") or {}).get("followup"):
                self.action_count += 1
            if kind == EventType.TIMER_CREATED:
                self.open_timers[int(event["EventId"])] = event
            elif kind in (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_CREATED):
                self.open_tasks[int(event["EventId"])] = event
        elif kind == EventType.TIMER_FIRED:
            self.open_timers.pop(int(event["TimerId"]), None)
        elif kind in (
            EventType.TASK_COMPLETED, EventType.TASK_FAILED,
            EventType.SUB_ORCHESTRATION_COMPLETED, EventType.SUB_ORCHESTRATION_FAILED,
        ):
            self.open_tasks.pop(int(event["TaskScheduledId"]), None)


def execution_input(history: list[Event], record: InstanceRecord) -> str | None:
    """The current execution's input: its ExecutionStarted's, else the instance row's."""
    for event in history[:3]:
        if event["EventType"] == EventType.EXECUTION_STARTED:
            return event.get("Input")
    return record.input


@dataclass
class InstanceState:
    """In-memory state of one active instance; rebuilt from the store after a restart."""

    record: InstanceRecord
    history: list[Event] = field(default_factory=list)
    inbox: list[Message] = field(default_factory=list)
    index: HistoryIndex = field(default_factory=HistoryIndex)
    active: bool = False
    task: asyncio.Task[None] | None = None

    def rebuild(self) -> None:
        """Derive ids, open work and consumed message ids from the history."""
        self.index = HistoryIndex.of(self.history)

    def append(self, events: list[Event]) -> None:
        for event in events:
            self.history.append(event)
            self.index.observe(event)
