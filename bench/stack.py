"""A private service stack: Azurite on free ports plus the local host on a free port.

Both are started and stopped by the benchmark (``devhost.testing`` starts the host and waits for it),
so nothing shares state with anybody's running service.
"""

from __future__ import annotations

import json
import subprocess
import uuid

from bench.client import API_VERSION, BENCH_KEY, BENCH_SYSTEM_KEY, PROJECTS_PATH
from bench.machine import RESULTS, ROOT
from devhost.azurite import Azurite, start_azurite
from devhost.testing import HostProcess, start_host


def default_service_settings() -> dict[str, str]:
    """Values of local.settings.sample.json (the service's documented defaults)."""
    path = ROOT / "local.settings.sample.json"
    return dict(json.loads(path.read_text(encoding="utf-8")).get("Values", {}))


class Stack:
    """A private Azurite (free ports, random key) plus ``python -m devhost start`` on a free port."""

    def __init__(
        self, settings: dict[str, str] | None = None, *, workers: int = 2, log_name: str = "host"
    ) -> None:
        self.extra_settings = dict(settings or {})
        self.workers = workers
        self.log_path = RESULTS / "logs" / f"{log_name}-{uuid.uuid4().hex[:6]}.log"
        self.azurite: Azurite | None = None
        self.host: HostProcess | None = None
        self.connection = ""

    @property
    def port(self) -> int:
        return self.host.port if self.host is not None else 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The host's ``subprocess.Popen`` (for memory sampling of its process tree)."""
        return self.host.process if self.host is not None else None

    def start(self, timeout: float = 180.0) -> Stack:
        self.azurite = start_azurite(ROOT)
        self.connection = self.azurite.connection_string
        env = default_service_settings()
        env.update({
            "NER_STORAGE_CONNECTION": self.connection,
            "AzureWebJobsStorage": self.connection,
            "LANGUAGE_API_KEYS": BENCH_KEY,
            "DEVHOST_SYSTEM_KEY": BENCH_SYSTEM_KEY,
            "NER_TASK_HUB": "Bench" + uuid.uuid4().hex[:8],
        })
        env.update(self.extra_settings)
        try:
            self.host = start_host(
                ROOT, env, self.log_path, workers=self.workers, timeout=timeout,
                ready_path=f"{PROJECTS_PATH}?api-version={API_VERSION}",
                ready_headers={"Ocp-Apim-Subscription-Key": BENCH_KEY},
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.host is not None:
            self.host.stop()
            self.host = None
        if self.azurite is not None:
            self.azurite.stop()
            self.azurite = None

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
