"""Load the generated sample project into a running service: upload its documents, create and import it.

Usage: ``python -m samples.load [--endpoint http://localhost:7071] [--key KEY] [--connection CONN]``.
Defaults come from ``local.settings.json`` (or the sample settings file), so after ``scripts/run`` the
sample is ready to train.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import requests
from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient

from devhost.settings import read_local_settings
from samples.generate import generate_sample_project

API_VERSION = "2023-04-01"
ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("samples.load")


def upload_documents(connection: str, container: str, documents: dict[str, bytes]) -> None:
    service = BlobServiceClient.from_connection_string(connection)
    client = service.get_container_client(container)
    try:
        client.create_container()
    except ResourceExistsError:
        pass
    for location, data in documents.items():
        client.upload_blob(location, data, overwrite=True)


def wait_for_job(session: requests.Session, url: str, timeout: float = 300.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = session.get(url, timeout=30).json()
        if body.get("status") in {"succeeded", "failed", "cancelled"}:
            return body
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not finish within {timeout:.0f}s")


def load_sample(endpoint: str, key: str, connection: str) -> str:
    """Upload, create and import the sample project; returns the project name."""
    project, documents = generate_sample_project()
    metadata = project["metadata"]
    name = metadata["projectName"]
    upload_documents(connection, metadata["storageInputContainerName"], documents)
    session = requests.Session()
    session.headers["Ocp-Apim-Subscription-Key"] = key
    base = f"{endpoint.rstrip('/')}/language/authoring/analyze-text/projects/{name}"
    params = {"api-version": API_VERSION}
    response = session.post(f"{base}/:import", params=params, json=project, timeout=60)
    if response.status_code != 202:
        raise RuntimeError(f"import failed: HTTP {response.status_code} {response.text}")
    job = wait_for_job(session, response.headers["operation-location"])
    if job["status"] != "succeeded":
        raise RuntimeError(f"import job ended {job['status']}: {job.get('errors')}")
    return name


def main(argv: list[str] | None = None) -> int:
    values, _ = read_local_settings(ROOT)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="http://localhost:7071")
    parser.add_argument("--key", default=values.get("LANGUAGE_API_KEYS", "").split(",")[0])
    parser.add_argument(
        "--connection",
        default=values.get("NER_STORAGE_CONNECTION") or values.get("AzureWebJobsStorage", ""),
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    name = load_sample(args.endpoint, args.key, args.connection)
    log.info("Sample project %r imported; train it with POST .../projects/%s/:train", name, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
