"""Invoke user functions the way the Python worker does.

Keyword arguments are keyed by binding name: the trigger value, input bindings (blob/table, durable
client JSON), ``Out`` objects for output bindings and ``context`` when asked for. Async functions run
on the host's single persistent event loop (the durable client keeps a module-global aiohttp
session bound to it); sync functions run in a thread pool. Output bindings are written after the
function returns.

The pool is sized for I/O-bound handlers (storage calls that mostly wait): ``PYTHON_THREADPOOL_THREAD_COUNT``
when set, else :data:`DEFAULT_THREAD_COUNT`. The host also makes it the loop's default executor, so
``asyncio.to_thread`` in async handlers does not queue behind the default ``min(32, cpus + 4)`` threads.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import azure.functions as func

from devhost.bindings import StorageBindings
from devhost.indexer import FunctionInfo, IndexedApp

logger = logging.getLogger("devhost.invoker")

THREAD_COUNT_SETTING = "PYTHON_THREADPOOL_THREAD_COUNT"
DEFAULT_THREAD_COUNT = 32
"""Pool size without the setting: the worker's maximum; the handlers mostly wait on storage and HTTP."""


def thread_count_from_settings(environ: Mapping[str, str] | None = None) -> int:
    """``PYTHON_THREADPOOL_THREAD_COUNT`` (a positive integer) or :data:`DEFAULT_THREAD_COUNT`.

    Raises:
        ValueError: the setting is present but not a positive integer.
    """
    raw = (os.environ if environ is None else environ).get(THREAD_COUNT_SETTING, "").strip()
    if not raw:
        return DEFAULT_THREAD_COUNT
    try:
        count = int(raw)
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(f"{THREAD_COUNT_SETTING} must be a positive integer, got {raw!r}")
    return count


current_function: contextvars.ContextVar[str] = contextvars.ContextVar("devhost_function", default="-")
current_invocation: contextvars.ContextVar[str] = contextvars.ContextVar("devhost_invocation", default="-")


class FunctionInvocationError(RuntimeError):
    """The user function (or one of its bindings) raised; ``__cause__`` holds the original error."""

    def __init__(self, function_name: str, invocation_id: str, cause: BaseException) -> None:
        super().__init__(f"Function '{function_name}' (Id={invocation_id}) failed: {type(cause).__name__}: {cause}")
        self.function_name = function_name
        self.invocation_id = invocation_id


class OutValue(func.Out):  # type: ignore[type-arg]
    """Concrete ``func.Out``: the function sets a value, the host writes it after the call."""

    def __init__(self) -> None:
        self._value: Any = None
        self.was_set = False

    def set(self, val: Any) -> None:
        self._value = val
        self.was_set = True

    def get(self) -> Any:
        return self._value


class _TraceContext:
    def __init__(self) -> None:
        self._traceparent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00"

    @property
    def trace_state(self) -> str:
        return ""

    @property
    def trace_parent(self) -> str:
        return self._traceparent

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _RetryContext:
    retry_count = 0
    max_retry_count = 0
    exception = None


class InvocationContext(func.Context):
    """Concrete ``func.Context`` handed to a parameter named ``context``."""

    _local = threading.local()

    def __init__(self, invocation_id: str, function_name: str, function_directory: str) -> None:
        self._invocation_id = invocation_id
        self._function_name = function_name
        self._function_directory = function_directory
        self._trace_context = _TraceContext()

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        return self._local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> Any:
        return self._trace_context

    @property
    def retry_context(self) -> Any:
        return _RetryContext()


@dataclass
class InvocationResult:
    """What the function returned (the ``$return`` value) and its invocation id."""

    value: Any
    invocation_id: str


class Invoker:
    """Runs functions of one indexed app with their bindings.

    Args:
        app: the indexed app.
        client_binding: returns the JSON a ``durableClient`` binding receives (None: no durable engine).
        storage: executes blob/table/queue bindings.
        thread_count: size of the pool for sync functions and blocking binding I/O (default:
            :func:`thread_count_from_settings`).
    """

    def __init__(
        self,
        app: IndexedApp,
        *,
        client_binding: Callable[[], str] | None = None,
        storage: StorageBindings | None = None,
        thread_count: int | None = None,
    ) -> None:
        self.app = app
        self.client_binding = client_binding
        self.storage = storage or StorageBindings()
        self.thread_count = thread_count or thread_count_from_settings()
        self._pool = ThreadPoolExecutor(max_workers=self.thread_count, thread_name_prefix="devhost-fn")

    @property
    def executor(self) -> ThreadPoolExecutor:
        """The pool sync functions run in (the host also installs it as the loop's default executor)."""
        return self._pool

    def close(self) -> None:
        """Stop the thread pool (running sync functions finish first)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    async def run_blocking(self, call: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking call in the pool, keeping the logging context."""
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        return await loop.run_in_executor(self._pool, lambda: context.run(call, *args))

    async def invoke(
        self,
        function: FunctionInfo,
        trigger_value: Any,
        *,
        binding_data: Mapping[str, Any] | None = None,
        reason: str = "",
    ) -> InvocationResult:
        """Invoke ``function`` with ``trigger_value`` bound to its trigger parameter.

        Raises:
            FunctionInvocationError: the function or one of its bindings raised (logged with traceback).
        """
        invocation_id = str(uuid.uuid4())
        data = dict(binding_data or {})
        function_token = current_function.set(function.name)
        invocation_token = current_invocation.set(invocation_id)
        started = time.perf_counter()
        logger.info("Executing 'Functions.%s' (Reason='%s', Id=%s)", function.name, reason, invocation_id)
        try:
            kwargs, outs = await self._arguments(function, trigger_value, data, invocation_id)
            if function.is_async:
                value = await function.user_function(**kwargs)
            else:
                value = await self.run_blocking(lambda: function.user_function(**kwargs))
            await self._write_outputs(function, outs, value, data)
            logger.info(
                "Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%.0fms)",
                function.name, invocation_id, (time.perf_counter() - started) * 1000,
            )
        except Exception as exc:
            duration = (time.perf_counter() - started) * 1000
            logger.error(
                "Executed 'Functions.%s' (Failed, Id=%s, Duration=%.0fms)",
                function.name, invocation_id, duration, exc_info=exc,
            )
            raise FunctionInvocationError(function.name, invocation_id, exc) from exc
        finally:
            current_function.reset(function_token)
            current_invocation.reset(invocation_token)
        return InvocationResult(value=value, invocation_id=invocation_id)

    async def _arguments(
        self, function: FunctionInfo, trigger_value: Any, data: Mapping[str, Any], invocation_id: str
    ) -> tuple[dict[str, Any], dict[str, tuple[Any, OutValue]]]:
        kwargs: dict[str, Any] = {function.trigger.name: trigger_value}
        outs: dict[str, tuple[Any, OutValue]] = {}
        for binding in function.input_bindings():
            kwargs[binding.name] = await self._input_value(function, binding, data)
        for binding in function.output_bindings():
            out = OutValue()
            outs[binding.name] = (binding, out)
            kwargs[binding.name] = out
        if function.requires_context:
            kwargs["context"] = InvocationContext(invocation_id, function.name, str(self.app.app_dir))
        return kwargs, outs

    async def _input_value(self, function: FunctionInfo, binding: Any, data: Mapping[str, Any]) -> Any:
        binding_type = binding.type
        if binding_type == "durableClient":
            if self.client_binding is None:
                raise RuntimeError(
                    f"function '{function.name}' has a durableClient binding but the durable engine is not running"
                )
            return self.client_binding()
        annotation = function.annotations.get(binding.name)
        if binding_type == "blob":
            return await self.run_blocking(self.storage.blob_input, binding, data, annotation, function.name)
        if binding_type == "table":
            return await self.run_blocking(self.storage.table_input, binding, data, function.name)
        raise RuntimeError(f"function '{function.name}': input binding type '{binding_type}' is not supported here")

    async def _write_outputs(
        self, function: FunctionInfo, outs: Mapping[str, tuple[Any, OutValue]], value: Any, data: Mapping[str, Any]
    ) -> None:
        pending: list[tuple[Any, Any]] = [(binding, out.get()) for binding, out in outs.values() if out.was_set]
        if function.return_binding is not None and function.return_binding.type not in {"http"}:
            pending.append((function.return_binding, value))
        for binding, item in pending:
            await self.write_output(function, binding, item, data)

    async def write_output(self, function: FunctionInfo, binding: Any, value: Any, data: Mapping[str, Any]) -> None:
        """Write one output binding value (queue, blob, table)."""
        writers: dict[str, Callable[..., Any]] = {
            "queue": self.storage.queue_output,
            "blob": self.storage.blob_output,
            "table": self.storage.table_output,
        }
        writer = writers.get(binding.type)
        if writer is None:
            raise RuntimeError(
                f"function '{function.name}': output binding type '{binding.type}' is not supported by devhost"
            )
        await self.run_blocking(writer, binding, data, value, function.name)
