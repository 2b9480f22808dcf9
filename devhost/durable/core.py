"""The engine's shared state and plumbing: store calls off the loop, background tasks, timers, waiters.

The engine is assembled in layers, each a module of one concern and each building on the one below:
``core`` (this) → ``inbox`` (messages and the per-instance episode loop) → ``episodes`` (plan in the
orchestrator thread, commit, start work) → ``client`` (start/terminate/query/purge...) → ``engine``
(lifecycle and recovery). Nothing here knows about HTTP (that is ``devhost.durable.api``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from devhost.durable.retry import Backoff, is_transient
from devhost.durable.state import InstanceState
from devhost.durable.store import DurableStore
from devhost.durable.workers import DEFAULT_LOADER, ActivityPool

logger = logging.getLogger("devhost.durable.engine")

T = TypeVar("T")


@dataclass
class EngineStats:
    """Counters for benchmarks and the replay-cost report."""

    episodes: int = 0
    handler_seconds: float = 0.0
    activities_run: int = 0


class EngineCore:
    """State every layer of the engine shares."""

    def __init__(
        self, app: Any, store: DurableStore, *, worker_count: int = 2, loader: str = DEFAULT_LOADER,
    ) -> None:
        """Create the engine.

        Args:
            app: the IndexedApp (devhost.indexer) whose orchestrators and activities are run.
            store: a TableStore or MemoryStore.
            worker_count: activity worker processes.
            loader: ``module:function`` that worker processes call with the app folder to index the app.
        """
        self.app = app
        self.store = store
        self.hub_name: str = getattr(app, "hub_name", "TestHubName") or "TestHubName"
        self.pool = ActivityPool(app.app_dir, worker_count, loader=loader)
        self.stats = EngineStats()
        self._io = ThreadPoolExecutor(4, thread_name_prefix="durable-store")
        self._orchestrator_thread = ThreadPoolExecutor(1, thread_name_prefix="durable-orchestrator")
        self._runtimes: dict[str, InstanceState] = {}
        self._loading: dict[str, asyncio.Future[InstanceState | None]] = {}
        self._timers: dict[tuple[str, int], asyncio.TimerHandle] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._started = False
        self._stopping = False
        self.backoff = Backoff()
        self._outage_started: float | None = None

    async def _call(self, fn: Callable[[], T], *, retry: bool = False) -> T:
        """Run a blocking store call on the I/O threads.

        With ``retry`` (every write of the engine's own work: results, timers, episodes), transient
        failures are retried with backoff until storage answers or the engine stops; without it (calls
        made for a client, who gets the error and can retry) the first failure is raised.
        """
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            try:
                result = await loop.run_in_executor(self._io, fn)
            except Exception as exc:
                if not retry or self._stopping or not is_transient(exc):
                    raise
                attempt += 1
                self._outage_started = self._outage_started or time.monotonic()
                if attempt == 1 or attempt % 15 == 0:
                    logger.warning("storage unavailable (%s); retrying %s", type(exc).__name__, _describe(fn))
                await asyncio.sleep(self.backoff.delay(attempt))
                continue
            if attempt and self._outage_started is not None:
                logger.info("storage answered again after %.1f s", time.monotonic() - self._outage_started)
                self._outage_started = None
            return result

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._settled)

    def _settled(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        # Never "Task exception was never retrieved": a failed background step is logged with its cause.
        if not task.cancelled() and task.exception() is not None:
            logger.error("background step failed", exc_info=task.exception())

    def _notify(self, instance_id: str) -> None:
        for waiter in self._waiters.pop(instance_id, []):
            if not waiter.done():
                waiter.set_result(None)

    def _cancel_timers(self, instance_id: str) -> None:
        for key in [k for k in self._timers if k[0] == instance_id]:
            self._timers.pop(key).cancel()

    def _forget(self, instance_id: str) -> None:
        runtime = self._runtimes.pop(instance_id, None)
        if runtime and runtime.task and not runtime.task.done():
            runtime.task.cancel()
        self._cancel_timers(instance_id)


def _describe(fn: Callable[[], Any]) -> str:
    """``add_message(<instance>)`` for a ``functools.partial`` of a store method (for the log)."""
    func = getattr(fn, "func", fn)
    args = getattr(fn, "args", ())
    return f"{getattr(func, '__name__', 'a store call')}({args[0] if args else ''})"
