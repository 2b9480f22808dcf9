"""Queue triggers: poll Azure Storage queues (Azurite) and invoke the function per message.

Behaviour follows the Functions queue extension: messages are base64 text (decoded here; a message
that is not valid base64 UTF-8 is passed as raw text), a message stays invisible while its function
runs (renewed), is deleted on success, made visible again on failure, and moved to
``<queue>-poison`` once it has failed ``maxDequeueCount`` (default 5) dequeues.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.functions.queue import QueueMessage
from azure.storage.queue.aio import QueueClient

from devhost import settings as host_settings
from devhost.bindings import binding_data_from_json
from devhost.indexer import FunctionInfo
from devhost.invoker import FunctionInvocationError, Invoker

logger = logging.getLogger("devhost.queues")


@dataclass(frozen=True)
class QueueOptions:
    """host.json ``extensions.queues`` (defaults as the extension, except a 2 s poll cap for local use)."""

    batch_size: int = 16
    max_dequeue_count: int = 5
    max_polling_interval: float = 2.0
    min_polling_interval: float = 0.1
    visibility_timeout: float = 0.0  # delay before a failed message is retried
    lease_seconds: int = 600  # invisibility while the function runs; renewed at half-time

    @classmethod
    def from_host_json(cls, host_json: dict[str, Any]) -> QueueOptions:
        section = host_settings.extension_section(host_json, "queues")

        def seconds(value: Any, default: float) -> float:
            if value is None:
                return default
            if isinstance(value, int | float):
                return float(value) / 1000.0  # host.json gives maxPollingInterval in milliseconds
            return host_settings.parse_timespan(str(value))

        return cls(
            batch_size=int(section.get("batchSize", 16)),
            max_dequeue_count=int(section.get("maxDequeueCount", 5)),
            max_polling_interval=seconds(section.get("maxPollingInterval"), 2.0),
            visibility_timeout=seconds(section.get("visibilityTimeout"), 0.0),
        )


def decode_message_text(content: str) -> str | bytes:
    """Base64 text as the extension writes it; anything else is taken as the raw text."""
    try:
        raw = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        return content
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return content


def resolve_queue_name(function: FunctionInfo) -> str:
    """The trigger's queue name with ``%Setting%`` resolved, lower-cased as queue names are."""
    name = host_settings.resolve_setting_refs(
        str(function.trigger.queue_name), what=f"function '{function.name}' queue_name"
    )
    return name.lower()


class QueueListener:
    """Polls one queue for one queue-trigger function."""

    def __init__(self, invoker: Invoker, function: FunctionInfo, options: QueueOptions | None = None) -> None:
        self.invoker = invoker
        self.function = function
        self.options = options or QueueOptions()
        self.queue_name = resolve_queue_name(function)
        self.connection = host_settings.storage_connection_string(getattr(function.trigger, "connection", None))
        self._task: asyncio.Task[None] | None = None
        self._client: QueueClient | None = None
        self._poison: QueueClient | None = None

    def start(self) -> None:
        self._client = QueueClient.from_connection_string(self.connection, self.queue_name)
        self._task = asyncio.create_task(self._run(), name=f"queue:{self.function.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for client in (self._client, self._poison):
            if client is not None:
                await client.close()
        self._client = self._poison = None

    async def _run(self) -> None:
        assert self._client is not None
        delay = self.options.min_polling_interval
        while True:
            try:
                messages = [
                    m async for m in self._client.receive_messages(
                        messages_per_page=self.options.batch_size,
                        max_messages=self.options.batch_size,
                        visibility_timeout=self.options.lease_seconds,
                    )
                ]
            except ResourceNotFoundError:
                messages = []  # the queue does not exist yet: keep polling, like the extension
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Polling queue '%s' for '%s' failed", self.queue_name, self.function.name)
                messages = []
            if not messages:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.options.max_polling_interval)
                continue
            delay = self.options.min_polling_interval
            results = await asyncio.gather(*(self._process(m) for m in messages), return_exceptions=True)
            for result in results:
                if isinstance(result, Exception):
                    logger.error("Handling a message of '%s' failed", self.queue_name, exc_info=result)

    async def _process(self, message: Any) -> None:
        assert self._client is not None
        if message.dequeue_count > self.options.max_dequeue_count:
            await self._to_poison(message)
            return
        body = decode_message_text(message.content or "")
        queue_message = QueueMessage(
            id=message.id,
            body=body,
            dequeue_count=message.dequeue_count,
            expiration_time=message.expires_on,
            insertion_time=message.inserted_on,
            time_next_visible=message.next_visible_on,
            pop_receipt=message.pop_receipt,
        )
        data: dict[str, Any] = binding_data_from_json(body)
        data.update(
            {
                "QueueTrigger": body if isinstance(body, str) else "",
                "Id": message.id,
                "DequeueCount": message.dequeue_count,
                "InsertionTime": message.inserted_on,
                "ExpirationTime": message.expires_on,
                "PopReceipt": message.pop_receipt,
            }
        )
        lease = _Lease(self._client, message, self.options.lease_seconds)
        renewer = asyncio.create_task(lease.keep())
        try:
            await self.invoker.invoke(
                self.function, queue_message, binding_data=data,
                reason=f"New queue message detected on '{self.queue_name}'",
            )
            succeeded = True
        except FunctionInvocationError:
            succeeded = False
        finally:
            renewer.cancel()
            await asyncio.gather(renewer, return_exceptions=True)
        try:
            if succeeded:
                await self._client.delete_message(message.id, lease.pop_receipt)
            elif message.dequeue_count >= self.options.max_dequeue_count:
                message.pop_receipt = lease.pop_receipt
                await self._to_poison(message)
            else:
                await self._client.update_message(
                    message.id, lease.pop_receipt, visibility_timeout=int(self.options.visibility_timeout)
                )
        except ResourceNotFoundError:
            logger.warning("Message %s on '%s' was already gone after processing", message.id, self.queue_name)

    async def _to_poison(self, message: Any) -> None:
        assert self._client is not None
        poison_name = f"{self.queue_name}-poison"
        if self._poison is None:
            self._poison = QueueClient.from_connection_string(self.connection, poison_name)
            try:
                await self._poison.create_queue()
            except ResourceExistsError:
                pass
        # The stored (still base64) content is copied unchanged.
        await self._poison.send_message(message.content)
        await self._client.delete_message(message.id, message.pop_receipt)
        logger.warning(
            "Message %s has reached MaxDequeueCount of %d; moved to queue '%s'",
            message.id, self.options.max_dequeue_count, poison_name,
        )


class _Lease:
    """Keeps a message invisible while its function runs (renews at half the lease)."""

    def __init__(self, client: QueueClient, message: Any, seconds: int) -> None:
        self.client = client
        self.message = message
        self.seconds = seconds
        self.pop_receipt: str = message.pop_receipt

    async def keep(self) -> None:
        while True:
            await asyncio.sleep(self.seconds / 2)
            try:
                updated = await self.client.update_message(
                    self.message.id, self.pop_receipt, visibility_timeout=self.seconds
                )
                self.pop_receipt = updated.pop_receipt or self.pop_receipt
            except ResourceNotFoundError:
                return
