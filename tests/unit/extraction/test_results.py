"""The AnalyzeTextJobState document: statuses, counters, failed tasks, paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.extraction.results import (
    CANCELLED,
    CANCELLING,
    FAILED,
    NOT_STARTED,
    RUNNING,
    SUCCEEDED,
    TaskOutcome,
    job_state,
    job_status,
)

T0 = datetime(2026, 11, 29, 10, 0, 0, tzinfo=UTC)
IDS = [f"doc{i}" for i in range(5)]


def _custom(index: int, status: str = SUCCEEDED, name: str | None = None) -> TaskOutcome:
    return TaskOutcome(
        index=index,
        kind="CustomEntityRecognition",
        task_name=name if name is not None else str(index),
        status=status,
        last_update=T0,
        project_name="loans",
        deployment_name="prod",
        documents=[{"id": i, "entities": [], "warnings": []} for i in IDS if i != "doc3"],
        errors=[
            {"id": "doc3", "error": {"code": "InvalidArgument", "message": "Invalid document in request."}}
        ],
    )


def _state(outcomes: list[TaskOutcome], **kwargs: object) -> dict:
    statuses = [outcome.status for outcome in outcomes]
    return job_state(
        job_id="4b8f5c1e-0000-4000-8000-000000000001",
        created=T0,
        last_updated=T0 + timedelta(seconds=3),
        expires=T0 + timedelta(days=2),
        status=job_status(statuses),
        display_name="extract",
        document_ids=IDS,
        outcomes=outcomes,
        next_link=lambda top, skip: f"http://host/language/analyze-text/jobs/x?top={top}&skip={skip}",
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([NOT_STARTED, NOT_STARTED], NOT_STARTED),
        ([RUNNING, NOT_STARTED], RUNNING),
        ([SUCCEEDED, RUNNING], RUNNING),
        ([SUCCEEDED, SUCCEEDED], SUCCEEDED),
        ([SUCCEEDED, FAILED], SUCCEEDED),  # never partiallyCompleted: every client's poller must stop
        ([FAILED, FAILED], FAILED),
    ],
)
def test_job_status_from_task_statuses(statuses: list[str], expected: str) -> None:
    assert job_status(statuses) == expected


def test_cancel_requested_is_cancelling_until_nothing_runs() -> None:
    assert job_status([RUNNING, NOT_STARTED], cancel_requested=True) == CANCELLING
    assert job_status([SUCCEEDED, CANCELLED], cancel_requested=True) == CANCELLED
    assert job_status([NOT_STARTED], cancel_requested=True) == CANCELLED


def test_succeeded_job_shape() -> None:
    state = _state([_custom(0)])
    assert state["status"] == "succeeded"
    assert state["createdDateTime"] == "2026-11-29T10:00:00Z"
    assert state["lastUpdatedDateTime"] == "2026-11-29T10:00:03Z"
    assert state["expirationDateTime"] == "2026-12-01T10:00:00Z"
    assert state["displayName"] == "extract"
    assert state["errors"] == []
    assert state["tasks"]["completed"] == 1 and state["tasks"]["total"] == 1
    assert (state["tasks"]["failed"], state["tasks"]["inProgress"]) == (0, 0)
    (item,) = state["tasks"]["items"]
    assert item["kind"] == "CustomEntityRecognitionLROResults"
    assert item["taskName"] == "0"
    assert item["status"] == "succeeded"
    assert item["lastUpdateDateTime"] == "2026-11-29T10:00:00Z"
    results = item["results"]
    assert (results["projectName"], results["deploymentName"]) == ("loans", "prod")
    assert [doc["id"] for doc in results["documents"]] == ["doc0", "doc1", "doc2", "doc4"]
    assert [err["id"] for err in results["errors"]] == ["doc3"]
    assert "nextLink" not in state


def test_failed_task_has_no_results_and_a_job_error_pointing_at_its_item() -> None:
    failed = TaskOutcome(
        index=1,
        kind="EntityRecognition",
        task_name="prebuilt",
        status=FAILED,
        last_update=T0,
        error={"code": "InvalidArgument", "message": "Task kind 'EntityRecognition' is not supported."},
    )
    state = _state([failed, _custom(0)])  # outcomes come back in request order whatever the input order
    assert state["status"] == "succeeded"
    assert [item["taskName"] for item in state["tasks"]["items"]] == ["0", "prebuilt"]
    failed_item = state["tasks"]["items"][1]
    assert failed_item["kind"] == "EntityRecognitionLROResults" and "results" not in failed_item
    assert state["errors"] == [
        {
            "code": "InvalidArgument",
            "message": "Task kind 'EntityRecognition' is not supported.",
            "target": "#/tasks/items/1",
        }
    ]
    assert state["tasks"]["failed"] == 1 and state["tasks"]["completed"] == 1
    assert _state([failed])["status"] == "failed"


def test_paging_over_documents_with_next_link() -> None:
    first = _state([_custom(0), _custom(1)], top=2)
    assert first["nextLink"].endswith("top=2&skip=2")
    for item in first["tasks"]["items"]:
        assert [doc["id"] for doc in item["results"]["documents"]] == ["doc0", "doc1"]
        assert item["results"]["errors"] == []
    second = _state([_custom(0), _custom(1)], top=2, skip=2)
    assert [doc["id"] for doc in second["tasks"]["items"][0]["results"]["documents"]] == ["doc2"]
    assert [err["id"] for err in second["tasks"]["items"][0]["results"]["errors"]] == ["doc3"]
    third = _state([_custom(0)], top=2, skip=4)
    assert [doc["id"] for doc in third["tasks"]["items"][0]["results"]["documents"]] == ["doc4"]
    assert "nextLink" not in third
    # the counters describe the whole job on every page
    assert third["tasks"]["total"] == 1 and second["tasks"]["total"] == 2


def test_running_job_counts_tasks_in_progress() -> None:
    state = _state([_custom(0, RUNNING), _custom(1, NOT_STARTED), _custom(2)])
    assert state["status"] == "running"
    assert state["tasks"]["inProgress"] == 2 and state["tasks"]["completed"] == 1


def test_outcome_round_trips_through_json() -> None:
    import json

    outcome = _custom(3, RUNNING, name="x")
    assert TaskOutcome.from_dict(json.loads(json.dumps(outcome.to_dict()))) == outcome


def test_a_full_job_pages_by_default() -> None:
    ids = [f"d{i}" for i in range(25)]
    outcome = TaskOutcome(0, "CustomEntityRecognition", "0", SUCCEEDED, T0, "p", "d", [{"id": i} for i in ids])
    state = job_state(
        job_id="j",
        created=T0,
        last_updated=T0,
        expires=None,
        status=SUCCEEDED,
        display_name=None,
        document_ids=ids,
        outcomes=[outcome],
        next_link=lambda top, skip: f"next?top={top}&skip={skip}",
    )
    assert len(state["tasks"]["items"][0]["results"]["documents"]) == 20
    assert state["nextLink"] == "next?top=20&skip=20"
