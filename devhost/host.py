"""Composition: load the app, build the durable engine, serve HTTP, run timers and queue listeners."""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiohttp import web

from devhost import settings as host_settings
from devhost.azurite import free_port
from devhost.durable import api as durable_api
from devhost.durable.engine import DurableEngine
from devhost.durable.payloads import RPC_PATH, DurableUrls
from devhost.durable.table_store import TableStore
from devhost.http_server import UserRoutes, describe_routes, json_errors
from devhost.hub_lease import HubLease, describe_holder
from devhost.indexer import IndexedApp, load_app
from devhost.invoker import Invoker
from devhost.keys import system_key
from devhost.queues import QueueListener, QueueOptions, resolve_queue_name
from devhost.timers import TimerScheduler, timer_jobs

logger = logging.getLogger("devhost.host")

DURABLE_TRIGGERS = {"orchestrationTrigger", "activityTrigger", "entityTrigger"}


def needs_durable(app: IndexedApp) -> bool:
    """True when any function is an orchestrator/activity/entity or has a durableClient binding."""
    return any(
        f.trigger_type in DURABLE_TRIGGERS or any(b.type == "durableClient" for b in f.bindings)
        for f in app.functions.values()
    )


async def _close_durable_client_session() -> None:
    """Close the durable client's module-global aiohttp session (bound to this loop), if it made one."""
    try:
        from azure.durable_functions.models.utils import http_utils
    except ImportError:
        return
    close = getattr(http_utils, "_close_session", None)
    if close is not None:
        try:
            await close()
        except Exception:  # noqa: BLE001 - best effort at shutdown
            logger.debug("Closing the durable client session failed", exc_info=True)


class Host:
    """The local Functions host for one app folder.

    Args:
        app_dir: folder holding function_app.py, host.json and local.settings(.sample).json.
        port: HTTP port (0 picks a free one; see ``port`` after ``start``).
        workers: activity worker processes for the durable engine.
        connection_string: storage for the durable store and the ``AzureWebJobsStorage`` setting;
            None uses ``AzureWebJobsStorage`` from the environment / local settings.
        listen_host: interface to bind.
    """

    def __init__(
        self,
        app_dir: Path,
        port: int = 7071,
        workers: int = 2,
        connection_string: str | None = None,
        *,
        listen_host: str = "127.0.0.1",
    ) -> None:
        self.app_dir = Path(app_dir).resolve()
        self.port = port
        self.workers = workers
        self.listen_host = listen_host
        if connection_string:
            # Explicit wins over local.settings.json (settings never override set variables).
            os.environ[host_settings.DEFAULT_STORAGE_SETTING] = connection_string
        self.app: IndexedApp = load_app(self.app_dir)
        self.connection_string = connection_string or os.environ.get(host_settings.DEFAULT_STORAGE_SETTING, "")
        self.engine: DurableEngine | None = None
        self.invoker: Invoker | None = None
        self.user_routes: UserRoutes | None = None
        self.timers: TimerScheduler | None = None
        self.listeners: list[QueueListener] = []
        self._runner: web.AppRunner | None = None
        self._rpc_runner: web.AppRunner | None = None
        self._lease: HubLease | None = None
        self._started = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _build_engine(self) -> DurableEngine | None:
        if not needs_durable(self.app):
            return None
        if not self.connection_string:
            raise RuntimeError("the durable engine needs a storage connection (AzureWebJobsStorage)")
        store = TableStore(self.connection_string, self.app.hub_name)
        return DurableEngine(self.app, store, worker_count=self.workers)

    async def start(self) -> None:
        """Bind the port, start the engine, timers and queue listeners."""
        if self.port == 0:
            self.port = free_port()
        self.engine = self._build_engine()
        urls: DurableUrls | None = None
        if self.engine is not None:
            # One host per task hub, before anything is bound or started (HubTaken names the holder).
            self._lease = HubLease(self.connection_string, self.engine.hub_name, describe_holder(self.base_url))
            await self._lease.acquire()
            # The SDK's client calls a loopback listener of its own that needs no key (the extension's
            # 127.0.0.1:17071); the public webhooks on the host's port require the system key.
            rpc_port = free_port()
            urls = DurableUrls(
                self.base_url, self.engine.hub_name, key=system_key(self.app_dir),
                rpc_base_url=f"http://127.0.0.1:{rpc_port}{RPC_PATH}/",
            )
        client_binding = urls.client_binding_json if urls is not None else None
        self.invoker = Invoker(self.app, client_binding=client_binding)
        # asyncio.to_thread in async handlers (every storage call of the HTTP API) uses the default
        # executor: give it the invoker's I/O-sized pool instead of min(32, cpus + 4) threads.
        asyncio.get_running_loop().set_default_executor(self.invoker.executor)
        # Fail before binding anything when a schedule or queue setting is wrong.
        jobs = timer_jobs(self.app.by_trigger("timerTrigger"))
        options = QueueOptions.from_host_json(self.app.host_json)
        listeners = [QueueListener(self.invoker, f, options) for f in self.app.by_trigger("queueTrigger")]

        web_app = web.Application(client_max_size=100 * 1024 * 1024, middlewares=[json_errors])
        if self.engine is not None and urls is not None:
            durable_api.add_routes(web_app, self.engine, urls, key=urls.key)
            rpc_app = web.Application(client_max_size=100 * 1024 * 1024, middlewares=[json_errors])
            durable_api.add_routes(rpc_app, self.engine, urls, prefix=RPC_PATH)
            self._rpc_runner = web.AppRunner(rpc_app, access_log=None, handle_signals=False)
            await self._rpc_runner.setup()
            await web.TCPSite(self._rpc_runner, "127.0.0.1", rpc_port).start()
        self.user_routes = UserRoutes(self.app, self.invoker)
        self.user_routes.add_to(web_app)
        self._runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.listen_host, self.port)
        await site.start()
        self._started = True
        try:
            if self.engine is not None:
                await self.engine.start()
                if self._lease is not None:
                    self._lease.keep(self.engine.stop)
            self.timers = TimerScheduler(self.invoker, jobs)
            self.timers.start()
            for listener in listeners:
                listener.start()
                self.listeners.append(listener)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop listeners, timers, the engine and the HTTP server (in that order)."""
        for listener in self.listeners:
            await listener.stop()
        self.listeners.clear()
        if self.timers is not None:
            await self.timers.stop()
            self.timers = None
        if self.engine is not None:
            try:
                await self.engine.stop()
            except Exception:
                logger.exception("Stopping the durable engine failed")
        if self._lease is not None:
            await self._lease.release()
            self._lease = None
        for runner in (self._runner, self._rpc_runner):
            if runner is not None:
                await runner.cleanup()
        self._runner = self._rpc_runner = None
        await _close_durable_client_session()
        if self.invoker is not None:
            loop = asyncio.get_running_loop()
            # The invoker's pool is the default executor: close it from a thread of its own (a pool
            # thread waiting for its own pool to finish would deadlock), then give the loop a fresh one.
            closer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="devhost-close")
            try:
                await loop.run_in_executor(closer, self.invoker.close)
            finally:
                closer.shutdown(wait=False)
            loop.set_default_executor(ThreadPoolExecutor(thread_name_prefix="devhost-default"))
            self.invoker = None
        self._started = False

    def describe(self) -> list[str]:
        """One line per function, like ``func start``: HTTP routes with URL, other triggers with details."""
        lines: list[str] = []
        if self.user_routes is not None:
            lines.extend(describe_routes(self.user_routes.routes, f"http://localhost:{self.port}"))
        for function in self.app.functions.values():
            trigger = function.trigger
            if function.trigger_type == "httpTrigger":
                continue
            if function.trigger_type == "timerTrigger":
                detail = f"timerTrigger (schedule: {trigger.schedule})"
            elif function.trigger_type == "queueTrigger":
                try:
                    detail = f"queueTrigger (queue: {resolve_queue_name(function)})"
                except host_settings.SettingsError:
                    detail = f"queueTrigger (queue: {trigger.queue_name})"
            else:
                detail = function.trigger_type
            lines.append(f"{function.name}: {detail}")
        return lines

