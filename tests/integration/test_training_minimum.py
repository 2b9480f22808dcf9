"""The 10-document minimum is checked by ``:train`` (issue 10 #7), from the counts recorded at import or,
for a project imported before they were recorded, from its assets. Nothing is claimed or written."""

from __future__ import annotations

import pytest

from shared.config import Settings, get_settings
from shared.errors import InvalidArgument
from shared.models import ProjectRecord, utc_now
from shared.ner.project_file import parse_project_file
from shared.operations.imports import store_assets
from shared.storage.blobs import BlobStore
from shared.storage.projects import ProjectStore
from shared.storage.training_jobs import TrainingJobStore
from shared.training import requests
from tests.integration.test_training_pipeline import PROJECT, _documents, _project_file

pytestmark = pytest.mark.integration

BODY = {"modelLabel": "m1", "trainingConfigVersion": "latest"}


@pytest.fixture
def settings(app_settings_env: dict[str, str]) -> Settings:
    return get_settings()


def _refused(settings: Settings, count: int) -> None:
    with pytest.raises(InvalidArgument) as error:
        requests.create_training_job(settings, PROJECT, BODY)
    assert error.value.target == "assets.documents"
    assert f"has {count} labelled documents" in error.value.message and "at least 10" in error.value.message
    assert ProjectStore(settings).get(PROJECT).running_job_id is None
    assert TrainingJobStore(settings).list(PROJECT) == []


def test_train_refuses_a_project_imported_with_fewer_than_ten_documents(settings: Settings) -> None:
    project_file = parse_project_file(_project_file("input", _documents()[:2]))
    ProjectStore(settings).upsert(
        ProjectRecord(PROJECT, "input", "en-us", created=utc_now(), last_modified=utc_now())
    )
    store_assets(settings, PROJECT, project_file)
    assert ProjectStore(settings).get(PROJECT).document_count == 2
    _refused(settings, 2)


def test_a_project_without_recorded_counts_has_its_assets_counted(settings: Settings) -> None:
    blob = f"projects/{PROJECT}/assets.json"
    BlobStore(settings).put_json(blob, _project_file("input", _documents()[:9]))
    now = utc_now()
    ProjectStore(settings).upsert(
        ProjectRecord(PROJECT, "input", "en-us", created=now, last_modified=now, assets_blob=blob)
    )
    _refused(settings, 9)
