"""TrainingJobStore and OperationJobStore against Azurite."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from shared.config import Settings
from shared.errors import Conflict, OperationNotFound, StorageError
from shared.jobs.status import TERMINAL
from shared.models import (
    EvaluationOptions,
    JobStatus,
    OperationJobRecord,
    SubJobState,
    TrainingJobRecord,
    utc_now,
)
from shared.storage._entities import ITEMS_BUDGET_CHARS
from shared.storage.operation_jobs import OperationJobStore
from shared.storage.training_jobs import TrainingJobStore

pytestmark = pytest.mark.integration


def make_job(
    project: str = "proj",
    job_id: str = "job-1",
    *,
    status: str = JobStatus.NOT_STARTED,
    created: datetime | None = None,
    expires_in: timedelta = timedelta(days=7),
) -> TrainingJobRecord:
    created = created or utc_now()
    return TrainingJobRecord(
        project_name=project,
        job_id=job_id,
        model_label="model-1",
        training_config_version="2022-05-01",
        evaluation_options=EvaluationOptions(),
        status=status,
        created=created,
        last_updated=created,
        expiration=created + expires_in,
    )


def test_minimal_training_job_round_trips(settings: Settings) -> None:
    store = TrainingJobStore(settings)
    original = make_job()
    created = store.create(original)
    assert created.etag
    read = store.get("proj", "job-1")
    assert read == original  # etag included: create set it, get read the same one
    assert read.estimated_end is None and read.heartbeat is None and read.warnings == []


def test_full_training_job_round_trips(settings: Settings) -> None:
    store = TrainingJobStore(settings)
    start = datetime(2024, 5, 1, 12, 0, 0, 654321, tzinfo=UTC)
    original = make_job(created=start, status=JobStatus.RUNNING)
    original.evaluation_options = EvaluationOptions(kind="manual")
    original.training_status = SubJobState(JobStatus.RUNNING, 40, start, None)
    original.evaluation_status = SubJobState(JobStatus.NOT_STARTED, 0, None, None)
    original.estimated_end = start + timedelta(minutes=5)
    original.warnings = [
        {"code": "Warning", "message": "Entity 'Date' has 3 training examples", "target": "Date"}
    ]
    original.errors = [{"code": "InvalidDocument", "message": "caf\u00e9 \U0001f600", "details": []}]
    original.phase = "training"
    original.heartbeat = start + timedelta(seconds=30)
    original.seed = 2**40 + 7  # does not fit an Int32 property
    original.expiration = datetime(2124, 1, 1, tzinfo=UTC)
    store.create(original)
    read = store.get("proj", "job-1")
    assert read == original
    assert (
        read.training_status.start == start
        and read.heartbeat is not None
        and read.heartbeat.tzinfo is not None
    )


def test_duplicate_create_is_conflict(settings: Settings) -> None:
    store = TrainingJobStore(settings)
    store.create(make_job())
    with pytest.raises(Conflict):
        store.create(make_job())


def test_unknown_and_expired_jobs_are_not_found(settings: Settings) -> None:
    store = TrainingJobStore(settings)
    with pytest.raises(OperationNotFound) as caught:
        store.get("proj", "missing")
    assert "missing" in caught.value.message and "proj" in caught.value.message
    store.create(make_job(job_id="old", created=utc_now() - timedelta(days=8)))
    with pytest.raises(OperationNotFound) as caught:
        store.get("proj", "old")
    assert "old" in caught.value.message and "expired" in caught.value.message
    assert store.read("proj", "old") is not None  # the row is still there until the purge


def test_list_is_newest_first_without_expired_or_other_projects(settings: Settings) -> None:
    store = TrainingJobStore(settings)
    now = utc_now()
    store.create(make_job(job_id="a", created=now - timedelta(hours=3)))
    store.create(make_job(job_id="c", created=now - timedelta(hours=1)))
    store.create(make_job(job_id="b", created=now - timedelta(hours=2)))
    store.create(make_job(job_id="expired", created=now - timedelta(days=9)))
    store.create(make_job(project="other", job_id="z", created=now))
    assert [job.job_id for job in store.list("proj")] == ["c", "b", "a"]
    assert store.list("nobody") == []


def test_modify_writes_change_and_new_etag(settings: Settings) -> None:
    store = TrainingJobStore(settings)
    first = store.create(make_job())

    def start(job: TrainingJobRecord) -> None:
        job.status = JobStatus.RUNNING
        job.phase = "training"

    updated = store.modify("proj", "job-1", start)
    assert updated.etag != first.etag
    assert store.get("proj", "job-1").status == JobStatus.RUNNING
    with pytest.raises(OperationNotFound):
        store.modify("proj", "nope", start)


def test_modify_change_that_raises_writes_nothing(settings: Settings) -> None:
    store = TrainingJobStore(settings)
    store.create(make_job(status=JobStatus.SUCCEEDED))

    def cancel(job: TrainingJobRecord) -> None:
        if job.status in TERMINAL:
            raise Conflict(message=f"job {job.job_id} already finished")
        job.status = JobStatus.CANCELLING

    with pytest.raises(Conflict):
        store.modify("proj", "job-1", cancel)
    assert store.get("proj", "job-1").status == JobStatus.SUCCEEDED


def test_modify_reapplies_change_after_losing_a_race(settings: Settings) -> None:
    store = TrainingJobStore(settings)
    store.create(make_job())
    calls = 0

    def add_warning(job: TrainingJobRecord) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            # Another writer changes the row between our read and our write.
            store.modify(
                "proj", "job-1", lambda other: other.warnings.append({"code": "Warning", "message": "w1"})
            )
        job.warnings.append({"code": "Warning", "message": "w2"})

    result = store.modify("proj", "job-1", add_warning)
    assert calls == 2
    assert [w["message"] for w in result.warnings] == ["w1", "w2"]
    assert [w["message"] for w in store.get("proj", "job-1").warnings] == ["w1", "w2"]


def test_concurrent_modifies_lose_no_update(settings: Settings) -> None:
    store = TrainingJobStore(settings)
    store.create(make_job())
    workers = 5
    barrier = threading.Barrier(workers)
    failures: list[BaseException] = []

    def bump(index: int) -> None:
        barrier.wait()
        try:
            store.modify(
                "proj", "job-1", lambda job: job.warnings.append({"code": "Warning", "message": str(index)})
            )
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=bump, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(w["message"] for w in store.get("proj", "job-1").warnings) == [
        str(i) for i in range(workers)
    ]


def test_huge_warning_list_is_capped_with_a_count(settings: Settings) -> None:
    store = TrainingJobStore(settings)
    job = make_job()
    job.warnings = [
        {"code": "Warning", "message": f"label {i} in document doc-{i}.txt is not aligned"}
        for i in range(5000)
    ]
    job.errors = [{"code": "InvalidDocument", "message": "x" * 100_000}]
    store.create(job)
    read = store.get("proj", "job-1")
    assert 1 < len(read.warnings) < 5000
    kept = len(read.warnings) - 1
    assert read.warnings[:kept] == job.warnings[:kept]
    assert read.warnings[-1]["message"].startswith(f"{5000 - kept} more warnings were omitted")
    assert len(json.dumps(read.warnings, separators=(",", ":"))) <= ITEMS_BUDGET_CHARS + 200
    assert read.errors[0]["message"].endswith("(shortened)")
    assert len(read.errors[0]["message"]) < 100_000


def test_list_expired_and_list_stale_scan_all_projects(settings: Settings) -> None:
    store = TrainingJobStore(settings)
    now = utc_now()
    store.create(make_job("p1", "expired-1", created=now - timedelta(days=8)))
    store.create(make_job("p2", "expired-2", created=now - timedelta(days=10), status=JobStatus.SUCCEEDED))
    store.create(make_job("p1", "fresh", created=now))
    assert sorted(job.job_id for job in store.list_expired(now)) == ["expired-1", "expired-2"]

    cutoff = now - timedelta(minutes=15)
    old = now - timedelta(hours=1)
    store.create(make_job("p3", "stale-running", created=old, status=JobStatus.RUNNING))
    store.create(make_job("p4", "stale-cancelling", created=old, status=JobStatus.CANCELLING))
    store.create(make_job("p3", "old-but-done", created=old, status=JobStatus.FAILED))
    beating = make_job("p3", "heartbeat-recent", created=old, status=JobStatus.RUNNING)
    beating.heartbeat = now - timedelta(minutes=1)
    store.create(beating)
    store.create(make_job("p4", "recent", created=now - timedelta(minutes=1), status=JobStatus.RUNNING))
    # expired-1 is notStarted and last updated 8 days ago: stale as well.
    assert sorted(job.job_id for job in store.list_stale(cutoff)) == [
        "expired-1",
        "stale-cancelling",
        "stale-running",
    ]


def test_delete_and_delete_project_jobs(settings: Settings) -> None:
    store = TrainingJobStore(settings)
    for i in range(3):
        store.create(make_job("gone", f"j{i}"))
    store.create(make_job("stays", "j0"))
    store.delete("gone", "j0")
    store.delete("gone", "j0")  # idempotent
    assert store.delete_project_jobs("gone") == 2
    assert store.list("gone") == []
    assert [job.job_id for job in store.list("stays")] == ["j0"]


def make_operation(
    kind: str = "export", job_id: str = "op-1", *, expires_in: timedelta = timedelta(days=7)
) -> OperationJobRecord:
    now = utc_now()
    return OperationJobRecord(
        kind=kind,
        project_name="proj",
        job_id=job_id,
        status=JobStatus.NOT_STARTED,
        created=now,
        last_updated=now,
        expiration=now + expires_in,
    )


def test_operation_job_round_trip_modify_and_kinds_are_separate(settings: Settings) -> None:
    store = OperationJobStore(settings)
    original = make_operation()
    original.result_url = (
        "http://localhost:7071/language/authoring/analyze-text/projects/proj/export/jobs/op-1/result"
    )
    original.warnings = [{"code": "Warning", "message": "w"}]
    store.create(original)
    load = make_operation("load-snapshot")
    load.model_label = "model-1"
    store.create(load)
    assert store.get("export", "proj", "op-1") == original
    assert store.get("load-snapshot", "proj", "op-1") == load
    with pytest.raises(OperationNotFound) as caught:
        store.get("import", "proj", "op-1")
    assert "op-1" in caught.value.message and "import" in caught.value.message
    with pytest.raises(Conflict):
        store.create(make_operation())

    def succeed(job: OperationJobRecord) -> None:
        job.status = JobStatus.SUCCEEDED

    assert store.modify("export", "proj", "op-1", succeed).status == JobStatus.SUCCEEDED
    assert store.get("export", "proj", "op-1").status == JobStatus.SUCCEEDED
    store.delete("export", "proj", "op-1")
    with pytest.raises(OperationNotFound):
        store.get("export", "proj", "op-1")


def test_operation_job_expiry(settings: Settings) -> None:
    store = OperationJobStore(settings)
    store.create(make_operation("import", "old", expires_in=timedelta(seconds=-5)))
    store.create(make_operation("deletion", "new"))
    with pytest.raises(OperationNotFound):
        store.get("import", "proj", "old")
    assert [job.job_id for job in store.list_expired(utc_now())] == ["old"]


def test_unreachable_table_storage_is_a_storage_error(unreachable_settings: Settings) -> None:
    with pytest.raises(StorageError) as caught:
        TrainingJobStore(unreachable_settings).get("proj", "job-1")
    message = caught.value.message
    assert "unreachable" in message and unreachable_settings.jobs_table not in message
    assert caught.value.status == 503
