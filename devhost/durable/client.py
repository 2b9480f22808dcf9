"""Client operations on instances: what ``DurableOrchestrationClient`` asks for over the HTTP API."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from devhost.durable import history as h
from devhost.durable.episodes import Episodes
from devhost.durable.errors import InstanceExists, InstanceGone, InstanceNotFound, OrchestratorNotFound
from devhost.durable.state import InstanceState
from devhost.durable.store import ACTIVE_STATUSES, PENDING, TERMINAL_STATUSES, InstanceRecord


class ClientOperations(Episodes):
    """Start, raise events, terminate, suspend, resume, read, query, purge and wait."""

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
        # A child started by its parent's episode is the engine's own work: it waits out an outage.
        retry = parent is not None
        existing = await self._call(partial(self.store.get_instance, instance_id), retry=retry)
        if existing is not None:
            if existing.runtime_status in ACTIVE_STATUSES:
                raise InstanceExists(
                    f"An Orchestration instance with the status {existing.runtime_status} already exists."
                )
            # A finished instance is replaced, as the extension's default overridable states allow.
            self._forget(instance_id)
            await self._call(partial(self.store.delete_instance, instance_id), retry=retry)
        now = h.utc_now()
        record = InstanceRecord(
            instance_id=instance_id, name=name, version=version, execution_id=uuid.uuid4().hex,
            runtime_status=PENDING, created_time=now, last_updated_time=now, input=input_text,
            parent_instance_id=parent[0] if parent else None, parent_task_id=parent[1] if parent else None,
        )
        await self._call(partial(self.store.put_instance, record), retry=retry)
        runtime = InstanceState(record=record)
        self._runtimes[instance_id] = runtime
        await self._deliver_to(runtime, self._execution_started(record), retry=retry)
        return instance_id

    async def _active_record(self, instance_id: str) -> InstanceRecord:
        record = await self.get_instance(instance_id)
        if record is None:
            raise InstanceNotFound(f"No instance with ID '{instance_id}' was found.")
        if record.runtime_status in TERMINAL_STATUSES:
            raise InstanceGone(f"The instance '{instance_id}' is already {record.runtime_status}.")
        return record

    async def _send(self, instance_id: str, event: dict[str, Any]) -> None:
        await self._active_record(instance_id)
        await self._deliver(instance_id, event, retry=False)

    async def raise_event(self, instance_id: str, event_name: str, data_text: str | None) -> None:
        """Deliver an external event (kept in the history until the orchestrator waits for it)."""
        await self._send(instance_id, h.event_raised(event_name, data_text))

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        """Terminate an instance; InstanceGone when it already finished."""
        await self._send(instance_id, h.execution_terminated(reason))

    async def suspend(self, instance_id: str, reason: str | None) -> None:
        """Suspend: further messages are held until resume."""
        await self._send(instance_id, h.execution_suspended(reason))

    async def resume(self, instance_id: str, reason: str | None) -> None:
        """Resume a suspended instance."""
        await self._send(instance_id, h.execution_resumed(reason))

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
