"""Step 3, training: ``init_training`` (the first checkpoint), ``train_chunk`` (repeated, bounded in time,
resumable from the checkpoint) and ``start_evaluation`` (training over: the best model is extracted).
"""

from __future__ import annotations

import time
from typing import Any

from shared.config import Settings
from shared.jobs.lifecycle import JobNotActive, is_stop_requested
from shared.models import utc_now
from shared.ner import transfer
from shared.ner.config_versions import EFFICIENCY
from shared.ner.training import TrainingOptions, best_model_bytes, init_checkpoint
from shared.ner.training import train_chunk as run_train_chunk
from shared.storage.blobs import BlobStore
from shared.training import estimate, jobs
from shared.training.caches import checkpoint_cache, shard_cache
from shared.training.payloads import ChunkSummary, JobRef, TrainingPlan
from shared.training.shards import load_manifest

STOP_CHECK_SECONDS = 2.0
"""How often a training chunk re-reads the job row to notice a cancel."""


def _training_options(settings: Settings, manifest: dict[str, Any]) -> TrainingOptions:
    return TrainingOptions(
        lang=manifest["spacy_lang"],
        labels=list(manifest["labels"]),
        max_steps=settings.train_max_steps,
        patience=settings.train_patience,
        eval_frequency=settings.train_eval_frequency,
        seed=int(manifest["seed"]),
        # manifests written before versions were recorded belong to jobs of the efficiency config
        config_version=str(manifest.get("config_version", EFFICIENCY)),
    )


def _doc_bins(blobs: BlobStore, ref: JobRef, manifest: dict[str, Any], kind: str) -> list[bytes]:
    # Shards never change once converted: chunk after chunk in this process reuses the bytes.
    return [
        shard_cache.get(blobs, ref.workspace.shard_bin(shard))
        for shard in sorted(manifest["shards"])
        if shard.startswith(kind + "-")
    ]

def init_training(settings: Settings, ref: JobRef) -> TrainingPlan:
    """Create the initial checkpoint (blank pipeline initialised on the training shards)."""
    jobs.mark_phase(settings, ref.projectName, ref.jobId, "training")
    transfer.configure_from_settings(settings)  # a transfer job builds on the operator's base
    blobs = BlobStore(settings)
    manifest = load_manifest(blobs, ref.workspace)
    options = _training_options(settings, manifest)
    corpus = estimate.Corpus.from_dict(manifest.get("corpus"))
    jobs.record_estimate(
        settings, ref.projectName, ref.jobId,
        percent=estimate.PHASE_PERCENT["initialising"],
        estimated_end=estimate.estimated_end(utc_now(), "initialising", corpus, options.max_steps),
    )  # fmt: skip
    checkpoint = init_checkpoint(options, _doc_bins(blobs, ref, manifest, "train"))
    checkpoint_cache.write(blobs, ref.workspace.checkpoint, checkpoint)
    return TrainingPlan(max_steps=options.max_steps)


class _StopCheck:
    """``should_stop`` for a training chunk: re-reads the job row at most every few seconds."""

    def __init__(self, settings: Settings, ref: JobRef, interval: float = STOP_CHECK_SECONDS) -> None:
        self._settings = settings
        self._ref = ref
        self._interval = interval
        self._last = time.monotonic()
        self._stop = False

    def __call__(self) -> bool:
        now = time.monotonic()
        if not self._stop and now - self._last >= self._interval:
            self._last = now
            record = jobs.get_job(self._settings, self._ref.projectName, self._ref.jobId)
            self._stop = is_stop_requested(record)
        return self._stop


def train_chunk(settings: Settings, ref: JobRef) -> ChunkSummary:
    """Resume from the checkpoint, train for ``train_chunk_seconds``, save it and record the progress.

    The job's ``percentComplete`` and ``estimatedEndDateTime`` (from the time per step measured over
    every chunk so far) are written here and returned, so the orchestrator needs no activity of its own
    per chunk to report them.
    """
    record = jobs.heartbeat(settings, ref.projectName, ref.jobId)
    if is_stop_requested(record):
        return ChunkSummary(0, settings.train_max_steps, 0, 0.0, 0.0, None, None, True, "cancelled")
    transfer.configure_from_settings(settings)
    blobs = BlobStore(settings)
    manifest = load_manifest(blobs, ref.workspace)
    train_bins = _doc_bins(blobs, ref, manifest, "train")
    # Without dev documents (a one-document training set) training simply runs to max_steps.
    dev_bins = _doc_bins(blobs, ref, manifest, "dev")
    checkpoint_name = ref.workspace.checkpoint
    checkpoint = checkpoint_cache.read(blobs, checkpoint_name)
    started = time.monotonic()
    result = run_train_chunk(
        checkpoint,
        train_bins,
        dev_bins,
        max_seconds=settings.train_chunk_seconds,
        should_stop=_StopCheck(settings, ref),
    )
    seconds = time.monotonic() - started
    checkpoint_cache.write(blobs, checkpoint_name, result.checkpoint)
    previous = int(manifest.get("step", 0))
    steps_run = max(0, result.step - previous)
    timed_seconds = float(manifest.get("timed_seconds", 0.0)) + seconds
    timed_steps = int(manifest.get("timed_steps", 0)) + steps_run
    # Remember where the checkpoint was so a retried or resumed chunk measures only its own steps.
    blobs.put_json(
        ref.workspace.manifest,
        {**manifest, "step": result.step, "timed_seconds": timed_seconds, "timed_steps": timed_steps},
    )
    summary = ChunkSummary(
        step=result.step,
        max_steps=settings.train_max_steps,
        steps_run=steps_run,
        seconds=round(seconds, 3),
        loss=float(result.loss),
        dev_score=result.dev_score,
        best_score=result.best_score,
        finished=result.finished,
        stop_reason=result.stop_reason,
    )
    if result.stop_reason == "cancelled":
        return summary
    try:
        record = jobs.record_progress(
            settings,
            ref.projectName,
            ref.jobId,
            step=result.step,
            max_steps=settings.train_max_steps,
            finished=result.finished,
            seconds_per_step=timed_seconds / timed_steps if timed_steps else None,
            loss=float(result.loss),
            dev_score=result.dev_score,
        )
    except JobNotActive:
        # A cancel landed after the last step: the orchestration finishes it as a cancel.
        summary.finished, summary.stop_reason = True, "cancelled"
        return summary
    summary.percent_complete = record.training_status.percent_complete
    summary.estimated_end = record.estimated_end.isoformat() if record.estimated_end else None
    return summary


def start_evaluation(settings: Settings, ref: JobRef) -> None:
    """Close training, open evaluation and extract the best model for the evaluation shards."""
    blobs = BlobStore(settings)
    checkpoint = checkpoint_cache.read(blobs, ref.workspace.checkpoint)
    blobs.put_bytes(ref.workspace.model, best_model_bytes(checkpoint))
    corpus = estimate.Corpus.from_dict(load_manifest(blobs, ref.workspace).get("corpus"))
    end = estimate.estimated_end(utc_now(), "evaluating", corpus, 0)
    jobs.start_evaluation(settings, ref.projectName, ref.jobId, end)
    # Training is over: this process no longer needs the job's shards or checkpoint.
    shard_cache.forget_prefix(ref.workspace.prefix)
    checkpoint_cache.forget_prefix(ref.workspace.prefix)
