"""The job lifecycle without storage: every transition, the illegal ones, reconciliation and staleness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.errors import Conflict, ErrorDetail
from shared.jobs import lifecycle
from shared.jobs.lifecycle import IllegalTransition, JobNotActive, Reconciliation
from shared.jobs.status import ACTIVE, ALLOWED, TERMINAL, JobStatus, can_change
from shared.models import EvaluationOptions, OperationJobRecord, SubJobState, TrainingJobRecord

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ERROR = {"code": "InvalidArgument", "message": "Document 'a.txt' is empty.", "target": "a.txt"}


def job(status: JobStatus = JobStatus.NOT_STARTED, **changes: Any) -> TrainingJobRecord:
    values: dict[str, Any] = {
        "project_name": "p",
        "job_id": "j",
        "model_label": "m",
        "training_config_version": "v",
        "evaluation_options": EvaluationOptions(),
        "status": status,
        "created": NOW - timedelta(minutes=10),
        "last_updated": NOW - timedelta(minutes=10),
        "expiration": NOW + timedelta(days=7),
        "heartbeat": NOW - timedelta(minutes=10),
    }
    return TrainingJobRecord(**{**values, **changes})


def running() -> TrainingJobRecord:
    record = job()
    lifecycle.start_phase(record, "splitting", NOW)
    return record


def operation(status: JobStatus = JobStatus.NOT_STARTED) -> OperationJobRecord:
    return OperationJobRecord("import", "p", "j", status, NOW, NOW, NOW + timedelta(days=1))


# ------------------------------------------------------------------------------------- the table


@pytest.mark.parametrize("current", list(JobStatus))
@pytest.mark.parametrize("new", list(JobStatus))
def test_the_table_allows_exactly_its_changes(current: JobStatus, new: JobStatus) -> None:
    expected = new in ALLOWED[current] or (current == new and current not in TERMINAL)
    assert can_change(current, new) is expected


def test_terminal_statuses_are_final_and_cancelling_only_ends_cancelled() -> None:
    assert all(ALLOWED[status] == frozenset() for status in TERMINAL)
    assert ALLOWED[JobStatus.CANCELLING] == {JobStatus.CANCELLED}
    assert TERMINAL | ACTIVE == set(JobStatus) and not TERMINAL & ACTIVE


def test_statuses_keep_azure_wire_values() -> None:
    assert [str(status) for status in JobStatus] == [
        "notStarted", "running", "succeeded", "failed", "cancelled", "cancelling"
    ]


# --------------------------------------------------------------------------- training transitions


def test_first_phase_moves_the_job_to_running_and_opens_training() -> None:
    record = running()

    assert record.status == JobStatus.RUNNING
    assert record.phase == "splitting" and record.heartbeat == NOW
    assert record.training_status == SubJobState(JobStatus.RUNNING, 0, NOW)


@pytest.mark.parametrize("status", [JobStatus.CANCELLING, *sorted(TERMINAL)])
def test_no_step_may_change_a_job_that_is_cancelling_or_over(status: JobStatus) -> None:
    record = job(status)
    for transition in (
        lambda: lifecycle.start_phase(record, "training", NOW),
        lambda: lifecycle.record_progress(record, NOW, step=1, max_steps=10, finished=False, seconds_per_step=1.0),
        lambda: lifecycle.start_evaluation(record, NOW),
    ):
        with pytest.raises(JobNotActive):
            transition()
    assert record.status == status


def test_progress_sets_percent_and_estimated_end() -> None:
    record = running()
    lifecycle.record_progress(record, NOW, step=25, max_steps=100, finished=False, seconds_per_step=2.0)

    assert record.training_status.percent_complete == 25
    assert record.estimated_end == NOW + timedelta(seconds=150)


def test_evaluation_closes_training_and_success_completes_both() -> None:
    record = running()
    lifecycle.start_evaluation(record, NOW)
    assert record.training_status.status == JobStatus.SUCCEEDED
    assert record.evaluation_status.status == JobStatus.RUNNING

    lifecycle.succeed(record, NOW)
    lifecycle.succeed(record, NOW)  # a retried registration is harmless

    assert record.status == JobStatus.SUCCEEDED and record.phase == "done"
    assert record.evaluation_status.percent_complete == 100


def test_success_after_a_cancel_is_refused() -> None:
    record = running()
    lifecycle.request_cancel(record)

    with pytest.raises(JobNotActive):
        lifecycle.succeed(record, NOW)


def test_cancel_is_idempotent_and_refused_once_the_job_is_over() -> None:
    record = running()
    lifecycle.request_cancel(record)
    lifecycle.request_cancel(record)
    assert record.status == JobStatus.CANCELLING

    for status in TERMINAL:
        with pytest.raises(Conflict):
            lifecycle.request_cancel(job(status))


def test_completed_cancel_closes_open_sub_statuses() -> None:
    record = running()
    lifecycle.request_cancel(record)
    lifecycle.complete_cancel(record, NOW)

    assert record.status == JobStatus.CANCELLED
    assert record.training_status.status == JobStatus.CANCELLED and record.training_status.end == NOW
    assert record.evaluation_status.status == JobStatus.CANCELLED and record.evaluation_status.end is None


def test_failure_records_errors_and_phase() -> None:
    record = running()
    lifecycle.fail(record, [ERROR], NOW, phase="converting")

    assert record.status == JobStatus.FAILED and record.phase == "converting"
    assert record.errors == [ERROR]
    assert record.training_status.status == JobStatus.FAILED


def test_failure_of_a_cancelling_job_ends_it_cancelled() -> None:
    record = running()
    lifecycle.request_cancel(record)
    lifecycle.fail(record, [ERROR], NOW)

    assert record.status == JobStatus.CANCELLED and record.errors == []


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_ending_a_finished_job_changes_nothing(status: JobStatus) -> None:
    record = job(status)
    lifecycle.fail(record, [ERROR], NOW)
    lifecycle.complete_cancel(record, NOW)

    assert record.status == status and record.errors == []


def test_illegal_status_change_is_refused() -> None:
    with pytest.raises(IllegalTransition):
        lifecycle.set_status(job(JobStatus.SUCCEEDED), JobStatus.RUNNING)
    with pytest.raises(IllegalTransition):
        lifecycle.set_status(job(JobStatus.CANCELLING), JobStatus.SUCCEEDED)


def test_warnings_beyond_the_limit_are_counted() -> None:
    record = running()
    warnings = [ErrorDetail("W", f"warning {n}") for n in range(lifecycle.MAX_STORED_WARNINGS + 3)]
    lifecycle.add_warnings(record, warnings, NOW)
    lifecycle.add_warnings(record, [ErrorDetail("W", "one more")], NOW)

    assert len(record.warnings) == lifecycle.MAX_STORED_WARNINGS + 1
    assert record.warnings[-1] == {"code": "MoreWarnings", "message": "4 more warnings were not stored."}


# ---------------------------------------------------------------- reconciliation and the watchdog


@pytest.mark.parametrize("runtime", ["Running", "Pending", "ContinuedAsNew"])
def test_live_orchestration_keeps_the_row(runtime: str) -> None:
    assert lifecycle.reconcile(running(), runtime, NOW) is Reconciliation.KEEP


@pytest.mark.parametrize("runtime", ["Failed", "Completed", None])
def test_lost_orchestration_fails_an_active_row(runtime: str | None) -> None:
    record = running()
    assert lifecycle.reconcile(record, runtime, NOW) is Reconciliation.FAIL
    assert (runtime or "missing") in lifecycle.runtime_lost_error(record, runtime)["message"]


def test_terminated_orchestration_or_pending_cancel_ends_cancelled() -> None:
    assert lifecycle.reconcile(running(), "Terminated", NOW) is Reconciliation.CANCEL
    cancelling = job(JobStatus.CANCELLING)
    assert lifecycle.reconcile(cancelling, "Failed", NOW) is Reconciliation.CANCEL


def test_young_not_started_job_without_instance_is_kept() -> None:
    young = job(created=NOW - timedelta(seconds=5))
    old = job(created=NOW - lifecycle.NOT_STARTED_GRACE - timedelta(seconds=1))

    assert lifecycle.reconcile(young, None, NOW) is Reconciliation.KEEP
    assert lifecycle.reconcile(old, None, NOW) is Reconciliation.FAIL


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_finished_rows_are_never_reconciled(status: JobStatus) -> None:
    assert lifecycle.reconcile(job(status), None, NOW) is Reconciliation.KEEP


def test_staleness_counts_the_later_of_heartbeat_and_row_change() -> None:
    cutoff = NOW - timedelta(minutes=5)
    quiet = job(JobStatus.RUNNING, last_updated=NOW - timedelta(minutes=9), heartbeat=NOW - timedelta(minutes=6))
    beating = job(JobStatus.RUNNING, last_updated=NOW - timedelta(minutes=9), heartbeat=NOW - timedelta(minutes=1))

    assert lifecycle.is_stale(quiet, cutoff)
    assert not lifecycle.is_stale(beating, cutoff)
    assert not lifecycle.is_stale(job(JobStatus.FAILED, last_updated=NOW - timedelta(days=1)), cutoff)
    assert "splitting" in lifecycle.stale_error(running(), 600)["message"]


def test_expiry() -> None:
    assert lifecycle.expiration(NOW, 7) == NOW + timedelta(days=7)
    assert lifecycle.is_expired(job(expiration=NOW - timedelta(seconds=1)), NOW)
    assert not lifecycle.is_expired(job(), NOW)


# ---------------------------------------------------------------------------------- operation jobs


def test_operation_runs_then_succeeds_with_its_result() -> None:
    record = operation()
    lifecycle.start_operation(record)
    lifecycle.start_operation(record)  # a retried activity starts again
    lifecycle.succeed_operation(record, result_url="https://x/result")

    assert record.status == JobStatus.SUCCEEDED and record.result_url == "https://x/result"


def test_operation_failure_is_recorded_once() -> None:
    record = operation(JobStatus.RUNNING)
    lifecycle.fail_operation(record, [ERROR])
    lifecycle.fail_operation(record, [{"code": "InternalServerError", "message": "later"}])

    assert record.status == JobStatus.FAILED and record.errors == [ERROR]


def test_finished_operation_cannot_run_again() -> None:
    with pytest.raises(IllegalTransition):
        lifecycle.start_operation(operation(JobStatus.SUCCEEDED))


# --------------------------------------------------------------------------------- the training slot


def test_active_unexpired_job_keeps_its_slot_and_finished_or_expired_lose_it() -> None:
    claimed = NOW - timedelta(hours=1)

    assert lifecycle.holds_slot(running(), claimed, NOW)
    assert lifecycle.holds_slot(job(JobStatus.CANCELLING), claimed, NOW)
    for status in TERMINAL:
        assert not lifecycle.holds_slot(job(status), claimed, NOW)
    assert not lifecycle.holds_slot(job(JobStatus.RUNNING, expiration=NOW - timedelta(seconds=1)), claimed, NOW)


def test_slot_of_a_job_without_row_is_kept_only_for_the_grace_period() -> None:
    assert lifecycle.holds_slot(None, NOW - timedelta(seconds=5), NOW)
    assert not lifecycle.holds_slot(None, NOW - lifecycle.MISSING_JOB_GRACE - timedelta(seconds=1), NOW)
    assert not lifecycle.holds_slot(None, None, NOW)
