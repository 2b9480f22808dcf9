"""Pure parts of training jobs: queue request parsing, progress, the failure contract, job ids, dev split."""

from __future__ import annotations

import pytest

from shared.errors import ErrorDetail, InvalidArgument, InvalidRequest, StorageError
from shared.jobs.failures import StepFailure, failure_from_text
from shared.jobs.ids import new_job_id
from shared.jobs.lifecycle import percent_of
from shared.models import utc_now
from shared.training.requests import parse_queued_request
from shared.training.steps.prepare import MAX_DEV_DOCUMENTS, dev_fraction


def test_queued_request_is_split_into_project_and_train_body() -> None:
    project, body = parse_queued_request(
        b'{"projectName": "loans", "modelLabel": "m1", "trainingConfigVersion": "latest"}'
    )

    assert project == "loans"
    assert body == {"modelLabel": "m1", "trainingConfigVersion": "latest"}


@pytest.mark.parametrize("message", [b"not json", b"[1, 2]", b'{"modelLabel": "m1"}', b'{"projectName": 3}'])
def test_unusable_queued_request_is_rejected_with_a_reason(message: bytes) -> None:
    with pytest.raises(InvalidArgument) as error:
        parse_queued_request(message)

    assert "JSON" in error.value.message or "projectName" in error.value.message


def test_bad_json_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest):
        parse_queued_request("{")


@pytest.mark.parametrize(
    ("step", "max_steps", "finished", "expected"),
    [(0, 100, False, 0), (37, 100, False, 37), (100, 100, False, 99), (40, 100, True, 100), (5, 0, False, 0)],
)
def test_percent_complete_reaches_100_only_when_finished(
    step: int, max_steps: int, finished: bool, expected: int
) -> None:
    assert percent_of(step, max_steps, finished) == expected


def test_encoded_app_error_survives_the_activity_boundary() -> None:
    error = InvalidArgument(
        "Label 'City' at offset 5000 is outside document 'doc02.txt'.",
        target="doc02.txt",
        details=[ErrorDetail("InvalidArgument", "offset 5000", "assets.documents[2]")],
    )
    # The SDK raises Exception(f"{Reason} \n {Details}") with the host's wrapper around our message.
    text = f"Activity function 'prepare_training' failed: {StepFailure.from_error(error).to_text()} \n Traceback ..."

    recovered = failure_from_text(text, phase="splitting")

    assert recovered.to_error() == error.to_dict()
    assert recovered.retryable is False


def test_storage_error_is_transient_and_unknown_failure_names_the_phase() -> None:
    storage = failure_from_text(StepFailure.from_error(StorageError("Azurite is down")).to_text(), phase="training")
    unknown = failure_from_text("MemoryError \n details", phase="training")

    assert storage.retryable is True
    assert unknown.retryable is True
    assert unknown.to_error()["code"] == "InternalServerError"
    assert "training" in unknown.message and "MemoryError" in unknown.message


def test_job_id_has_azure_shape() -> None:
    job_id = new_job_id(utc_now())
    guid, ticks = job_id.split("_")

    assert len(guid) == 36 and ticks.isdigit() and int(ticks) % 864_000_000_000 == 0


def test_dev_set_is_a_tenth_of_training_capped_in_documents() -> None:
    assert dev_fraction(221) == pytest.approx(0.1)
    assert dev_fraction(0) == pytest.approx(0.1)
    assert round(20_000 * dev_fraction(20_000)) == MAX_DEV_DOCUMENTS
