"""One host per task hub: a blob lease on the hub, held and renewed by the running host.

A second host on the same storage and hub waits up to one lease period for the lease (a host that
was killed leaves a lease that expires by itself) and then refuses to start, naming the holder. The
holder renews every few seconds; if it ever loses the lease (storage away longer than the lease and
another host took it), it stops running orchestrations rather than run them twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger("devhost.lease")

LEASE_SECONDS = 15  # Azure's shortest finite blob lease
RENEW_SECONDS = 5.0
HOLDER_METADATA = "holder"


class HubTaken(RuntimeError):
    """Another host holds the task hub."""


def container_name(hub_name: str) -> str:
    """A valid container name for the hub's lease blob (lowercase letters, digits and dashes)."""
    cleaned = "".join(c if c.isalnum() else "-" for c in hub_name.lower()).strip("-") or "hub"
    return f"{cleaned[:50]}-leases"


def describe_holder(endpoint: str) -> str:
    """Who holds the hub, in words a developer can act on (ASCII: blob metadata)."""
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = f"devhost pid {os.getpid()} on {socket.gethostname()} serving {endpoint} since {since}"
    return text.encode("ascii", "replace").decode("ascii")


class HubLease:
    """The lease on ``<hub>-leases/host`` in the host's storage account."""

    def __init__(self, connection_string: str, hub_name: str, holder: str) -> None:
        from azure.storage.blob import BlobServiceClient

        self.hub_name = hub_name
        self.holder = holder
        service = BlobServiceClient.from_connection_string(connection_string)
        self._container = service.get_container_client(container_name(hub_name))
        self._blob = self._container.get_blob_client("host")
        self._lease: Any = None
        self._task: asyncio.Task[None] | None = None

    def _try_acquire(self) -> str | None:
        """Take the lease (None) or return the current holder's description."""
        from azure.core.exceptions import HttpResponseError, ResourceExistsError

        try:
            self._container.create_container()
        except ResourceExistsError:
            pass
        try:
            self._blob.upload_blob(b"", overwrite=False)
        except ResourceExistsError:
            pass
        try:
            lease = self._blob.acquire_lease(lease_duration=LEASE_SECONDS)
        except HttpResponseError as exc:
            if exc.status_code != 409:
                raise
            metadata = self._blob.get_blob_properties().metadata or {}
            return str(metadata.get(HOLDER_METADATA) or "another host (no description)")
        self._blob.set_blob_metadata({HOLDER_METADATA: self.holder}, lease=lease)
        self._lease = lease
        return None

    async def acquire(self, wait: float = LEASE_SECONDS + 5) -> None:
        """Take the hub, waiting up to ``wait`` seconds for a dead holder's lease to expire.

        Raises:
            HubTaken: a live host holds it (its lease was renewed all along).
        """
        deadline = time.monotonic() + wait
        while True:
            holder = await asyncio.to_thread(self._try_acquire)
            if holder is None:
                logger.info("Task hub '%s' leased by this host", self.hub_name)
                return
            if time.monotonic() >= deadline:
                raise HubTaken(
                    f"task hub '{self.hub_name}' on this storage is held by {holder}. One host per task hub: "
                    f"stop that host, or give this one another hub (NER_TASK_HUB / host.json hubName)."
                )
            logger.info("Task hub '%s' is held by %s; waiting for its lease to expire", self.hub_name, holder)
            await asyncio.sleep(1.0)

    def keep(self, on_lost: Callable[[], Any]) -> None:
        """Renew in the background; ``on_lost()`` if another host took the hub meanwhile."""
        self._task = asyncio.ensure_future(self._renew(on_lost))

    async def _renew(self, on_lost: Callable[[], Any]) -> None:
        from azure.core.exceptions import HttpResponseError

        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                await asyncio.to_thread(self._lease.renew)
            except HttpResponseError as exc:
                if exc.status_code == 409:  # leased again by someone else: an expired lease cannot be renewed
                    logger.error("Task hub '%s' was taken by another host; this host stops its orchestrations",
                                 self.hub_name)
                    result = on_lost()
                    if asyncio.iscoroutine(result):
                        await result
                    return
                logger.warning("Renewing the task hub lease failed (%s); retrying", exc.status_code)
            except Exception as exc:  # noqa: BLE001 - storage away: an expired lease can still be renewed later
                logger.warning("Renewing the task hub lease failed (%s); retrying", type(exc).__name__)

    async def release(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._lease is not None:
            try:
                await asyncio.to_thread(self._lease.release)
            except Exception:  # noqa: BLE001 - an unreleased lease expires by itself
                logger.warning("Releasing the task hub lease failed; it expires in %d s", LEASE_SECONDS)
            self._lease = None
