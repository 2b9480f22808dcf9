"""The service's trainer run in-process (no host, no storage): the direct side of a comparison."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from bench.datasets import Dataset, dev_carve, doc_bin
from bench.scoring import micro, score_predictions


def train_and_dev_bins(ds: Dataset, train: Sequence[str], seed: int) -> tuple[bytes, bytes, list[str]]:
    """(training DocBin, dev DocBin, dev locations): the service's dev carve out of ``train``, converted."""
    rest, dev = dev_carve(ds, train, seed)
    return doc_bin(ds, rest)[0], doc_bin(ds, dev)[0], dev


def direct_training_options(
    ds: Dataset,
    *,
    max_steps: int,
    patience: int,
    eval_frequency: int,
    seed: int,
    config_version: str = "latest",
) -> Any:
    from shared.ner.training import TrainingOptions

    return TrainingOptions(
        lang=ds.lang,
        labels=sorted(ds.project.entity_categories),  # as the service does
        max_steps=max_steps,
        patience=patience,
        eval_frequency=eval_frequency,
        seed=seed,
        config_version=config_version,
    )


def run_direct(
    ds: Dataset,
    train: Sequence[str],
    test: Sequence[str],
    *,
    max_steps: int,
    patience: int,
    eval_frequency: int,
    seed: int,
    max_seconds: float | None = None,
    dev_seed: int | None = None,
) -> dict[str, Any]:
    """The service's training code in one process with no orchestration: convert, init_checkpoint,
    one train_chunk with no time budget (unless ``max_seconds``), best model, predict and score.
    ``dev_seed`` (default ``seed``) seeds the dev carve: fan-out candidates share the job's dev set."""
    from shared.ner.training import best_model_bytes, init_checkpoint, load_model, predict_spans, train_chunk

    t0 = time.perf_counter()
    train_bin, dev_bin, _ = train_and_dev_bins(ds, train, seed if dev_seed is None else dev_seed)
    options = direct_training_options(
        ds, max_steps=max_steps, patience=patience, eval_frequency=eval_frequency, seed=seed
    )
    checkpoint = init_checkpoint(options, [train_bin])
    t1 = time.perf_counter()
    result = train_chunk(checkpoint, [train_bin], [dev_bin], max_seconds=max_seconds, max_steps=max_steps)
    t2 = time.perf_counter()
    nlp = load_model(best_model_bytes(result.checkpoint))
    summary = score_predictions(ds, test, lambda texts: predict_spans(nlp, texts))
    t3 = time.perf_counter()
    return {
        "side": "direct",
        "steps": result.step,
        "stop_reason": result.stop_reason,
        "finished": result.finished,
        "best_dev_score": result.best_score,
        "prep_seconds": t1 - t0,
        "train_seconds": t2 - t1,
        "eval_seconds": t3 - t2,
        "wall_seconds": t3 - t0,
        "seconds_per_step": (t2 - t1) / result.step if result.step else None,
        "scores": micro(summary),
    }


def probe_steps_per_second(
    ds: Dataset, train: Sequence[str], *, seconds: float, eval_frequency: int, seed: int
) -> dict[str, Any]:
    """Training throughput of the service's trainer on these documents (steps/s, dev evaluations included)."""
    from shared.ner.training import init_checkpoint, train_chunk

    train_bin, dev_bin, _ = train_and_dev_bins(ds, train, seed)
    options = direct_training_options(
        ds, max_steps=10**7, patience=10**7, eval_frequency=eval_frequency, seed=seed
    )
    checkpoint = init_checkpoint(options, [train_bin])
    t0 = time.perf_counter()
    result = train_chunk(checkpoint, [train_bin], [dev_bin], max_seconds=seconds)
    elapsed = time.perf_counter() - t0
    return {
        "steps": result.step,
        "seconds": elapsed,
        "steps_per_second": result.step / elapsed if elapsed else 0.0,
    }
