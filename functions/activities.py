"""Activities of the training pipeline: adapters from Durable payloads to ``shared.service.pipeline``.

Each activity decodes its payload, calls one pipeline step and returns the step's result as a dict.
An ``AppError`` is re-raised with the Azure error object encoded in its message, so the orchestrator
can report it in the job's ``errors[]`` and knows not to retry a user's mistake.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import azure.durable_functions as df

from functions import activity_names as names
from shared.config import get_settings
from shared.errors import AppError
from shared.service import pipeline

bp = df.Blueprint()


class ActivityFailed(Exception):
    """An activity's ``AppError``, carried across the Durable boundary in the message text."""


def _reporting_errors(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    @functools.wraps(function)
    def wrapper(payload: Any) -> Any:
        try:
            return function(payload)
        except AppError as error:
            raise ActivityFailed(pipeline.encode_error(error)) from error

    return wrapper


@bp.activity_trigger(input_name="payload", activity=names.PREPARE_TRAINING)
@_reporting_errors
def prepare_training(payload: dict[str, Any]) -> dict[str, Any]:
    """Mark running, validate documents and labels, split, plan shards."""
    return pipeline.prepare_training(get_settings(), pipeline.JobRef.from_dict(payload)).to_dict()


@bp.activity_trigger(input_name="payload", activity=names.CONVERT_SHARD)
@_reporting_errors
def convert_shard(payload: dict[str, Any]) -> dict[str, Any]:
    """Convert one shard of documents into a spaCy DocBin blob."""
    return pipeline.convert_shard(get_settings(), pipeline.ShardTask.from_dict(payload)).to_dict()


@bp.activity_trigger(input_name="payload", activity=names.INIT_TRAINING)
@_reporting_errors
def init_training(payload: dict[str, Any]) -> dict[str, Any]:
    """Write the initial training checkpoint."""
    return pipeline.init_training(get_settings(), pipeline.JobRef.from_dict(payload)).to_dict()


@bp.activity_trigger(input_name="payload", activity=names.TRAIN_CHUNK)
@_reporting_errors
def train_chunk(payload: dict[str, Any]) -> dict[str, Any]:
    """Train for one bounded chunk from the last checkpoint."""
    return pipeline.train_chunk(get_settings(), pipeline.JobRef.from_dict(payload)).to_dict()


@bp.activity_trigger(input_name="payload", activity=names.RECORD_TRAINING_PROGRESS)
@_reporting_errors
def record_training_progress(payload: dict[str, Any]) -> dict[str, Any]:
    """Update percentComplete and estimatedEndDateTime."""
    update = pipeline.ProgressUpdate.from_dict(payload)
    return pipeline.record_training_progress(get_settings(), update).to_dict()


@bp.activity_trigger(input_name="payload", activity=names.START_EVALUATION)
@_reporting_errors
def start_evaluation(payload: dict[str, Any]) -> None:
    """Close training, open evaluation, extract the best model."""
    pipeline.start_evaluation(get_settings(), pipeline.JobRef.from_dict(payload))


@bp.activity_trigger(input_name="payload", activity=names.EVALUATE_SHARD)
@_reporting_errors
def evaluate_shard(payload: dict[str, Any]) -> dict[str, Any]:
    """Evaluate the best model on one test shard."""
    return pipeline.evaluate_shard(get_settings(), pipeline.ShardTask.from_dict(payload)).to_dict()


@bp.activity_trigger(input_name="payload", activity=names.FINALIZE_TRAINING)
@_reporting_errors
def finalize_training(payload: dict[str, Any]) -> dict[str, Any]:
    """Summarise the evaluation, register the model, mark the job succeeded."""
    return pipeline.finalize_training(get_settings(), pipeline.FinalizeRequest.from_dict(payload)).to_dict()


@bp.activity_trigger(input_name="payload", activity=names.FAIL_TRAINING)
@_reporting_errors
def fail_training(payload: dict[str, Any]) -> None:
    """Mark the job failed with its errors and release the project's slot."""
    pipeline.fail_training(get_settings(), pipeline.FailureReport.from_dict(payload))


@bp.activity_trigger(input_name="payload", activity=names.CANCEL_TRAINING)
@_reporting_errors
def cancel_training(payload: dict[str, Any]) -> None:
    """Finish a cancel the training loop noticed by itself."""
    pipeline.cancel_training(get_settings(), pipeline.JobRef.from_dict(payload))
