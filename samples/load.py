"""Put a Custom NER project into a running service: upload its documents, import it, wait, report.

Usage::

    python -m samples.load                                   # the generated sample (scripts/run does this)
    python -m samples.load FOLDER --project-file labels.json [--project NAME]

``FOLDER`` holds the ``.txt`` documents; ``labels.json`` is a project file in Azure's import format
(``metadata`` + ``assets.documents[].location``), the way Azure's samples ship. Each document is uploaded
under its ``location`` (relative paths kept) to the project's ``storageInputContainerName`` in the
configured storage, then the project is imported through the service's own ``:import`` API. Problems the
service finds are printed document by document. Endpoint, key and connection string default to
``local.settings.json`` (or the sample settings file).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from azure.core.exceptions import ResourceExistsError, ServiceRequestError
from azure.storage.blob import BlobServiceClient
from tqdm import tqdm

from devhost.settings import read_local_settings
from samples.generate import generate_sample_project

API_VERSION = "2023-04-01"
PROJECTS_PATH = "/language/authoring/analyze-text/projects"
ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("samples.load")
Say = Callable[[str], None]


class LoadError(Exception):
    """A problem the user can fix; the message says what and where (no traceback is shown)."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


# ------------------------------------------------------------------------------------ the local project


@dataclass
class LocalProject:
    """A project file and the documents it names, read from a folder."""

    project: dict[str, Any]
    documents: dict[str, bytes] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.project["metadata"]["projectName"])

    @property
    def container(self) -> str:
        return str(self.project["metadata"]["storageInputContainerName"])


def container_name_for(project_name: str) -> str:
    """A valid Blob container name derived from a project name (3-63 lowercase letters, digits, hyphens)."""
    text = re.sub(r"[^a-z0-9-]+", "-", project_name.lower())
    text = re.sub(r"-{2,}", "-", text).strip("-")
    return (text or "ner-project").ljust(3, "0")[:63].rstrip("-")


def read_local_project(folder: Path, project_file: Path, project_name: str | None = None) -> LocalProject:
    """Read ``project_file`` and every document it names from ``folder``.

    ``project_name`` overrides ``metadata.projectName``; a missing ``storageInputContainerName`` is derived
    from the project name. Documents missing from the folder are reported together, by location.

    Raises:
        LoadError: unreadable project file, no documents named, or documents missing from ``folder``.
    """
    try:
        project = json.loads(project_file.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LoadError(f"cannot read the project file {project_file.name}: {exc}") from None
    if not isinstance(project, dict) or not isinstance(project.get("assets"), dict):
        raise LoadError(f"{project_file.name} is not a project file: it has no 'assets' object")
    metadata = project.setdefault("metadata", {})
    if project_name:
        metadata["projectName"] = project_name
    if not metadata.get("projectName"):
        raise LoadError(f"{project_file.name} has no metadata.projectName: pass --project NAME")
    metadata.setdefault("projectKind", project["assets"].get("projectKind", "CustomEntityRecognition"))
    metadata.setdefault("language", "en-us")
    if not metadata.get("storageInputContainerName"):
        metadata["storageInputContainerName"] = container_name_for(metadata["projectName"])
    entries = project["assets"].get("documents") or []
    locations = [entry.get("location") for entry in entries if isinstance(entry, dict)]
    if not locations:
        raise LoadError(f"{project_file.name} names no documents (assets.documents is empty)")
    documents: dict[str, bytes] = {}
    missing: list[str] = []
    for location in locations:
        path = folder / str(location)
        if not isinstance(location, str) or not path.is_file():
            missing.append(str(location))
            continue
        documents[location] = path.read_bytes()
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise LoadError(f"{len(missing)} document(s) named in {project_file.name} are not in {folder}: {shown}")
    return LocalProject(project=project, documents=documents)


# ------------------------------------------------------------------------------------- storage and API


def upload_documents(connection: str, container: str, documents: dict[str, bytes], *, progress: bool = False) -> None:
    """Create ``container`` if needed and upload every document under its location (overwriting)."""
    if not connection:
        raise LoadError("no storage connection string: set NER_STORAGE_CONNECTION or pass --connection")
    client = BlobServiceClient.from_connection_string(connection).get_container_client(container)
    try:
        client.create_container()
    except ResourceExistsError:
        pass
    bar = tqdm(total=len(documents), unit="doc", desc=f"Uploading to {container}", disable=not progress)
    with bar:
        for location, data in documents.items():
            client.upload_blob(location, data, overwrite=True)
            bar.update(1)


class Service:
    """The authoring API of one endpoint, with the subscription key."""

    def __init__(self, endpoint: str, key: str) -> None:
        self.base = f"{endpoint.rstrip('/')}{PROJECTS_PATH}"
        self.session = requests.Session()
        self.session.headers["Ocp-Apim-Subscription-Key"] = key
        self.params = {"api-version": API_VERSION}

    def project_exists(self, name: str) -> bool:
        response = self.session.get(f"{self.base}/{name}", params=self.params, timeout=30)
        if response.status_code not in (200, 404):
            raise LoadError(f"GET project {name}: HTTP {response.status_code} {_error_text(response)}")
        return response.status_code == 200

    def import_project(self, name: str, project: dict[str, Any], timeout: float = 600.0) -> dict[str, Any]:
        """Start ``:import`` and wait for its job; returns the finished job."""
        response = self.session.post(f"{self.base}/{name}/:import", params=self.params, json=project, timeout=60)
        if response.status_code != 202:
            problems = problems_by_document({"errors": [_error_of(response)]}, project)
            raise LoadError(f"import of {name!r} refused (HTTP {response.status_code})", problems)
        return self.wait_for_job(response.headers["operation-location"], timeout)

    def wait_for_job(self, url: str, timeout: float = 600.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body: dict[str, Any] = self.session.get(url, timeout=30).json()
            if body.get("status") in {"succeeded", "failed", "cancelled"}:
                return body
            time.sleep(0.5)
        raise LoadError(f"the job {url} did not finish within {timeout:.0f}s")


def _error_of(response: requests.Response) -> dict[str, Any]:
    try:
        error: dict[str, Any] = response.json()["error"]
        return error
    except (ValueError, KeyError, TypeError):
        return {"code": str(response.status_code), "message": response.text[:300]}


def _error_text(response: requests.Response) -> str:
    error = _error_of(response)
    return f"{error.get('code')}: {error.get('message')}"


_DOCUMENT_TARGET = re.compile(r"^assets\.documents\[(\d+)\]")


def problems_by_document(job: dict[str, Any], project: dict[str, Any] | None = None) -> list[str]:
    """One line per problem of a failed job or refused request: ``document-or-field: message``.

    Targets that point into the project file (``assets.documents[3].entities...``) are shown as the
    document's location, so every line starts with the file to fix.
    """
    documents = (project or {}).get("assets", {}).get("documents") or []
    lines: list[str] = []
    for error in job.get("errors") or []:
        for detail in error.get("details") or [error]:
            target = str(detail.get("target") or error.get("target") or "project")
            match = _DOCUMENT_TARGET.match(target)
            if match and int(match.group(1)) < len(documents):
                target = str(documents[int(match.group(1))].get("location", target))
            lines.append(f"{target}: {detail.get('message', '')}")
    return lines


# ---------------------------------------------------------------------------------------------- flows


def load_project(
    service: Service, connection: str, local: LocalProject, *, say: Say = print, progress: bool = True
) -> dict[str, Any]:
    """Upload ``local``'s documents, import it and wait; returns the import job (any final status)."""
    say(f"Project {local.name}: {len(local.documents)} documents -> container '{local.container}'")
    upload_documents(connection, local.container, local.documents, progress=progress)
    say(f"Importing {local.name} through {service.base}/{local.name}/:import ...")
    return service.import_project(local.name, local.project)


def load_sample(endpoint: str, key: str, connection: str, *, if_missing: bool = False, say: Say = print) -> str:
    """Upload and import the generated sample project (unless ``if_missing`` and it exists); returns its name."""
    project, documents = generate_sample_project()
    local = LocalProject(project=project, documents=documents)
    service = Service(endpoint, key)
    if if_missing and service.project_exists(local.name):
        say(f"Sample project {local.name!r} already exists: left as it is (not re-imported)")
        return local.name
    job = load_project(service, connection, local, say=say, progress=False)
    if job["status"] != "succeeded":
        raise LoadError(f"import job ended {job['status']}: " + "; ".join(problems_by_document(job, project)))
    say(f"Sample project {local.name!r} imported; train it with POST .../projects/{local.name}/:train")
    return local.name


def build_parser(values: dict[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m samples.load", description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("folder", type=Path, nargs="?", help="folder with the documents (omit for the sample)")
    parser.add_argument("--project-file", type=Path, help="project file in Azure's import format (labels JSON)")
    parser.add_argument("--project", help="project name (default: metadata.projectName of the project file)")
    parser.add_argument("--if-missing", action="store_true", help="do nothing when the project already exists")
    parser.add_argument("--endpoint", default="http://localhost:7071")
    parser.add_argument("--key", default=values.get("LANGUAGE_API_KEYS", "").split(",")[0])
    parser.add_argument(
        "--connection",
        default=values.get("NER_STORAGE_CONNECTION") or values.get("AzureWebJobsStorage", ""),
        help="storage connection string (default from local.settings.json)",
    )
    return parser


def _run(args: argparse.Namespace) -> int:
    if args.folder is None:
        load_sample(args.endpoint, args.key, args.connection, if_missing=args.if_missing)
        return 0
    project_file = args.project_file or args.folder / "labels.json"
    local = read_local_project(args.folder, project_file, args.project)
    service = Service(args.endpoint, args.key)
    if args.if_missing and service.project_exists(local.name):
        print(f"Project {local.name!r} already exists: left as it is")
        return 0
    job = load_project(service, args.connection, local)
    if job["status"] == "succeeded":
        print(f"Project {local.name!r} imported with {len(local.documents)} documents.")
        print(f"Train it: POST {service.base}/{local.name}/:train?api-version={API_VERSION}")
        return 0
    problems = problems_by_document(job, local.project)
    print(f"Import of {local.name!r} {job['status']}: {len(problems)} problem(s)", file=sys.stderr)
    for line in problems:
        print(f"  {line}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    values, _ = read_local_settings(ROOT)
    args = build_parser(values).parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        return _run(args)
    except LoadError as exc:
        print(f"samples.load: {exc}", file=sys.stderr)
        for line in exc.problems:
            print(f"  {line}", file=sys.stderr)
        return 2
    except requests.ConnectionError:
        print(f"samples.load: the service at {args.endpoint} is not reachable: start it with scripts/run", file=sys.stderr)
        return 2
    except ServiceRequestError:
        print("samples.load: the storage account is not reachable: is Azurite running (scripts/run)?", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
