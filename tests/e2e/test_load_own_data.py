"""``python -m samples.load FOLDER --project-file labels.json``: a user's own folder of documents and
labels file, uploaded to Azurite and imported through the local host's API, as a new user would run it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from devhost.azurite import Azurite
from samples import load
from samples.generate import write_sample
from tests.e2e.conftest import KEY, Api, HostNames, HostProcess

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture(scope="module")
def host(host_factory: Callable[..., HostProcess]) -> HostProcess:
    return host_factory(HostNames())


def _own_folder(tmp_path: Path, documents: int = 12) -> tuple[Path, Path]:
    """A folder the way Azure's samples ship: the ``.txt`` documents, and ``labels.json`` elsewhere."""
    folder = tmp_path / "mydata"
    project_path = write_sample(folder, documents=documents, project_name="ignored", container="ignored")
    project = json.loads(project_path.read_text())
    # No container given: the loader derives it from the project name.
    del project["metadata"]["storageInputContainerName"]
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps(project))
    project_path.unlink()
    return folder, labels


def _args(host: HostProcess, azurite: Azurite, folder: Path, labels: Path, project: str) -> list[str]:
    return [
        str(folder), "--project-file", str(labels), "--project", project,
        "--endpoint", host.endpoint, "--key", KEY, "--connection", azurite.connection_string,
    ]  # fmt: skip


def test_own_folder_is_uploaded_with_relative_paths_and_imported(
    host: HostProcess, azurite: Azurite, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, labels = _own_folder(tmp_path)
    project = f"{HostNames().tag}-Mine_1"
    assert load.main(_args(host, azurite, folder, labels, project)) == 0

    out = capsys.readouterr().out
    container = load.container_name_for(project)
    assert f"12 documents -> container '{container}'" in out
    assert f"Project '{project}' imported with 12 documents." in out
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string).get_container_client(container)
    names = sorted(blob.name for blob in blobs.list_blobs())
    assert names == sorted(path.name for path in folder.glob("*.txt"))
    api = Api(host.endpoint)
    body = api.get(project).json()
    assert body["storageInputContainerName"] == container
    exported = api.post(f"{project}/:export", params={"stringIndexType": "Utf16CodeUnit"})
    assert exported.status_code == 202, exported.text
    result = api.get(api.wait_job(exported.headers["operation-location"])["resultUrl"]).json()
    assert len(result["assets"]["documents"]) == 12

    # Run again with --if-missing: nothing is re-imported.
    assert load.main([*_args(host, azurite, folder, labels, project), "--if-missing"]) == 0
    assert "already exists" in capsys.readouterr().out


def test_problems_are_printed_by_document(
    host: HostProcess, azurite: Azurite, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, labels = _own_folder(tmp_path)
    project_file = json.loads(labels.read_text())
    bad = project_file["assets"]["documents"][3]
    # Longer than Azure's 128,000 characters: only the import job (which reads the blobs) can tell.
    (folder / bad["location"]).write_text("word " * 26_000)

    assert load.main(_args(host, azurite, folder, labels, f"{HostNames().tag}-bad")) == 1
    err = capsys.readouterr().err
    assert "Import of" in err and "failed" in err
    assert bad["location"] in err


def test_missing_documents_are_named_before_anything_is_uploaded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, labels = _own_folder(tmp_path)
    (folder / "po_004.txt").unlink()
    # No service and no storage are reachable here: the check happens first.
    code = load.main([str(folder), "--project-file", str(labels), "--endpoint", "http://127.0.0.1:9",
                      "--connection", "UseDevelopmentStorage=true"])  # fmt: skip
    assert code == 2
    assert "po_004.txt" in capsys.readouterr().err


def test_documents_in_sub_folders_are_uploaded_as_named_and_refused_by_document(
    host: HostProcess, azurite: Azurite, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, labels = _own_folder(tmp_path)
    project_file = json.loads(labels.read_text())
    (folder / "docs").mkdir()
    for document in project_file["assets"]["documents"][:2]:
        (folder / document["location"]).rename(folder / "docs" / document["location"])
        document["location"] = f"docs/{document['location']}"
    labels.write_text(json.dumps(project_file))

    assert load.main(_args(host, azurite, folder, labels, f"{HostNames().tag}-sub")) == 2
    err = capsys.readouterr().err
    for document in project_file["assets"]["documents"][:2]:
        assert f"  {document['location']}: " in err, err
