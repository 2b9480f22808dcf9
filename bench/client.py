"""The authoring calls the benchmarks make, over loopback with ``requests``."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

API_VERSION = "2023-04-01"
BENCH_KEY = "bench-key"
BENCH_SYSTEM_KEY = "bench-system-key"
"""The local host's system key (DEVHOST_SYSTEM_KEY) for the Durable HTTP API the timelines read."""
PROJECTS_PATH = "/language/authoring/analyze-text/projects"


class ServiceClient:
    """The handful of authoring calls the benchmarks make, over loopback with ``requests``."""

    def __init__(self, endpoint: str, key: str = BENCH_KEY) -> None:
        import requests

        self.endpoint = endpoint.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Ocp-Apim-Subscription-Key"] = key
        self.session.headers["x-functions-key"] = BENCH_SYSTEM_KEY  # for the Durable HTTP API
        self.params = {"api-version": API_VERSION}

    def project_url(self, project: str) -> str:
        return f"{self.endpoint}{PROJECTS_PATH}/{project}"

    def _check(self, response: Any, expected: int) -> Any:
        if response.status_code != expected:
            raise RuntimeError(
                f"{response.request.method} {response.url}: HTTP {response.status_code} {response.text[:500]}"
            )
        return response

    def import_project(
        self, project: str, body: dict[str, Any], timeout: float = 3600
    ) -> tuple[float, dict[str, Any]]:
        """POST :import and poll the operation to the end; returns (seconds, final job body)."""
        t0 = time.perf_counter()
        r = self._check(
            self.session.post(
                f"{self.project_url(project)}/:import", params=self.params, json=body, timeout=600
            ),
            202,
        )
        job = self.wait(r.headers["operation-location"], timeout=timeout)
        elapsed = time.perf_counter() - t0
        if job.get("status") != "succeeded":
            raise RuntimeError(f"import of {project} ended {job.get('status')}: {job.get('errors')}")
        return elapsed, job

    def start_training(
        self, project: str, label: str, evaluation: dict[str, Any], config_version: str = "latest"
    ) -> tuple[float, str]:
        """POST :train; returns (seconds to the 202, operation-location)."""
        body: dict[str, Any] = {
            "modelLabel": label, "trainingConfigVersion": config_version, "evaluationOptions": evaluation
        }  # fmt: skip
        t0 = time.perf_counter()
        r = self.session.post(
            f"{self.project_url(project)}/:train", params=self.params, json=body, timeout=120
        )
        latency = time.perf_counter() - t0
        self._check(r, 202)
        return latency, r.headers["operation-location"]

    def get_job(self, url: str) -> dict[str, Any]:
        return dict(self._check(self.session.get(url, timeout=120), 200).json())

    def wait(
        self,
        url: str,
        *,
        timeout: float = 3600,
        interval: float = 0.25,
        on_poll: Callable[[dict[str, Any], float], None] | None = None,
    ) -> dict[str, Any]:
        """Poll a job URL until a terminal status; ``on_poll(body, t)`` sees every answer."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.get_job(url)
            if on_poll is not None:
                on_poll(body, time.perf_counter())
            if body.get("status") in {"succeeded", "failed", "cancelled"}:
                return body
            time.sleep(interval)
        raise TimeoutError(f"{url} not finished within {timeout:.0f}s")

    def cancel(self, job_url: str) -> None:
        base, _, query = job_url.partition("?")
        self._check(self.session.post(f"{base}/:cancel", params=self.params, timeout=60), 202)

    def evaluation_summary(self, project: str, label: str) -> dict[str, Any]:
        url = f"{self.project_url(project)}/models/{label}/evaluation/summary-result"
        return dict(self._check(self.session.get(url, params=self.params, timeout=60), 200).json())

    def evaluation_results(self, project: str, label: str) -> list[dict[str, Any]]:
        url: str | None = f"{self.project_url(project)}/models/{label}/evaluation/result"
        params: dict[str, str] | None = dict(self.params, stringIndexType="Utf16CodeUnit")
        items: list[dict[str, Any]] = []
        while url:
            body = self._check(self.session.get(url, params=params, timeout=120), 200).json()
            items.extend(body.get("value", []))
            url, params = body.get("nextLink"), None
        return items


def upload_documents(
    connection: str, container: str, documents: dict[str, bytes], concurrency: int = 8
) -> float:
    """Create ``container`` (if needed) and upload every document; returns seconds."""
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import BlobServiceClient

    t0 = time.perf_counter()
    client = BlobServiceClient.from_connection_string(connection).get_container_client(container)
    try:
        client.create_container()
    except ResourceExistsError:
        pass
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda item: client.upload_blob(item[0], item[1], overwrite=True), documents.items()))
    return time.perf_counter() - t0
