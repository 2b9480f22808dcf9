"""The engine's shared state and plumbing: store calls off the loop, background tasks, timers, waiters.

The engine is assembled in layers, each a module of one concern and each building on the one below:
``core`` (this) → ``inbox`` (messages and the per-instance episode loop) → ``episodes`` (plan in the
orchestrator thread, commit, start work) → ``client`` (start/terminate/query/purge...) → ``engine``
(lifecycle and recovery). Nothing here knows about HTTP (that is ``devhost.durable.api``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

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

    async def _call(self, fn: Callable[[], T]) -> T:
        """Run a blocking store call on the I/O threads."""
        return await asyncio.get_running_loop().run_in_executor(self._io, fn)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

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
