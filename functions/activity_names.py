"""Names of the training pipeline's Durable functions, shared by the orchestrator and its activities."""

from __future__ import annotations

from shared.jobs.kinds import TRAINING_ORCHESTRATOR as TRAINING_ORCHESTRATOR

PREPARE_TRAINING = "prepare_training"
CONVERT_SHARD = "convert_shard"
INIT_TRAINING = "init_training"
TRAIN_CHUNK = "train_chunk"
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
    START_EVALUATION,
    EVALUATE_SHARD,
    FINALIZE_TRAINING,
    FAIL_TRAINING,
    CANCEL_TRAINING,
)
