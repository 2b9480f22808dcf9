"""Housekeeping on Azurite: expired jobs are forgotten, stale jobs failed, orphaned scratch deleted."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from shared.config import Settings, get_settings
from shared.errors import OperationNotFound
from shared.jobs import housekeeping
from shared.jobs.apply import claim_training_slot
from shared.jobs.kinds import OPERATION_KINDS, kind_named
from shared.jobs.workspace import scratch_prefix
from shared.models import (
    EvaluationOptions,
    JobStatus,
    OperationJobRecord,
    ProjectRecord,
    TrainingJobRecord,
    utc_now,
)
from shared.storage.blobs import BlobStore
from shared.storage.operation_jobs import OperationJobStore
from shared.storage.projects import ProjectStore
from shared.storage.training_jobs import TrainingJobStore

pytestmark = pytest.mark.integration

PROJECT = "hk"


@pytest.fixture
def settings(app_settings_env: dict[str, str]) -> Settings:
    settings = get_settings()
    now = utc_now()
    ProjectStore(settings).upsert(
        ProjectRecord(
            PROJECT, "input", "en-us", created=now, last_modified=now, assets_blob="projects/hk/a.json"
        )
    )
    return settings


def _job(
    settings: Settings, job_id: str, *, age: timedelta, status: str = JobStatus.RUNNING
) -> TrainingJobRecord:
    created = utc_now() - age
    record = TrainingJobRecord(
        project_name=PROJECT,
        job_id=job_id,
        model_label="m1",
        training_config_version="2022-05-01",
        evaluation_options=EvaluationOptions(),
        status=status,
        created=created,
        last_updated=created,
        expiration=created + timedelta(days=settings.job_ttl_days),
        heartbeat=created,
    )
    TrainingJobStore(settings).create(record)
    return record


def test_expired_job_is_found_then_forgotten_with_its_scratch_and_slot(settings: Settings) -> None:
    old = _job(settings, "old-job", age=timedelta(days=8))
    _job(settings, "new-job", age=timedelta(minutes=1), status=JobStatus.SUCCEEDED)
    claim_training_slot(settings, PROJECT, old.job_id)
    BlobStore(settings).put_json(scratch_prefix(PROJECT, old.job_id) + "manifest.json", {})

    expired = housekeeping.find_expired_jobs(settings)
    assert [key.instance_id for key in expired] == ["old-job"]
    housekeeping.forget_job(settings, expired[0])

    with pytest.raises(OperationNotFound):
        TrainingJobStore(settings).get(PROJECT, "old-job")
    assert BlobStore(settings).list_names(scratch_prefix(PROJECT, "old-job")) == []
    assert ProjectStore(settings).get(PROJECT).running_job_id is None
    assert TrainingJobStore(settings).get(PROJECT, "new-job").status == JobStatus.SUCCEEDED


def test_watchdog_fails_jobs_whose_heartbeat_stopped(settings: Settings) -> None:
    stale = _job(settings, "stale-job", age=timedelta(hours=2))
    _job(settings, "fresh-job", age=timedelta(seconds=5))
    claim_training_slot(settings, PROJECT, stale.job_id)

    stopped = housekeeping.fail_stale_jobs(settings)

    assert [key.job_id for key in stopped] == ["stale-job"]
    failed = TrainingJobStore(settings).get(PROJECT, "stale-job")
    assert failed.status == JobStatus.FAILED
    assert "stopped responding" in failed.errors[0]["message"]
    assert ProjectStore(settings).get(PROJECT).running_job_id is None
    assert TrainingJobStore(settings).get(PROJECT, "fresh-job").status == JobStatus.RUNNING


def test_orphaned_scratch_is_deleted_but_active_jobs_keep_theirs(settings: Settings) -> None:
    _job(settings, "live-job", age=timedelta(seconds=5))
    blobs = BlobStore(settings)
    blobs.put_bytes(scratch_prefix(PROJECT, "live-job") + "checkpoint.bin", b"x")
    blobs.put_bytes(scratch_prefix(PROJECT, "gone-job") + "checkpoint.bin", b"x")
    blobs.put_bytes(scratch_prefix(PROJECT, "gone-job") + "shards/train-0000.spacy", b"x")

    deleted = housekeeping.purge_orphan_scratch(settings)

    assert deleted == 2
    assert blobs.list_names("jobs/") == [scratch_prefix(PROJECT, "live-job") + "checkpoint.bin"]


@pytest.mark.parametrize("kind", sorted(OPERATION_KINDS))
@pytest.mark.parametrize("status", [JobStatus.NOT_STARTED, JobStatus.RUNNING, JobStatus.CANCELLING])
def test_watchdog_fails_silent_operation_jobs_of_every_kind(settings: Settings, kind: str, status: str) -> None:
    # Issue 10: four import jobs whose orchestration never started stayed notStarted forever.
    store = OperationJobStore(settings)
    job_kind = kind_named(kind)
    quiet = utc_now() - timedelta(seconds=settings.heartbeat_timeout_seconds + 60)
    stale = OperationJobRecord(
        kind=kind, project_name=job_kind.scope(PROJECT), job_id=f"stale-{kind}-{status}", status=status,
        created=quiet, last_updated=quiet, expiration=quiet + timedelta(days=7),
    )
    fresh = replace(stale, job_id=f"fresh-{kind}-{status}", last_updated=utc_now())
    store.create(stale)
    store.create(fresh)

    stopped = housekeeping.fail_stale_jobs(settings)

    assert stale.job_id in [key.job_id for key in stopped]
    assert fresh.job_id not in [key.job_id for key in stopped]
    failed = store.get(kind, job_kind.scope(PROJECT), stale.job_id)
    if status == JobStatus.CANCELLING:  # a cancel always wins
        assert failed.status == JobStatus.CANCELLED
    else:
        assert failed.status == JobStatus.FAILED
        assert "stopped responding" in failed.errors[0]["message"] and kind in failed.errors[0]["message"]
    assert store.get(kind, job_kind.scope(PROJECT), fresh.job_id).status == status
