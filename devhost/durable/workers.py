"""Activity execution in worker processes.

Activities run in a pool of ``spawn``-started processes (the host has threads, so ``fork`` is unsafe);
each process imports the app once. CPU-heavy activities therefore neither hold the host's GIL nor
stall its HTTP front end, and a fan-out runs in parallel on the cores. A worker that dies breaks the
pool: it is rebuilt and the activity re-run (at-least-once), up to a limit, after which the activity
fails with a reason that says so.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import multiprocessing
import os
import traceback
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger("devhost.durable.workers")

DEFAULT_LOADER = "devhost.indexer:load_app"

# Per worker process: the indexed app and one persistent loop for async activities.
_APP: Any = None
_LOOP: asyncio.AbstractEventLoop | None = None


@dataclass
class ActivityOutcome:
    """The result of one activity run: ``result`` (df_dumps text) or ``reason``/``details``."""

    ok: bool
    result: str | None = None
    reason: str = ""
    details: str | None = None


def _load(loader: str, app_dir: str) -> Any:
    module_name, _, attribute = loader.partition(":")
    load = getattr(importlib.import_module(module_name), attribute)
    return load(Path(app_dir))


def _init_worker(loader: str, app_dir: str) -> None:
    global _APP
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    logging.basicConfig(level=logging.WARNING)
    _APP = _load(loader, app_dir)


class _Context:
    """Minimal stand-in for ``func.Context`` passed to activities that declare ``context``."""

    def __init__(self, function_name: str, function_directory: str) -> None:
        self.invocation_id = os.urandom(16).hex()
        self.function_name = function_name
        self.function_directory = function_directory
        self.trace_context = None
        self.retry_context = None
        self.thread_local_storage = None


def run_activity_in_worker(name: str, input_text: str | None) -> tuple[bool, str | None, str, str | None]:
    """Run one activity inside a worker process (top-level so it pickles).

    Returns ``(ok, result_text, reason, details)``.
    """
    global _LOOP
    from azure.durable_functions.models.utils.df_serialization import df_dumps, df_loads

    try:
        info = _APP.activity(name)
    except LookupError as exc:
        return False, None, f"Activity function '{name}' failed: {exc}", None
    try:
        value: Any = None
        if input_text is not None:
            try:
                value = df_loads(input_text)
            except ValueError:
                value = input_text  # a non-JSON input reaches the function as a plain string
        kwargs: dict[str, Any] = {info.trigger.name: value}
        if getattr(info, "requires_context", False):
            kwargs["context"] = _Context(info.name, str(_APP.app_dir))
        returned = info.user_function(**kwargs)
        if info.is_async or asyncio.iscoroutine(returned):
            if _LOOP is None:
                _LOOP = asyncio.new_event_loop()
            returned = _LOOP.run_until_complete(returned)
        return True, df_dumps(returned), "", None
    except Exception as exc:  # noqa: BLE001 - the user's failure becomes TaskFailed
        reason = f"Activity function '{name}' failed: {type(exc).__name__}: {exc}"
        return False, None, reason, traceback.format_exc()


class ActivityPool:
    """A rebuildable process pool running activities of one app."""

    def __init__(self, app_dir: Path, worker_count: int = 2, *, loader: str = DEFAULT_LOADER,
                 max_crash_retries: int = 2) -> None:
        self.app_dir = Path(app_dir)
        self.worker_count = max(1, worker_count)
        self.loader = loader
        self.max_crash_retries = max_crash_retries
        self._pool: ProcessPoolExecutor | None = None
        self._generation = 0

    def _ensure(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.worker_count,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self.loader, str(self.app_dir)),
            )
            self._generation += 1
        return self._pool

    def _rebuild(self, generation: int) -> None:
        # Several activities see the same broken pool; only the first rebuilds it.
        if generation == self._generation and self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def run(self, name: str, input_text: str | None) -> ActivityOutcome:
        """Run activity ``name`` in a worker; a dead worker means a re-run, then a clear failure."""
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            pool = self._ensure()
            generation = self._generation
            try:
                ok, result, reason, details = await loop.run_in_executor(
                    pool, run_activity_in_worker, name, input_text
                )
                return ActivityOutcome(ok=ok, result=result, reason=reason, details=details)
            except BrokenProcessPool as exc:
                self._rebuild(generation)
                attempt += 1
                if attempt > self.max_crash_retries:
                    return ActivityOutcome(
                        ok=False,
                        reason=f"Activity function '{name}' failed: its worker process exited unexpectedly "
                        f"({attempt} attempts)",
                        details=str(exc),
                    )
                logger.warning("worker process died while running activity %s; running it again", name)
            except RuntimeError as exc:
                # "cannot schedule new futures after shutdown": the host is stopping.
                return ActivityOutcome(ok=False, reason=f"Activity function '{name}' was not run: {exc}")

    def warm_up(self) -> None:
        """Start the worker processes now rather than on the first activity."""
        pool = self._ensure()
        for _ in range(self.worker_count):
            pool.submit(os.getpid)

    def shutdown(self) -> None:
        """Stop the workers (running activities are abandoned; they re-run after a restart)."""
        if self._pool is not None:
            processes = list(getattr(self._pool, "_processes", {}).values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                # Do not wait for a long CPU-bound activity: it is re-run after a restart anyway.
                if process.is_alive():
                    process.terminate()
            self._pool = None
