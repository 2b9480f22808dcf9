"""The durable engine: runs orchestrations by replaying their history through the real SDK handler.

One *episode* takes every message waiting for an instance (activity results, timer firings, raised
events...), appends ``OrchestratorStarted, <messages>, <events for new work>, OrchestratorCompleted`` to
the history, calls the orchestrator's user function (``Orchestrator.create(fn).handle``) once with the
context JSON, and turns the actions it returns that are beyond those already in the history into new
work. Batching all waiting messages keeps replay cost linear in the number of episodes.

Durability: an inbound message is written to the store (inbox row) before it is acted on; an episode
commits its history rows and deletes the messages it consumed in one entity-group transaction; work
(activities, timers, sub-orchestrations) is started only after that commit and re-started from the
history after a restart (TaskScheduled without completion, TimerCreated without TimerFired...), so
activities run at least once and no recorded result is lost.

Sequence numbers: the SDK numbers tasks as they are yielded, and ``call_activity_with_retry`` adds
timer and re-scheduled tasks that have no action of their own. Retry follow-ups are placed first in an
episode's batch, so their ids come before the ids of the actions the user code yields in that episode,
exactly as the SDK assigns them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from devhost.durable import history as h
from devhost.durable.history import ActionType, EventType, OrchestrationStatus
from devhost.durable.store import (
    ACTIVE_STATUSES,
    COMPLETED,
    CONTINUED_AS_NEW,
    FAILED,
    PENDING,
    RUNNING,
    SUSPENDED,
    TERMINAL_STATUSES,
    TERMINATED,
    DurableStore,
    InstanceRecord,
)
from devhost.durable.workers import DEFAULT_LOADER, ActivityOutcome, ActivityPool

logger = logging.getLogger("devhost.durable.engine")

T = TypeVar("T")
WEBHOOK_PATH = "/runtime/webhooks/durabletask"


class InstanceNotFound(LookupError):
    """No instance with that id."""


class InstanceGone(Exception):
    """The instance is in a terminal state (HTTP 410)."""


class InstanceExists(Exception):
    """Starting an id whose instance is still running."""


class OrchestratorNotFound(LookupError):
    """No orchestrator function of that name."""


@dataclass
class EngineStats:
    """Counters for benchmarks and the replay-cost report."""

    episodes: int = 0
    handler_seconds: float = 0.0
    activities_run: int = 0


@dataclass
class _Runtime:
    """In-memory state of one active instance; rebuilt from the store after a restart."""

    record: InstanceRecord
    history: list[dict[str, Any]] = field(default_factory=list)
    inbox: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    next_id: int = 0
    action_count: int = 0
    open_tasks: dict[int, dict[str, Any]] = field(default_factory=dict)  # TaskScheduled / SubOrch created
    open_timers: dict[int, dict[str, Any]] = field(default_factory=dict)
    message_ids: set[str] = field(default_factory=set)
    active: bool = False
    task: asyncio.Task[None] | None = None

    def rebuild(self) -> None:
        """Derive ids, open work and consumed message ids from the history."""
        self.next_id = 0
        self.action_count = 0
        self.open_tasks.clear()
        self.open_timers.clear()
        self.message_ids.clear()
        for event in self.history:
            self.observe(event)

    def observe(self, event: dict[str, Any]) -> None:
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

    @property
    def input_text(self) -> str | None:
        for event in self.history[:3]:
            if event["EventType"] == EventType.EXECUTION_STARTED:
                return event.get("Input")
        return self.record.input


def _retry_consumes_id(runtime: _Runtime, event: dict[str, Any]) -> bool:
    """Whether the SDK assigns a new sequence number while processing this event (retry emulation)."""
    kind = event["EventType"]
    if kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_FAILED):
        scheduled = runtime.open_tasks.get(int(event["TaskScheduledId"]))
        return bool(scheduled and scheduled.get("_retry"))
    if kind == EventType.TIMER_FIRED:
        timer = runtime.open_timers.get(int(event["TimerId"]))
        chain = (timer or {}).get("_retry")
        return bool(chain and chain["attempt"] < chain["max"])
    return False


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


class DurableEngine:
    """Durable Functions runtime for one app: orchestrations, activities, timers and the HTTP API."""

    def __init__(
        self,
        app: Any,
        store: DurableStore,
        *,
        base_url: str,
        worker_count: int = 2,
        loader: str = DEFAULT_LOADER,
    ) -> None:
        """Create the engine.

        Args:
            app: the IndexedApp (devhost.indexer) whose orchestrators and activities are run.
            store: a TableStore or MemoryStore.
            base_url: the host's origin (``http://127.0.0.1:7071``) or the full webhook base
                (``.../runtime/webhooks/durabletask``); both are accepted.
            worker_count: activity worker processes.
            loader: ``module:function`` that worker processes call with the app folder to index the app.
        """
        self.app = app
        self.store = store
        base = base_url.rstrip("/")
        self.webhook_base = base if base.endswith(WEBHOOK_PATH) else base + WEBHOOK_PATH
        self.hub_name: str = getattr(app, "hub_name", "TestHubName") or "TestHubName"
        self.pool = ActivityPool(app.app_dir, worker_count, loader=loader)
        self.stats = EngineStats()
        self._io = ThreadPoolExecutor(4, thread_name_prefix="durable-store")
        self._orchestrator_thread = ThreadPoolExecutor(1, thread_name_prefix="durable-orchestrator")
        self._runtimes: dict[str, _Runtime] = {}
        self._loading: dict[str, asyncio.Future[_Runtime | None]] = {}
        self._timers: dict[tuple[str, int], asyncio.TimerHandle] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._started = False
        self._stopping = False

    # ------------------------------------------------------------------ lifecycle

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

    async def _call(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._io, fn)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ------------------------------------------------------------------ client binding

    def management_query(self) -> str:
        """The query string the extension appends to management URLs."""
        return f"taskHub={self.hub_name}&connection=Storage"

    def management_urls(self, instance_id: str) -> dict[str, str]:
        """The HttpManagementPayload for one instance."""
        base = f"{self.webhook_base}/instances/{instance_id}"
        query = self.management_query()
        return {
            "id": instance_id,
            "statusQueryGetUri": f"{base}?{query}",
            "sendEventPostUri": f"{base}/raiseEvent/{{eventName}}?{query}",
            "terminatePostUri": f"{base}/terminate?reason={{text}}&{query}",
            "rewindPostUri": f"{base}/rewind?reason={{text}}&{query}",
            "purgeHistoryDeleteUri": f"{base}?{query}",
            "restartPostUri": f"{base}/restart?{query}",
            "suspendPostUri": f"{base}/suspend?reason={{text}}&{query}",
            "resumePostUri": f"{base}/resume?reason={{text}}&{query}",
        }

    def client_binding_json(self) -> str:
        """The JSON string a ``durableClient`` binding receives (DF extension's BindingHelper shape)."""
        query = self.management_query()
        start = f"{self.webhook_base}/orchestrators/{{functionName}}[/{{instanceId}}]?{query}"
        payload = {
            "taskHubName": self.hub_name,
            "connectionName": "Storage",
            "creationUrls": {
                "createNewInstancePostUri": start,
                "createAndWaitOnNewInstancePostUri": start.replace(
                    "?", "?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&", 1
                ),
            },
            "managementUrls": self.management_urls("INSTANCEID"),
            "baseUrl": self.webhook_base,
            "requiredQueryStringParameters": "",
            "rpcBaseUrl": self.webhook_base + "/",
            "httpBaseUrl": None,
        }
        return json.dumps(payload)

    def add_routes(self, web_app: Any) -> None:
        """Register the Durable HTTP API on ``/runtime/webhooks/durabletask/`` of an aiohttp app."""
        from devhost.durable.api import add_routes

        add_routes(web_app, self)

    # ------------------------------------------------------------------ client operations

    async def start_new(
        self, name: str, instance_id: str | None = None, input_text: str | None = None, *,
        version: str = "", parent: tuple[str, int] | None = None,
    ) -> str:
        """Create an instance and queue its ExecutionStarted; returns the instance id.

        Raises:
            OrchestratorNotFound: no orchestrator function ``name``.
            InstanceExists: ``instance_id`` is still Pending/Running/Suspended.
        """
        try:
            self.app.orchestrator(name)
        except LookupError as exc:
            raise OrchestratorNotFound(
                f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function. "
                f"Additional info: {exc}"
            ) from exc
        instance_id = instance_id or uuid.uuid4().hex
        existing = await self._call(partial(self.store.get_instance, instance_id))
        if existing is not None:
            if existing.runtime_status in ACTIVE_STATUSES:
                raise InstanceExists(
                    f"An Orchestration instance with the status {existing.runtime_status} already exists."
                )
            # A finished instance is replaced, as the extension's default overridable states allow.
            self._forget(instance_id)
            await self._call(partial(self.store.delete_instance, instance_id))
        now = h.utc_now()
        execution_id = uuid.uuid4().hex
        record = InstanceRecord(
            instance_id=instance_id, name=name, version=version, execution_id=execution_id,
            runtime_status=PENDING, created_time=now, last_updated_time=now, input=input_text,
            parent_instance_id=parent[0] if parent else None, parent_task_id=parent[1] if parent else None,
        )
        await self._call(partial(self.store.put_instance, record))
        started = self._execution_started(record)
        runtime = _Runtime(record=record)
        self._runtimes[instance_id] = runtime
        await self._deliver_to(runtime, started)
        return instance_id

    def _execution_started(self, record: InstanceRecord) -> dict[str, Any]:
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

    async def _active_record(self, instance_id: str) -> InstanceRecord:
        record = await self.get_instance(instance_id)
        if record is None:
            raise InstanceNotFound(f"No instance with ID '{instance_id}' was found.")
        if record.runtime_status in TERMINAL_STATUSES:
            raise InstanceGone(f"The instance '{instance_id}' is already {record.runtime_status}.")
        return record

    async def raise_event(self, instance_id: str, event_name: str, data_text: str | None) -> None:
        """Deliver an external event (kept in the history until the orchestrator waits for it)."""
        await self._active_record(instance_id)
        await self._deliver(instance_id, h.event_raised(event_name, data_text))

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        """Terminate an instance; InstanceGone when it already finished."""
        await self._active_record(instance_id)
        await self._deliver(instance_id, h.execution_terminated(reason))

    async def suspend(self, instance_id: str, reason: str | None) -> None:
        """Suspend: further messages are held until resume."""
        await self._active_record(instance_id)
        await self._deliver(instance_id, h.execution_suspended(reason))

    async def resume(self, instance_id: str, reason: str | None) -> None:
        """Resume a suspended instance."""
        await self._active_record(instance_id)
        await self._deliver(instance_id, h.execution_resumed(reason))

    async def get_instance(self, instance_id: str) -> InstanceRecord | None:
        """The instance record (the live copy for active instances)."""
        runtime = self._runtimes.get(instance_id)
        if runtime is not None:
            return runtime.record.copy()
        return await self._call(partial(self.store.get_instance, instance_id))

    async def get_history(self, instance_id: str) -> list[dict[str, Any]]:
        """The current execution's history events (engine keys included)."""
        runtime = self._runtimes.get(instance_id)
        if runtime is not None:
            return list(runtime.history)
        return await self._call(partial(self.store.load_history, instance_id))

    async def query(
        self, *, created_from: datetime | None = None, created_to: datetime | None = None,
        statuses: Sequence[str] | None = None, prefix: str | None = None,
    ) -> list[InstanceRecord]:
        """Instances matching the filter, oldest first (live records for active ones)."""
        records = await self._call(
            partial(self.store.query_instances, created_from=created_from, created_to=created_to,
                    statuses=statuses, prefix=prefix)
        )
        live = []
        for record in records:
            runtime = self._runtimes.get(record.instance_id)
            current = runtime.record.copy() if runtime else record
            if statuses and current.runtime_status not in statuses:
                continue
            live.append(current)
        live.sort(key=lambda r: (r.created_time, r.instance_id))
        return live

    async def purge(self, instance_id: str) -> int:
        """Delete a finished instance and its history; returns how many were deleted (0 or 1)."""
        record = await self.get_instance(instance_id)
        if record is None or record.runtime_status not in TERMINAL_STATUSES:
            return 0
        self._forget(instance_id)
        return 1 if await self._call(partial(self.store.delete_instance, instance_id)) else 0

    async def purge_by(
        self, *, created_from: datetime, created_to: datetime | None = None, statuses: Sequence[str] | None = None
    ) -> int:
        """Purge finished instances created in the window (and in ``statuses`` if given)."""
        wanted = [s for s in (statuses or TERMINAL_STATUSES) if s in TERMINAL_STATUSES]
        records = await self.query(created_from=created_from, created_to=created_to, statuses=wanted)
        count = 0
        for record in records:
            count += await self.purge(record.instance_id)
        return count

    async def wait_for(self, instance_id: str, timeout: float = 30.0) -> InstanceRecord:
        """Wait until the instance is Completed/Failed/Terminated (TimeoutError otherwise)."""
        deadline = time.monotonic() + timeout
        while True:
            record = await self.get_instance(instance_id)
            if record is not None and record.runtime_status in TERMINAL_STATUSES:
                return record
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                status = record.runtime_status if record else "missing"
                raise TimeoutError(f"instance {instance_id} still {status} after {timeout} s")
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.setdefault(instance_id, []).append(waiter)
            try:
                await asyncio.wait_for(waiter, timeout=min(remaining, 1.0))
            except TimeoutError:
                pass

    def _notify(self, instance_id: str) -> None:
        for waiter in self._waiters.pop(instance_id, []):
            if not waiter.done():
                waiter.set_result(None)

    def _forget(self, instance_id: str) -> None:
        runtime = self._runtimes.pop(instance_id, None)
        if runtime and runtime.task and not runtime.task.done():
            runtime.task.cancel()
        for key in [k for k in self._timers if k[0] == instance_id]:
            self._timers.pop(key).cancel()

    # ------------------------------------------------------------------ loading and recovery

    async def _runtime(self, instance_id: str) -> _Runtime | None:
        """The live state of an active instance, loaded from the store on first use."""
        runtime = self._runtimes.get(instance_id)
        if runtime is not None:
            return runtime
        pending = self._loading.get(instance_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[_Runtime | None] = asyncio.get_running_loop().create_future()
        self._loading[instance_id] = future
        try:
            runtime = await self._load(instance_id)
            future.set_result(runtime)
            return runtime
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            self._loading.pop(instance_id, None)
            if not future.done():
                future.cancel()

    async def _load(self, instance_id: str) -> _Runtime | None:
        record = await self._call(partial(self.store.get_instance, instance_id))
        if record is None or record.runtime_status in TERMINAL_STATUSES:
            return None
        events = await self._call(partial(self.store.load_history, instance_id))
        messages = await self._call(partial(self.store.load_messages, instance_id))
        runtime = _Runtime(record=record, history=events)
        runtime.rebuild()
        # A crash between the history commit and the inbox delete (multi-batch episodes) can leave
        # consumed messages behind: drop them.
        stale = [key for key, message in messages if message.get("_msg") in runtime.message_ids]
        if stale:
            await self._call(partial(self.store.delete_messages, instance_id, stale))
        runtime.inbox = [(k, m) for k, m in messages if m.get("_msg") not in runtime.message_ids]
        existing = self._runtimes.get(instance_id)
        if existing is not None:
            return existing
        self._runtimes[instance_id] = runtime
        return runtime

    async def _recover(self, record: InstanceRecord) -> None:
        runtime = await self._runtime(record.instance_id)
        if runtime is None:
            return
        history = runtime.history
        completed = next((e for e in reversed(history) if e["EventType"] == EventType.EXECUTION_COMPLETED), None)
        if completed is not None and not any(
            m["EventType"] == EventType.EXECUTION_STARTED for _, m in runtime.inbox
        ):
            # The history says finished, the instance row was not updated before the crash.
            await self._finish_record(runtime, completed)
            return
        if not history and not any(m["EventType"] == EventType.EXECUTION_STARTED for _, m in runtime.inbox):
            await self._deliver_to(runtime, self._execution_started(runtime.record))
            return
        pending = {m.get("TaskScheduledId") for _, m in runtime.inbox if "TaskScheduledId" in m}
        fired = {m.get("TimerId") for _, m in runtime.inbox if "TimerId" in m}
        for event_id, event in list(runtime.open_tasks.items()):
            if event_id in pending:
                continue
            if event["EventType"] == EventType.TASK_SCHEDULED:
                self._start_activity(runtime.record.instance_id, event)
            else:
                await self._ensure_child(runtime, event)
        for timer_id, event in list(runtime.open_timers.items()):
            if timer_id not in fired:
                self._arm_timer(runtime.record.instance_id, event)
        self._kick(runtime)

    async def _ensure_child(self, runtime: _Runtime, created: dict[str, Any]) -> None:
        child_id = created["InstanceId"]
        child = await self._call(partial(self.store.get_instance, child_id))
        if child is None:
            await self.start_new(
                created["Name"], child_id, created.get("Input"),
                parent=(runtime.record.instance_id, int(created["EventId"])),
            )
        elif child.runtime_status in TERMINAL_STATUSES:
            await self._deliver_to(runtime, self._child_result(child, int(created["EventId"])))

    # ------------------------------------------------------------------ messages

    async def _deliver(self, instance_id: str, event: dict[str, Any]) -> None:
        """Persist a message for an instance and schedule an episode; dropped if it has finished."""
        runtime = await self._runtime(instance_id)
        if runtime is None:
            logger.debug("dropping %s for finished instance %s", EventType(event["EventType"]).name, instance_id)
            return
        await self._deliver_to(runtime, event)

    async def _deliver_to(self, runtime: _Runtime, event: dict[str, Any]) -> None:
        event.setdefault("_msg", h.new_message_id())
        key = await self._call(partial(self.store.add_message, runtime.record.instance_id, event))
        if self._runtimes.get(runtime.record.instance_id) is not runtime:
            return  # finished or purged meanwhile
        runtime.inbox.append((key, event))
        self._kick(runtime)

    def _kick(self, runtime: _Runtime) -> None:
        if runtime.active or self._stopping or not runtime.inbox:
            return
        runtime.active = True
        runtime.task = asyncio.ensure_future(self._run(runtime))

    async def _run(self, runtime: _Runtime) -> None:
        try:
            while not self._stopping:
                batch = self._take(runtime)
                if not batch:
                    break
                try:
                    if not await self._episode(runtime, batch):
                        break
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # Messages stay in the store; a restart retries the episode.
                    logger.exception("episode of %s failed", runtime.record.instance_id)
                    for item in batch:
                        if item not in runtime.inbox:
                            runtime.inbox.insert(0, item)
                    break
                if self._runtimes.get(runtime.record.instance_id) is not runtime:
                    break
        finally:
            runtime.active = False

    def _take(self, runtime: _Runtime) -> list[tuple[str, dict[str, Any]]]:
        """The next batch: everything waiting, except what suspension holds back."""
        inbox = runtime.inbox
        if not inbox:
            return []
        if runtime.history:
            # Terminate wins over everything still waiting (before the first episode it rides along
            # with ExecutionStarted instead).
            for index, (_, message) in enumerate(inbox):
                if message["EventType"] == EventType.EXECUTION_TERMINATED:
                    chosen = [inbox[index]]
                    del inbox[index]
                    return chosen
        suspended = runtime.record.runtime_status == SUSPENDED
        batch: list[tuple[str, dict[str, Any]]] = []
        rest: list[tuple[str, dict[str, Any]]] = []
        for item in inbox:
            kind = item[1]["EventType"]
            if suspended:
                if kind == EventType.EXECUTION_RESUMED:
                    suspended = False
                    batch.append(item)
                else:
                    rest.append(item)
            elif kind == EventType.EXECUTION_SUSPENDED:
                batch.append(item)
                suspended = True
            else:
                batch.append(item)
        runtime.inbox = rest
        return batch

    # ------------------------------------------------------------------ episodes

    async def _episode(self, runtime: _Runtime, batch: list[tuple[str, dict[str, Any]]]) -> bool:
        """Run one episode; False when the batch could not be applied yet (kept for later)."""
        record = runtime.record
        instance_id = record.instance_id
        now = h.utc_now()
        keys = [key for key, _ in batch]
        messages = [message for _, message in batch]

        starts = [m for m in messages if m["EventType"] == EventType.EXECUTION_STARTED]
        fresh = bool(starts)
        if fresh:
            # A new execution (first start or continue-as-new) replaces the history.
            runtime.history = []
            runtime.rebuild()
            record.execution_id = starts[-1]["OrchestrationInstance"]["ExecutionId"]
            record.input = starts[-1].get("Input")
            messages = [starts[-1]] + [m for m in messages if m["EventType"] != EventType.EXECUTION_STARTED]
        elif not runtime.history:
            # Nothing to run yet (messages before the start was delivered): keep them.
            runtime.inbox[:0] = batch
            return False

        terminate = next((m for m in messages if m["EventType"] == EventType.EXECUTION_TERMINATED), None)
        if terminate is not None:
            await self._terminate(runtime, terminate, keys, now, started=messages[0] if fresh else None)
            return True

        # Drop duplicates: completions for work that is not open (at-least-once re-runs).
        accepted: list[dict[str, Any]] = []
        open_tasks = set(runtime.open_tasks)
        open_timers = set(runtime.open_timers)
        for message in messages:
            kind = message["EventType"]
            if message.get("_msg") in runtime.message_ids:
                continue
            if "TaskScheduledId" in message:
                if message["TaskScheduledId"] not in open_tasks:
                    continue
                open_tasks.discard(message["TaskScheduledId"])
            elif kind == EventType.TIMER_FIRED:
                if message["TimerId"] not in open_timers:
                    continue
                open_timers.discard(message["TimerId"])
            accepted.append(message)

        control = {EventType.EXECUTION_SUSPENDED, EventType.EXECUTION_RESUMED}
        sdk_events = [m for m in accepted if m["EventType"] not in control]
        status = record.runtime_status
        for message in accepted:
            if message["EventType"] == EventType.EXECUTION_SUSPENDED:
                status = SUSPENDED
            elif message["EventType"] == EventType.EXECUTION_RESUMED:
                status = RUNNING
        if not sdk_events:
            # Suspend/resume only: recorded without replaying the orchestrator.
            start_index = len(runtime.history)
            await self._call(partial(self.store.write_history, instance_id, record.execution_id, start_index,
                                     accepted, consumed=keys))
            for event in accepted:
                runtime.history.append(event)
                runtime.observe(event)
            record.runtime_status = status
            record.last_updated_time = now
            await self._call(partial(self.store.put_instance, record.copy()))
            return True

        # Retry follow-ups first: the SDK gives them ids before anything the user code yields.
        retry_first = [m for m in sdk_events if _retry_consumes_id(runtime, m)]
        ordered = retry_first + [m for m in sdk_events if not _retry_consumes_id(runtime, m)]
        if fresh:
            ordered.remove(messages[0])
            ordered.insert(0, messages[0])
        next_id = runtime.next_id
        followups: list[dict[str, Any]] = []
        for message in retry_first:
            event, next_id = self._retry_followup(runtime, message, next_id, now)
            followups.append(event)

        played = len(runtime.history)
        new_events = [h.orchestrator_started(now)] + ordered + [m for m in accepted if m["EventType"] in control]
        episode_history = runtime.history + new_events
        result = await self._invoke_orchestrator(runtime, episode_history, played)

        action_events: list[dict[str, Any]] = []
        closing: list[dict[str, Any]] = []
        continue_input: str | None = None
        continued = False
        failure: str | None = result.error if result.failed else None
        if failure is None:
            flat = h.flatten_actions(result.actions)
            for action in flat[runtime.action_count:]:
                kind = action.get("actionType")
                if kind == ActionType.CONTINUE_AS_NEW:
                    continued = True
                    continue_input = action.get("input")
                    break
                new_event = self._action_event(runtime, action, next_id, now)
                if new_event is None:
                    failure = (
                        f"action type {kind} is not supported by the local durable host "
                        "(durable entities and call_http need the real extension)"
                    )
                    break
                action_events.append(new_event)
                next_id += 1

        output_text: str | None = None
        final_status: str | None = None
        if failure is not None:
            failure_message = f"Orchestrator function '{record.name}' failed: {failure}"
            output_text = json.dumps(failure_message)
            final_status = FAILED
            action_events = []
            closing.append(h.execution_completed(
                OrchestrationStatus.FAILED, output_text,
                failure={"ErrorType": "OrchestrationFailureException", "ErrorMessage": failure_message},
                timestamp=now,
            ))
        elif continued:
            final_status = CONTINUED_AS_NEW
        elif result.is_done:
            output_text = _json_text(result.output)
            final_status = COMPLETED
            closing.append(h.execution_completed(OrchestrationStatus.COMPLETED, output_text, timestamp=now))
        if not continued:
            action_events = followups + action_events
        closing.append(h.orchestrator_completed(now))

        if result.custom_status is not None or failure is None:
            record.custom_status = _json_text(result.custom_status)
        record.last_updated_time = now

        if continued:
            await self._continue_as_new(runtime, continue_input, keys, now)
            return True

        appended = new_events + action_events + closing
        await self._call(partial(
            self.store.write_history, instance_id, record.execution_id, played, appended,
            consumed=keys, truncate=fresh,
        ))
        for event in appended:
            runtime.history.append(event)
            runtime.observe(event)

        if final_status in TERMINAL_STATUSES:
            record.output = output_text
            await self._finish(runtime, final_status, now)
            return True
        record.runtime_status = SUSPENDED if status == SUSPENDED else RUNNING
        await self._call(partial(self.store.put_instance, record.copy()))
        for event in action_events:
            await self._start_work(runtime, event)
        return True

    async def _invoke_orchestrator(self, runtime: _Runtime, events: list[dict[str, Any]], played: int) -> h.OrchestratorResult:
        record = runtime.record
        try:
            info = self.app.orchestrator(record.name)
        except LookupError as exc:
            return h.OrchestratorResult(is_done=False, actions=[], error=str(exc), failed=True)
        payload = h.context_json(
            events, instance_id=record.instance_id, input_text=runtime.input_text,
            parent_instance_id=record.parent_instance_id, played_count=played,
        )

        def call() -> tuple[h.OrchestratorResult, float]:
            import azure.functions as func

            began = time.perf_counter()
            try:
                text = info.user_function(func.OrchestrationContext(payload))
                parsed = h.parse_orchestrator_state(text)
            except Exception as exc:  # noqa: BLE001 - the SDK reports user failures by raising
                parsed = h.parse_orchestrator_exception(exc)
            return parsed, time.perf_counter() - began

        result, seconds = await asyncio.get_running_loop().run_in_executor(self._orchestrator_thread, call)
        self.stats.episodes += 1
        self.stats.handler_seconds += seconds
        return result

    def _retry_followup(
        self, runtime: _Runtime, message: dict[str, Any], next_id: int, now: datetime
    ) -> tuple[dict[str, Any], int]:
        """TaskFailed -> the retry timer; retry TimerFired -> the next attempt (RetryInterceptor emulation)."""
        if message["EventType"] == EventType.TIMER_FIRED:
            chain = dict(runtime.open_timers[int(message["TimerId"])]["_retry"])
            chain["attempt"] += 1
            chain["followup"] = True
            if chain["kind"] == "activity":
                event = h.task_scheduled(next_id, chain["name"], chain.get("input"), now)
            else:
                # A failed child is terminal, so an explicit id can simply be started again.
                child_id = chain.get("instance") or self._child_id(runtime, next_id)
                event = h.sub_orchestration_created(next_id, chain["name"], child_id, chain.get("input"), now)
        else:
            chain = dict(runtime.open_tasks[int(message["TaskScheduledId"])]["_retry"])
            chain["followup"] = True
            fire_at = now + timedelta(milliseconds=int(chain["interval_ms"]))
            event = h.timer_created(next_id, fire_at, now)
        event["_retry"] = chain
        return event, next_id + 1

    def _child_id(self, runtime: _Runtime, sequence: int) -> str:
        # Deterministic default id for a sub-orchestration without an explicit one.
        return f"{runtime.record.instance_id}:{sequence:04X}"

    def _action_event(
        self, runtime: _Runtime, action: dict[str, Any], event_id: int, now: datetime
    ) -> dict[str, Any] | None:
        kind = action.get("actionType")
        if kind in (ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY):
            event = h.task_scheduled(event_id, action["functionName"], action.get("input"), now)
            if kind == ActionType.CALL_ACTIVITY_WITH_RETRY:
                options = action.get("retryOptions") or {}
                event["_retry"] = {
                    "kind": "activity", "name": action["functionName"], "input": action.get("input"),
                    "max": int(options.get("maxNumberOfAttempts", 1)),
                    "interval_ms": int(options.get("firstRetryIntervalInMilliseconds", 1000)), "attempt": 1,
                }
            return event
        if kind in (ActionType.CALL_SUB_ORCHESTRATOR, ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY):
            child_id = action.get("instanceId") or self._child_id(runtime, event_id)
            event = h.sub_orchestration_created(event_id, action["functionName"], child_id, action.get("input"), now)
            if kind == ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY:
                options = action.get("retryOptions") or {}
                event["_retry"] = {
                    "kind": "orchestrator", "name": action["functionName"], "input": action.get("input"),
                    "instance": action.get("instanceId"),
                    "max": int(options.get("maxNumberOfAttempts", 1)),
                    "interval_ms": int(options.get("firstRetryIntervalInMilliseconds", 1000)), "attempt": 1,
                }
            return event
        if kind == ActionType.CREATE_TIMER:
            return h.timer_created(event_id, h.parse_timestamp(action["fireAt"]), now)
        return None

    async def _start_work(self, runtime: _Runtime, event: dict[str, Any]) -> None:
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

    def _start_activity(self, instance_id: str, scheduled: dict[str, Any]) -> None:
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

    def _arm_timer(self, instance_id: str, created: dict[str, Any]) -> None:
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

    async def _continue_as_new(self, runtime: _Runtime, input_text: str | None, keys: list[str], now: datetime) -> None:
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
        ))
        for key in [k for k in self._timers if k[0] == record.instance_id]:
            self._timers.pop(key).cancel()
        await self._call(partial(self.store.put_instance, record.copy()))
        runtime.inbox.insert(0, (added[0], started))

    async def _terminate(
        self, runtime: _Runtime, message: dict[str, Any], keys: list[str], now: datetime,
        started: dict[str, Any] | None = None,
    ) -> None:
        record = runtime.record
        reason = message.get("Input")
        output_text = json.dumps(reason)
        events = [
            h.orchestrator_started(now), *([started] if started else []), message,
            h.execution_completed(OrchestrationStatus.TERMINATED, output_text, timestamp=now),
            h.orchestrator_completed(now),
        ]
        await self._call(partial(
            self.store.write_history, record.instance_id, record.execution_id, len(runtime.history), events,
            consumed=keys, truncate=started is not None,
        ))
        runtime.history.extend(events)
        record.output = output_text
        record.last_updated_time = now
        # Messages still waiting (late activity results...) are dropped with the instance.
        leftovers = [key for key, _ in runtime.inbox]
        runtime.inbox.clear()
        if leftovers:
            await self._call(partial(self.store.delete_messages, record.instance_id, leftovers))
        await self._finish(runtime, TERMINATED, now)

    async def _finish_record(self, runtime: _Runtime, completed: dict[str, Any]) -> None:
        status = {
            OrchestrationStatus.COMPLETED: COMPLETED, OrchestrationStatus.FAILED: FAILED,
            OrchestrationStatus.TERMINATED: TERMINATED,
        }.get(OrchestrationStatus(completed["OrchestrationStatus"]), FAILED)
        runtime.record.output = completed.get("Result")
        await self._finish(runtime, status, h.parse_timestamp(completed["Timestamp"]))

    async def _finish(self, runtime: _Runtime, status: str, now: datetime) -> None:
        record = runtime.record
        record.runtime_status = status
        record.last_updated_time = now
        record.completed_time = now
        await self._call(partial(self.store.put_instance, record.copy()))
        if self._runtimes.get(record.instance_id) is runtime:
            del self._runtimes[record.instance_id]
        for key in [k for k in self._timers if k[0] == record.instance_id]:
            self._timers.pop(key).cancel()
        self._notify(record.instance_id)
        if record.parent_instance_id and record.parent_task_id is not None:
            await self._deliver(record.parent_instance_id, self._child_result(record, record.parent_task_id))

    def _child_result(self, child: InstanceRecord, task_id: int) -> dict[str, Any]:
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
