"""When the status routes consult the Durable runtime (``shared.jobs.runtime.needs_runtime_check``)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from shared.config import Settings, load_settings
from shared.jobs.runtime import needs_runtime_check
from shared.jobs.status import TERMINAL
from shared.models import EvaluationOptions, JobStatus, TrainingJobRecord

NOW = datetime(2026, 11, 24, 12, 0, 0).astimezone()


@pytest.fixture(scope="module")
def settings() -> Settings:
    values = json.loads((Path(__file__).resolve().parents[2] / "local.settings.sample.json").read_text())["Values"]
    return dataclasses.replace(load_settings(values), train_chunk_seconds=30.0)


def job(status: str, *, created_ago: float, updated_ago: float, heartbeat_ago: float | None = None) -> TrainingJobRecord:
    return TrainingJobRecord(
        project_name="p",
        job_id="j",
        model_label="m",
        training_config_version="v",
        evaluation_options=EvaluationOptions(),
        status=status,
        created=NOW - timedelta(seconds=created_ago),
        last_updated=NOW - timedelta(seconds=updated_ago),
        expiration=NOW + timedelta(days=7),
        heartbeat=None if heartbeat_ago is None else NOW - timedelta(seconds=heartbeat_ago),
    )


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_terminal_rows_are_final(settings: Settings, status: str) -> None:
    assert not needs_runtime_check(settings, job(status, created_ago=9999, updated_ago=9999), NOW)


def test_a_running_row_updated_recently_is_trusted(settings: Settings) -> None:
    assert not needs_runtime_check(settings, job(JobStatus.RUNNING, created_ago=500, updated_ago=10), NOW)
    # A fresh heartbeat counts as a sign of life even when lastUpdated is older.
    assert not needs_runtime_check(
        settings, job(JobStatus.RUNNING, created_ago=500, updated_ago=300, heartbeat_ago=5), NOW
    )


def test_a_quiet_running_or_cancelling_row_is_checked(settings: Settings) -> None:
    assert needs_runtime_check(settings, job(JobStatus.RUNNING, created_ago=500, updated_ago=61), NOW)
    assert needs_runtime_check(settings, job(JobStatus.CANCELLING, created_ago=500, updated_ago=120), NOW)


def test_the_quiet_period_covers_two_training_chunks(settings: Settings) -> None:
    slow_chunks = dataclasses.replace(settings, train_chunk_seconds=120.0)
    row = job(JobStatus.RUNNING, created_ago=900, updated_ago=200)
    assert not needs_runtime_check(slow_chunks, row, NOW)
    assert needs_runtime_check(settings, row, NOW)


def test_a_not_started_row_is_checked_after_a_few_seconds(settings: Settings) -> None:
    assert not needs_runtime_check(settings, job(JobStatus.NOT_STARTED, created_ago=1, updated_ago=1), NOW)
    assert needs_runtime_check(settings, job(JobStatus.NOT_STARTED, created_ago=6, updated_ago=6), NOW)
