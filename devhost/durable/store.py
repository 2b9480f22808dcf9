"""Durable state: instances, history and inboxes. The record, the store protocol the engine needs, and
``MemoryStore`` for unit tests; ``devhost.durable.table_store.TableStore`` keeps the same state in Azure
Table Storage (its docstring has the table layout).
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

PENDING = "Pending"
RUNNING = "Running"
COMPLETED = "Completed"
CONTINUED_AS_NEW = "ContinuedAsNew"
FAILED = "Failed"
TERMINATED = "Terminated"
SUSPENDED = "Suspended"
ACTIVE_STATUSES = frozenset({PENDING, RUNNING, SUSPENDED, CONTINUED_AS_NEW})
TERMINAL_STATUSES = frozenset({COMPLETED, FAILED, TERMINATED})
ALL_STATUSES = (PENDING, RUNNING, COMPLETED, CONTINUED_AS_NEW, FAILED, TERMINATED, SUSPENDED)

# Table string properties hold 64 KiB (32K UTF-16 units); keep well below, the rest goes to a blob.
MAX_INLINE_CHARS = 30_000
MAX_BATCH_OPS = 100
MAX_BATCH_CHARS = 3_000_000


@dataclass
class InstanceRecord:
    """One orchestration instance, as in the Instances table."""

    instance_id: str
    name: str
    execution_id: str
    runtime_status: str
    created_time: datetime
    last_updated_time: datetime
    input: str | None = None
    output: str | None = None
    custom_status: str | None = None
    version: str = ""
    parent_instance_id: str | None = None
    parent_task_id: int | None = None
    completed_time: datetime | None = None

    def copy(self) -> InstanceRecord:
        """A shallow copy (all fields are immutable values)."""
        return replace(self)


class DurableStore(Protocol):
    """What the engine needs from a store. All methods are blocking; the engine calls them in threads."""

    def get_instance(self, instance_id: str) -> InstanceRecord | None: ...
    def put_instance(self, record: InstanceRecord) -> None: ...
    def query_instances(
        self, *, created_from: datetime | None = None, created_to: datetime | None = None,
        statuses: Sequence[str] | None = None, prefix: str | None = None,
    ) -> list[InstanceRecord]: ...
    def delete_instance(self, instance_id: str) -> bool: ...
    def load_history(self, instance_id: str) -> list[dict[str, Any]]: ...
    def write_history(
        self, instance_id: str, execution_id: str, start_index: int, events: Sequence[dict[str, Any]],
        *, consumed: Sequence[str] = (), truncate: bool = False, add: Sequence[dict[str, Any]] = (),
    ) -> list[str]: ...
    def add_message(self, instance_id: str, message: dict[str, Any]) -> str: ...
    def load_messages(self, instance_id: str) -> list[tuple[str, dict[str, Any]]]: ...
    def delete_messages(self, instance_id: str, keys: Iterable[str]) -> None: ...
    def close(self) -> None: ...


def stored(event: dict[str, Any]) -> dict[str, Any]:
    # The cached serialization is derived data; never persist it.
    return {k: v for k, v in event.items() if k != "_json"}


def message_key() -> str:
    # Sorts after the hex history keys and in arrival order.
    return f"~{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"


def matches(
    record: InstanceRecord, created_from: datetime | None, created_to: datetime | None,
    statuses: Sequence[str] | None, prefix: str | None,
) -> bool:
    if created_from is not None and record.created_time < created_from:
        return False
    if created_to is not None and record.created_time > created_to:
        return False
    if statuses and record.runtime_status not in statuses:
        return False
    return not (prefix and not record.instance_id.startswith(prefix))


class MemoryStore:
    """In-process store for unit tests; copies values in and out like a real store would."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._instances: dict[str, InstanceRecord] = {}
        self._history: dict[str, list[dict[str, Any]]] = {}
        self._messages: dict[str, dict[str, dict[str, Any]]] = {}

    def get_instance(self, instance_id: str) -> InstanceRecord | None:
        with self._lock:
            record = self._instances.get(instance_id)
            return record.copy() if record else None

    def put_instance(self, record: InstanceRecord) -> None:
        with self._lock:
            self._instances[record.instance_id] = record.copy()

    def query_instances(
        self, *, created_from: datetime | None = None, created_to: datetime | None = None,
        statuses: Sequence[str] | None = None, prefix: str | None = None,
    ) -> list[InstanceRecord]:
        with self._lock:
            return [
                r.copy() for r in self._instances.values() if matches(r, created_from, created_to, statuses, prefix)
            ]

    def delete_instance(self, instance_id: str) -> bool:
        with self._lock:
            self._history.pop(instance_id, None)
            self._messages.pop(instance_id, None)
            return self._instances.pop(instance_id, None) is not None

    def load_history(self, instance_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._history.get(instance_id, []))

    def write_history(
        self, instance_id: str, execution_id: str, start_index: int, events: Sequence[dict[str, Any]],
        *, consumed: Sequence[str] = (), truncate: bool = False, add: Sequence[dict[str, Any]] = (),
    ) -> list[str]:
        """Append ``events`` at ``start_index``, delete ``consumed`` messages and queue ``add`` ones, atomically."""
        with self._lock:
            rows = self._history.setdefault(instance_id, [])
            if truncate:
                del rows[start_index:]
            if len(rows) != start_index:
                raise RuntimeError(f"history of {instance_id} has {len(rows)} events, expected {start_index}")
            rows.extend(copy.deepcopy(stored(e)) for e in events)
            inbox = self._messages.setdefault(instance_id, {})
            for key in consumed:
                inbox.pop(key, None)
            keys = []
            for message in add:
                key = message_key()
                inbox[key] = copy.deepcopy(stored(message))
                keys.append(key)
            return keys

    def add_message(self, instance_id: str, message: dict[str, Any]) -> str:
        key = message_key()
        with self._lock:
            self._messages.setdefault(instance_id, {})[key] = copy.deepcopy(message)
        return key

    def load_messages(self, instance_id: str) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            inbox = self._messages.get(instance_id, {})
            return [(k, copy.deepcopy(inbox[k])) for k in sorted(inbox)]

    def delete_messages(self, instance_id: str, keys: Iterable[str]) -> None:
        with self._lock:
            inbox = self._messages.get(instance_id, {})
            for key in keys:
                inbox.pop(key, None)

    def close(self) -> None:
        return None
