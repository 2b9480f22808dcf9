"""The durable engine: runs orchestrations by replaying their history through the real SDK handler.

One *episode* takes every message waiting for an instance (activity results, timer firings, raised
events...), appends ``OrchestratorStarted, <messages>, <events for new work>, OrchestratorCompleted`` to
the history, calls the orchestrator's user function (``Orchestrator.create(fn).handle``) once with the
context JSON, and turns the actions it returns that are beyond those already in the history into new
work. Batching all waiting messages keeps replay cost linear in the number of episodes.

Where each part lives (each layer builds on the one before; none imports a later one):

- ``state``: what a history implies (ids, open work); ``planner``: one episode, pure;
- ``core``: shared state and plumbing; ``inbox``: durable messages and the episode loop;
- ``episodes``: plan, commit, start work, finish; ``client``: client operations;
- this module: lifecycle (start, stop) and recovery after a restart;
- ``api``: the Durable HTTP API and the client binding payload, outside the engine.

Durability: an inbound message is written to the store (inbox row) before it is acted on; an episode
commits its history rows and deletes the messages it consumed in one entity-group transaction; work
is started only after that commit and re-started from the history after a restart (TaskScheduled
without completion, TimerCreated without TimerFired...), so activities run at least once and no
recorded result is lost.
"""

from __future__ import annotations

import asyncio
from functools import partial

from devhost.durable.client import ClientOperations
from devhost.durable.core import EngineStats, logger
from devhost.durable.errors import InstanceExists, InstanceGone, InstanceNotFound, OrchestratorNotFound
from devhost.durable.history import EventType
from devhost.durable.store import ACTIVE_STATUSES, InstanceRecord

__all__ = [
    "DurableEngine", "EngineStats", "InstanceExists", "InstanceGone", "InstanceNotFound", "OrchestratorNotFound",
]


class DurableEngine(ClientOperations):
    """Durable Functions runtime for one app: orchestrations, activities and timers."""

    async def start(self) -> None:
        """Start workers and resume every unfinished instance found in the store."""
        self._stopping = False
        self._started = True
        self.pool.warm_up()
        records = await self._call(
            partial(self.store.query_instances, statuses=sorted(ACTIVE_STATUSES))
        )
        for record in records:
            try:
                await self._recover(record)
            except Exception:
                logger.exception("could not resume instance %s", record.instance_id)

    async def stop(self) -> None:
        """Stop timers, episodes and workers. State stays in the store; start() resumes it."""
        self._stopping = True
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        tasks = [t for t in self._background if not t.done()]
        tasks += [rt.task for rt in self._runtimes.values() if rt.task and not rt.task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self.pool.shutdown()
        self._runtimes.clear()
        self._io.shutdown(wait=True)
        self._orchestrator_thread.shutdown(wait=True)
        self._started = False

    async def _recover(self, record: InstanceRecord) -> None:
        """Resume one unfinished instance: finish it, start it, or re-start its open work."""
        runtime = await self._runtime(record.instance_id)
        if runtime is None:
            return
        history = runtime.history
        queued_start = any(m["EventType"] == EventType.EXECUTION_STARTED for _, m in runtime.inbox)
        completed = next((e for e in reversed(history) if e["EventType"] == EventType.EXECUTION_COMPLETED), None)
        if completed is not None and not queued_start:
            # The history says finished, the instance row was not updated before the crash.
            await self._finish_record(runtime, completed)
            return
        if not history and not queued_start:
            await self._deliver_to(runtime, self._execution_started(runtime.record))
            return
        pending = {m.get("TaskScheduledId") for _, m in runtime.inbox if "TaskScheduledId" in m}
        fired = {m.get("TimerId") for _, m in runtime.inbox if "TimerId" in m}
        for event_id, event in list(runtime.index.open_tasks.items()):
            if event_id in pending:
                continue
            if event["EventType"] == EventType.TASK_SCHEDULED:
                self._start_activity(runtime.record.instance_id, event)
            else:
                await self._ensure_child(runtime, event)
        for timer_id, event in list(runtime.index.open_timers.items()):
            if timer_id not in fired:
                self._arm_timer(runtime.record.instance_id, event)
        self._kick(runtime)
