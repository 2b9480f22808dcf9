"""ProjectStore against Azurite: round trips, paging, not-found, and the atomic training slot."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from shared.config import Settings
from shared.errors import Conflict, InvalidArgument, ProjectNotFound
from shared.jobs.apply import claim_training_slot
from shared.jobs.lifecycle import MISSING_JOB_GRACE
from shared.models import EvaluationOptions, JobStatus, ProjectRecord, TrainingJobRecord, utc_now
from shared.storage.projects import ProjectStore
from shared.storage.training_jobs import TrainingJobStore

pytestmark = pytest.mark.integration


def make_project(name: str, **changes: object) -> ProjectRecord:
    record = ProjectRecord(
        project_name=name,
        storage_input_container_name="docs",
        language="en-us",
        created=datetime(2024, 5, 1, 10, 30, 15, 123456, tzinfo=UTC),
        last_modified=datetime(2024, 5, 2, 8, 0, 0, tzinfo=UTC),
    )
    for key, value in changes.items():
        setattr(record, key, value)
    return record


def make_job(
    project: str, job_id: str, status: str, *, expires_in: timedelta = timedelta(days=7)
) -> TrainingJobRecord:
    now = utc_now()
    return TrainingJobRecord(
        project_name=project,
        job_id=job_id,
        model_label="m1",
        training_config_version="2022-05-01",
        evaluation_options=EvaluationOptions(),
        status=status,
        created=now,
        last_updated=now,
        expiration=now + expires_in,
    )


def test_round_trip_with_optional_fields_empty(settings: Settings) -> None:
    store = ProjectStore(settings)
    written = store.upsert(make_project("alpha"))
    assert written.etag
    read = store.get("alpha")
    assert read == make_project("alpha", etag=read.etag)
    assert read.description is None and read.last_trained is None and read.assets_blob is None
    assert read.created.tzinfo is not None and read.created.microsecond == 123456


def test_round_trip_with_every_field_set(settings: Settings) -> None:
    store = ProjectStore(settings)
    original = make_project(
        "beta",
        multilingual=True,
        description="Loan agreements \u00e9\U0001f600",
        settings={"confidenceThreshold": 0.5, "nested": {"a": [1, 2]}},
        last_trained=datetime(2024, 6, 1, tzinfo=UTC),
        last_deployed=datetime(2024, 6, 2, tzinfo=UTC),
        assets_blob="projects/beta/assets.json",
    )
    store.upsert(original)
    read = store.get("beta")
    original.etag = read.etag
    assert read == original


def test_upsert_replaces_and_changes_etag(settings: Settings) -> None:
    store = ProjectStore(settings)
    first = store.upsert(make_project("gamma", description="one"))
    second = store.upsert(make_project("gamma"))
    assert second.etag != first.etag
    # REPLACE semantics: a field set to None is gone, not kept from the old row.
    assert store.get("gamma").description is None


def test_get_unknown_project_names_it(settings: Settings) -> None:
    with pytest.raises(ProjectNotFound) as caught:
        ProjectStore(settings).get("nope")
    assert "The specified project was not found" in caught.value.message
    assert "nope" in caught.value.message
    assert caught.value.details[0].message == "nope"


def test_list_pages_in_name_order(settings: Settings) -> None:
    store = ProjectStore(settings)
    for name in ["p3", "p1", "p4", "p2", "p5"]:
        store.upsert(make_project(name))
    assert [p.project_name for p in store.list()] == ["p1", "p2", "p3", "p4", "p5"]
    assert [p.project_name for p in store.list(top=2)] == ["p1", "p2"]
    assert [p.project_name for p in store.list(top=2, skip=2)] == ["p3", "p4"]
    assert [p.project_name for p in store.list(skip=4)] == ["p5"]
    assert store.list(skip=10) == []
    assert store.list(top=0) == []


def test_delete_is_idempotent(settings: Settings) -> None:
    store = ProjectStore(settings)
    store.upsert(make_project("gone"))
    store.delete("gone")
    store.delete("gone")
    assert not store.exists("gone")


def test_bad_key_characters_are_rejected_with_the_field_named(settings: Settings) -> None:
    with pytest.raises(InvalidArgument) as caught:
        ProjectStore(settings).upsert(make_project("a/b"))
    assert caught.value.target == "projectName"


def test_too_long_description_is_invalid_argument(settings: Settings) -> None:
    with pytest.raises(InvalidArgument) as caught:
        ProjectStore(settings).upsert(make_project("long", description="x" * 40_000))
    assert caught.value.target == "description"


def test_modify_applies_change_and_keeps_slot(settings: Settings) -> None:
    store = ProjectStore(settings)
    store.upsert(make_project("mod"))
    claim_training_slot(settings, "mod", "job-1")

    def change(record: ProjectRecord) -> None:
        record.description = "changed"
        record.running_job_id = None  # ignored: only the slot methods touch it

    updated = store.modify("mod", change)
    assert updated.description == "changed"
    assert store.get("mod").running_job_id == "job-1"
    with pytest.raises(ProjectNotFound):
        store.modify("missing", change)


def test_upsert_never_frees_a_held_slot(settings: Settings) -> None:
    store = ProjectStore(settings)
    store.upsert(make_project("keep"))
    claim_training_slot(settings, "keep", "job-1")
    # e.g. an import that builds a fresh record for an existing project
    result = store.upsert(make_project("keep", description="re-imported"))
    assert result.running_job_id == "job-1"
    assert store.get("keep").running_job_id == "job-1"
    assert store.get("keep").description == "re-imported"


def test_claim_conflicts_while_holder_is_active_and_release_frees(settings: Settings) -> None:
    projects, jobs = ProjectStore(settings), TrainingJobStore(settings)
    projects.upsert(make_project("slot"))
    jobs.create(make_job("slot", "job-1", JobStatus.RUNNING))
    claim_training_slot(settings, "slot", "job-1")
    claim_training_slot(settings, "slot", "job-1")  # a retry by the holder succeeds
    with pytest.raises(Conflict) as caught:
        claim_training_slot(settings, "slot", "job-2")
    assert "job-1" in caught.value.message and "slot" in caught.value.message
    projects.release_training_slot("slot", "job-2")  # not the holder: no effect
    assert projects.get("slot").running_job_id == "job-1"
    projects.release_training_slot("slot", "job-1")
    assert projects.get("slot").running_job_id is None
    claim_training_slot(settings, "slot", "job-2")
    assert projects.get("slot").running_job_id == "job-2"


def test_claim_on_missing_project(settings: Settings) -> None:
    with pytest.raises(ProjectNotFound):
        claim_training_slot(settings, "ghost", "job-1")
    ProjectStore(settings).release_training_slot("ghost", "job-1")  # nothing to release: no error


@pytest.mark.parametrize(
    ("status", "expires_in"),
    [
        (JobStatus.SUCCEEDED, timedelta(days=7)),
        (JobStatus.FAILED, timedelta(days=7)),
        (JobStatus.RUNNING, timedelta(seconds=-1)),
    ],
    ids=["succeeded", "failed", "expired"],
)
def test_stale_slot_of_finished_or_expired_job_is_taken_over(
    settings: Settings, status: str, expires_in: timedelta
) -> None:
    projects, jobs = ProjectStore(settings), TrainingJobStore(settings)
    projects.upsert(make_project("heal"))
    jobs.create(make_job("heal", "old", JobStatus.RUNNING, expires_in=expires_in))
    claim_training_slot(settings, "heal", "old")
    jobs.modify("heal", "old", lambda job: setattr(job, "status", status))
    claim_training_slot(settings, "heal", "new")
    assert projects.get("heal").running_job_id == "new"


def test_slot_of_missing_job_is_kept_for_a_grace_period_then_taken_over(settings: Settings) -> None:
    projects = ProjectStore(settings)
    projects.upsert(make_project("grace"))
    start = utc_now()
    claim_training_slot(settings, "grace", "unwritten", now=start)
    # The claimer has not written its job row yet: another claim must not steal the slot.
    with pytest.raises(Conflict):
        claim_training_slot(settings, "grace", "other", now=start + timedelta(seconds=5))
    # Long after, the job row never appeared: the claimer crashed, the slot heals.
    claim_training_slot(settings, "grace", "other", now=start + MISSING_JOB_GRACE + timedelta(seconds=1))
    assert projects.get("grace").running_job_id == "other"


def test_simultaneous_claims_have_exactly_one_winner(settings: Settings) -> None:
    projects = ProjectStore(settings)
    projects.upsert(make_project("race"))
    contenders = 8
    barrier = threading.Barrier(contenders)
    winners: list[str] = []
    conflicts: list[str] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()

    def claim(job_id: str) -> None:
        barrier.wait()
        try:
            claim_training_slot(settings, "race", job_id)
        except Conflict:
            with lock:
                conflicts.append(job_id)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            with lock:
                unexpected.append(exc)
        else:
            with lock:
                winners.append(job_id)

    threads = [threading.Thread(target=claim, args=(f"job-{i}",)) for i in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert unexpected == []
    assert len(winners) == 1, winners
    assert len(conflicts) == contenders - 1
    assert projects.get("race").running_job_id == winners[0]
