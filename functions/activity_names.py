"""Names of the training pipeline's Durable functions, shared by the orchestrator and its activities."""

from __future__ import annotations

from shared.service.training_jobs import ORCHESTRATOR_NAME

TRAINING_ORCHESTRATOR = ORCHESTRATOR_NAME

PREPARE_TRAINING = "prepare_training"
CONVERT_SHARD = "convert_shard"
INIT_TRAINING = "init_training"
TRAIN_CHUNK = "train_chunk"
RECORD_TRAINING_PROGRESS = "record_training_progress"
START_EVALUATION = "start_evaluation"
EVALUATE_SHARD = "evaluate_shard"
FINALIZE_TRAINING = "finalize_training"
FAIL_TRAINING = "fail_training"
CANCEL_TRAINING = "cancel_training"

ACTIVITIES = (
    PREPARE_TRAINING,
    CONVERT_SHARD,
    INIT_TRAINING,
    TRAIN_CHUNK,
    RECORD_TRAINING_PROGRESS,
    START_EVALUATION,
    EVALUATE_SHARD,
    FINALIZE_TRAINING,
    FAIL_TRAINING,
    CANCEL_TRAINING,
)
