"""Activities of the training pipeline: adapters from Durable payloads to the steps in ``shared.training``.

Each activity decodes its payload, calls one step and returns the step's result as a dict. An
``AppError`` leaves as :class:`~shared.jobs.failures.StepFailed`, whose message carries the typed
failure (Azure error object plus ``retryable``) the orchestrator reads back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import azure.durable_functions as df

from functions import activity_names as names
from shared import telemetry
from shared.config import get_settings
from shared.errors import AppError
from shared.jobs.failures import StepFailed, StepFailure
from shared.training.payloads import FailureReport, FinalizeRequest, JobRef, ShardTask
from shared.training.steps import convert, evaluate, prepare, register, train

bp = df.Blueprint()


PHASES = {
    "prepare_training": "splitting",
    "convert_shard": "converting",
    "init_training": "training",
    "train_chunk": "training",
    "start_evaluation": "evaluating",
    "evaluate_shard": "evaluating",
    "finalize_training": "registering",
}
"""The job phase each activity works in: a custom dimension of its telemetry (shared.telemetry)."""


def _reporting_errors(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    @functools.wraps(function)
    def wrapper(payload: Any) -> Any:
        ref = payload if isinstance(payload, dict) else {}
        with telemetry.bind_job(ref.get("projectName"), ref.get("jobId"), PHASES.get(function.__name__)):
            try:
                return function(payload)
            except AppError as error:
                raise StepFailed(StepFailure.from_error(error)) from error

    return wrapper


@bp.activity_trigger(input_name="payload", activity=names.PREPARE_TRAINING)
@_reporting_errors
def prepare_training(payload: dict) -> dict[str, Any]:
    """Mark running, validate documents and labels, split, plan shards."""
    return prepare.prepare_training(get_settings(), JobRef.from_dict(payload)).to_dict()


@bp.activity_trigger(input_name="payload", activity=names.CONVERT_SHARD)
@_reporting_errors
def convert_shard(payload: dict) -> dict[str, Any]:
    """Convert one shard of documents into a spaCy DocBin blob."""
    return convert.convert_shard(get_settings(), ShardTask.from_dict(payload)).to_dict()


@bp.activity_trigger(input_name="payload", activity=names.INIT_TRAINING)
@_reporting_errors
def init_training(payload: dict) -> dict[str, Any]:
    """Write the initial training checkpoint."""
    return train.init_training(get_settings(), JobRef.from_dict(payload)).to_dict()


@bp.activity_trigger(input_name="payload", activity=names.TRAIN_CHUNK)
@_reporting_errors
def train_chunk(payload: dict) -> dict[str, Any]:
    """Train for one bounded chunk from the last checkpoint and record the progress."""
    return train.train_chunk(get_settings(), JobRef.from_dict(payload)).to_dict()


@bp.activity_trigger(input_name="payload", activity=names.START_EVALUATION)
@_reporting_errors
def start_evaluation(payload: dict) -> None:
    """Close training, open evaluation, extract the best model."""
    train.start_evaluation(get_settings(), JobRef.from_dict(payload))


@bp.activity_trigger(input_name="payload", activity=names.EVALUATE_SHARD)
@_reporting_errors
def evaluate_shard(payload: dict) -> dict[str, Any]:
    """Evaluate the best model on one test shard."""
    return evaluate.evaluate_shard(get_settings(), ShardTask.from_dict(payload)).to_dict()


@bp.activity_trigger(input_name="payload", activity=names.FINALIZE_TRAINING)
@_reporting_errors
def finalize_training(payload: dict) -> dict[str, Any]:
    """Summarise the evaluation, register the model, mark the job succeeded."""
    return register.finalize_training(get_settings(), FinalizeRequest.from_dict(payload)).to_dict()


@bp.activity_trigger(input_name="payload", activity=names.FAIL_TRAINING)
@_reporting_errors
def fail_training(payload: dict) -> None:
    """Mark the job failed with its errors and release the project's slot."""
    register.fail_training(get_settings(), FailureReport.from_dict(payload))


@bp.activity_trigger(input_name="payload", activity=names.CANCEL_TRAINING)
@_reporting_errors
def cancel_training(payload: dict) -> None:
    """Finish a cancel the training loop noticed by itself."""
    register.cancel_training(get_settings(), JobRef.from_dict(payload))
