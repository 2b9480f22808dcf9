"""Messages for an instance: persisted before they are acted on, batched into episodes one at a time.

An inbound message (activity result, timer firing, raised event, terminate...) is written to the store
(an inbox row) first; then the instance's episode loop takes everything waiting, except what a
suspension holds back, and hands the batch to ``_episode``. A batch whose episode fails stays in the
store and in memory for the next try.
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from functools import partial

from devhost.durable import history as h
from devhost.durable.core import EngineCore, logger
from devhost.durable.history import EventType
from devhost.durable.state import Event, InstanceState, Message
from devhost.durable.store import SUSPENDED, TERMINAL_STATUSES


class Inbox(EngineCore):
    """Loading instances, delivering messages and running each instance's episode loop."""

    @abstractmethod
    async def _episode(self, runtime: InstanceState, batch: list[Message]) -> bool:
        """Run one episode; False when the batch could not be applied yet (kept for later)."""

    async def _runtime(self, instance_id: str, *, retry: bool = True) -> InstanceState | None:
        """The live state of an active instance, loaded from the store on first use."""
        runtime = self._runtimes.get(instance_id)
        if runtime is not None:
            return runtime
        pending = self._loading.get(instance_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[InstanceState | None] = asyncio.get_running_loop().create_future()
        self._loading[instance_id] = future
        try:
            runtime = await self._load(instance_id, retry)
            future.set_result(runtime)
            return runtime
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here: waiters still get it, nobody else must log it
            raise
        finally:
            self._loading.pop(instance_id, None)
            if not future.done():
                future.cancel()

    async def _load(self, instance_id: str, retry: bool) -> InstanceState | None:
        record = await self._call(partial(self.store.get_instance, instance_id), retry=retry)
        if record is None or record.runtime_status in TERMINAL_STATUSES:
            return None
        events = await self._call(partial(self.store.load_history, instance_id), retry=retry)
        messages = await self._call(partial(self.store.load_messages, instance_id), retry=retry)
        runtime = InstanceState(record=record, history=events)
        runtime.rebuild()
        consumed = runtime.index.message_ids
        # A crash between the history commit and the inbox delete (multi-batch episodes) can leave
        # consumed messages behind: drop them.
        stale = [key for key, message in messages if message.get("_msg") in consumed]
        if stale:
            await self._call(partial(self.store.delete_messages, instance_id, stale), retry=retry)
        runtime.inbox = [(k, m) for k, m in messages if m.get("_msg") not in consumed]
        existing = self._runtimes.get(instance_id)
        if existing is not None:
            return existing
        self._runtimes[instance_id] = runtime
        return runtime

    async def _deliver(self, instance_id: str, event: Event, *, retry: bool = True) -> None:
        """Persist a message for an instance and schedule an episode; dropped if it has finished.

        ``retry``: wait out a storage outage (the engine's own results, timers...); a client's call
        passes False and gets the error instead.
        """
        runtime = await self._runtime(instance_id, retry=retry)
        if runtime is None:
            logger.debug("dropping %s for finished instance %s", EventType(event["EventType"]).name, instance_id)
            return
        await self._deliver_to(runtime, event, retry=retry)

    async def _deliver_to(self, runtime: InstanceState, event: Event, *, retry: bool = True) -> None:
        event.setdefault("_msg", h.new_message_id())
        key = await self._call(partial(self.store.add_message, runtime.record.instance_id, event), retry=retry)
        if self._runtimes.get(runtime.record.instance_id) is not runtime:
            return  # finished or purged meanwhile
        runtime.inbox.append((key, event))
        self._kick(runtime)

    def _kick(self, runtime: InstanceState) -> None:
        if runtime.active or self._stopping or not runtime.inbox:
            return
        runtime.active = True
        runtime.task = asyncio.ensure_future(self._run(runtime))

    async def _run(self, runtime: InstanceState) -> None:
        try:
            while not self._stopping:
                batch = take_batch(runtime)
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


def take_batch(runtime: InstanceState) -> list[Message]:
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
    batch: list[Message] = []
    rest: list[Message] = []
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
