"""Local Durable Functions runtime: engine, history protocol, stores, HTTP API and activity workers."""

from __future__ import annotations

from devhost.durable.engine import DurableEngine
from devhost.durable.store import InstanceRecord, MemoryStore, TableStore

__all__ = ["DurableEngine", "InstanceRecord", "MemoryStore", "TableStore"]
