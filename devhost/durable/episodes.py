"""Episodes as I/O: plan (pure, ``devhost.durable.planner``), commit, then start the planned work.

An episode commits its history rows and deletes the messages it consumed in one entity-group
transaction; work (activities, timers, sub-orchestrations) is started only after that commit and
re-started from the history after a restart, so activities run at least once and no recorded result
is lost.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from abc import abstractmethod
from datetime import datetime
from functools import partial

from devhost.durable import history as h
from devhost.durable.errors import InstanceExists, OrchestratorNotFound
from devhost.durable.history import EventType, OrchestrationStatus
from devhost.durable.inbox import Inbox
from devhost.durable.planner import EpisodePlan, Outcome, plan_episode
from devhost.durable.state import Event, InstanceState, Message
from devhost.durable.store import (
    COMPLETED,
    CONTINUED_AS_NEW,
    FAILED,
    TERMINAL_STATUSES,
    TERMINATED,
    InstanceRecord,
)
from devhost.durable.workers import ActivityOutcome


class Episodes(Inbox):
    """Running episodes and the work they start: activities, timers, sub-orchestrations."""

    @abstractmethod
    async def start_new(
        self, name: str, instance_id: str | None = None, input_text: str | None = None, *,
        version: str = "", parent: tuple[str, int] | None = None,
    ) -> str:
        """Create an instance (see ``devhost.durable.client``)."""

    async def _episode(self, runtime: InstanceState, batch: list[Message]) -> bool:
        record = runtime.record
        now = h.utc_now()
        keys = [key for key, _ in batch]
        plan = await asyncio.get_running_loop().run_in_executor(
            self._orchestrator_thread, partial(
                plan_episode, record.copy(), list(runtime.history), [m for _, m in batch], now,
                partial(self._orchestrate, record.name),
            ),
        )
        if plan.outcome is Outcome.WAIT:
            # Nothing to run yet (messages before the start was delivered): keep them.
            runtime.inbox[:0] = batch
            return False
        if plan.fresh:
            # A new execution (first start or continue-as-new) replaces the history.
            runtime.history = []
            runtime.rebuild()
            record.execution_id = plan.execution_id or record.execution_id
            record.input = plan.input_text
        if plan.set_custom_status:
            record.custom_status = plan.custom_status
        if plan.outcome is Outcome.CONTINUE_AS_NEW:
            record.last_updated_time = now
            await self._continue_as_new(runtime, plan.continue_input, keys)
            return True
        await self._call(partial(
            self.store.write_history, record.instance_id, record.execution_id, len(runtime.history), plan.events,
            consumed=keys, truncate=plan.fresh,
        ), retry=True)
        runtime.append(plan.events)
        record.last_updated_time = now
        if plan.status in TERMINAL_STATUSES:
            record.output = plan.output
            if plan.outcome is Outcome.TERMINATE:
                # Messages still waiting (late activity results...) are dropped with the instance.
                leftovers = [key for key, _ in runtime.inbox]
                runtime.inbox.clear()
                if leftovers:
                    await self._call(partial(self.store.delete_messages, record.instance_id, leftovers), retry=True)
            await self._finish(runtime, plan.status, now)
            return True
        record.runtime_status = plan.status
        await self._call(partial(self.store.put_instance, record.copy()), retry=True)
        await self._start_planned(runtime, plan)
        return True

    def _orchestrate(self, name: str, context_json: str) -> h.OrchestratorResult:
        """Call the orchestrator's user function once (in the orchestrator thread: the handler is sync)."""
        try:
            info = self.app.orchestrator(name)
        except LookupError as exc:
            return h.OrchestratorResult(is_done=False, actions=[], error=str(exc), failed=True)
        began = time.perf_counter()
        result = h.run_handler(info.user_function, context_json)
        self.stats.episodes += 1
        self.stats.handler_seconds += time.perf_counter() - began
        return result

    async def _start_planned(self, runtime: InstanceState, plan: EpisodePlan) -> None:
        for event in plan.work:
            await self._start_work(runtime, event)

    async def _start_work(self, runtime: InstanceState, event: Event) -> None:
        instance_id = runtime.record.instance_id
        kind = event["EventType"]
        if kind == EventType.TASK_SCHEDULED:
            self._start_activity(instance_id, event)
        elif kind == EventType.TIMER_CREATED:
            self._arm_timer(instance_id, event)
        elif kind == EventType.SUB_ORCHESTRATION_CREATED:
            try:
                await self._ensure_child(runtime, event)
            except (OrchestratorNotFound, InstanceExists) as exc:
                await self._deliver_to(runtime, h.sub_orchestration_failed(int(event["EventId"]), str(exc), None))

    def _start_activity(self, instance_id: str, scheduled: Event) -> None:
        self._spawn(self._run_activity(instance_id, int(scheduled["EventId"]), scheduled["Name"], scheduled.get("Input")))

    async def _run_activity(self, instance_id: str, task_id: int, name: str, input_text: str | None) -> None:
        outcome: ActivityOutcome = await self.pool.run(name, input_text)
        self.stats.activities_run += 1
        if self._stopping:
            return
        if outcome.ok:
            event = h.task_completed(task_id, outcome.result)
        else:
            event = h.task_failed(task_id, outcome.reason, outcome.details)
        await self._deliver(instance_id, event)

    def _arm_timer(self, instance_id: str, created: Event) -> None:
        timer_id = int(created["EventId"])
        fire_at_text = created["FireAt"]
        delay = (h.parse_timestamp(fire_at_text) - h.utc_now()).total_seconds()
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.pop((instance_id, timer_id), None)
            self._spawn(self._deliver(instance_id, h.timer_fired(timer_id, fire_at_text)))

        previous = self._timers.pop((instance_id, timer_id), None)
        if previous:
            previous.cancel()
        self._timers[(instance_id, timer_id)] = loop.call_later(max(0.0, delay), fire)

    async def _ensure_child(self, runtime: InstanceState, created: Event) -> None:
        child_id = created["InstanceId"]
        child = await self._call(partial(self.store.get_instance, child_id), retry=True)
        if child is None:
            await self.start_new(
                created["Name"], child_id, created.get("Input"),
                parent=(runtime.record.instance_id, int(created["EventId"])),
            )
        elif child.runtime_status in TERMINAL_STATUSES:
            await self._deliver_to(runtime, child_result(child, int(created["EventId"])))

    def _execution_started(self, record: InstanceRecord) -> Event:
        parent = None
        if record.parent_instance_id:
            parent = {
                "Name": None,
                "OrchestrationInstance": {"InstanceId": record.parent_instance_id, "ExecutionId": None},
                "TaskScheduleId": record.parent_task_id,
            }
        return h.execution_started(
            record.name, record.input, record.instance_id, record.execution_id, parent=parent,
            version=record.version,
        )

    async def _continue_as_new(self, runtime: InstanceState, input_text: str | None, keys: list[str]) -> None:
        record = runtime.record
        record.execution_id = uuid.uuid4().hex
        record.input = input_text
        record.runtime_status = CONTINUED_AS_NEW
        started = self._execution_started(record)
        started["_msg"] = h.new_message_id()
        # The new ExecutionStarted is queued in the same transaction that consumes this episode's
        # messages; the next episode (fresh) rewrites the history from row 0.
        added = await self._call(partial(
            self.store.write_history, record.instance_id, record.execution_id, len(runtime.history), [],
            consumed=keys, add=[started],
        ), retry=True)
        self._cancel_timers(record.instance_id)
        await self._call(partial(self.store.put_instance, record.copy()), retry=True)
        runtime.inbox.insert(0, (added[0], started))

    async def _finish_record(self, runtime: InstanceState, completed: Event) -> None:
        status = {
            OrchestrationStatus.COMPLETED: COMPLETED, OrchestrationStatus.FAILED: FAILED,
            OrchestrationStatus.TERMINATED: TERMINATED,
        }.get(OrchestrationStatus(completed["OrchestrationStatus"]), FAILED)
        runtime.record.output = completed.get("Result")
        await self._finish(runtime, status, h.parse_timestamp(completed["Timestamp"]))

    async def _finish(self, runtime: InstanceState, status: str, now: datetime) -> None:
        record = runtime.record
        record.runtime_status = status
        record.last_updated_time = now
        record.completed_time = now
        await self._call(partial(self.store.put_instance, record.copy()), retry=True)
        if self._runtimes.get(record.instance_id) is runtime:
            del self._runtimes[record.instance_id]
        self._cancel_timers(record.instance_id)
        self._notify(record.instance_id)
        if record.parent_instance_id and record.parent_task_id is not None:
            await self._deliver(record.parent_instance_id, child_result(record, record.parent_task_id))


def child_result(child: InstanceRecord, task_id: int) -> Event:
    """The parent's SubOrchestrationInstanceCompleted/Failed for a finished child."""
    if child.runtime_status == COMPLETED:
        return h.sub_orchestration_completed(task_id, child.output)
    detail = child.output
    try:
        detail = json.loads(child.output) if child.output else None
    except ValueError:
        pass
    if child.runtime_status == TERMINATED:
        reason = f"Sub-orchestration '{child.name}' ({child.instance_id}) was terminated: {detail}"
    else:
        reason = str(detail) if detail else f"Sub-orchestration '{child.name}' failed"
    return h.sub_orchestration_failed(task_id, reason, None)
