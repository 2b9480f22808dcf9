"""The training loop, run in chunks: each chunk continues from a checkpoint until a budget is used up.

Per step: reseed RNGs with ``fix_random_seed(seed + step)`` (dropout masks, the parser's oracle cuts, so
a step's randomness does not depend on how the run was split into chunks), take the next batch of the
seeded epoch order, update with the config's dropout (and gradient accumulation, split by spaCy's
``subdivide_batch``), apply the optimizer once per step like spaCy's ``train_while_improving``, and
every ``eval_frequency`` steps score ents_f on the dev set, keeping the best model.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from spacy.training.loop import subdivide_batch
from spacy.util import fix_random_seed

from shared.errors import TrainingFailed
from shared.ner.config_versions import VERSIONS
from shared.ner.training.batching import Counted, epoch_batches, schedule
from shared.ner.training.checkpoint import dump_checkpoint, load_checkpoint, rng_state, set_rng_state
from shared.ner.training.corpus import load_corpus
from shared.ner.training.model import load_model, trainable_pipes
from shared.ner.training.optimizer_state import optimizer_state, restore_optimizer
from shared.ner.training.options import STOP_CANCELLED, STOP_EARLY, STOP_MAX_STEPS, TrainingOptions
from shared.ner.training.scoring import dev_indices as choose_dev_indices
from shared.ner.training.scoring import evaluate, evaluated_weights
from shared.ner.transfer import SHARED_EXCLUDE

logger = logging.getLogger(__name__)


@dataclass
class ChunkResult:
    """Outcome of one :func:`train_chunk` call.

    Attributes:
        checkpoint: State to pass to the next chunk (or to ``best_model_bytes``).
        step: Updates done so far over the whole run.
        loss: Mean ner loss over this chunk's steps (0.0 if the chunk made no step).
        dev_score: Latest dev ents_f (None before the first evaluation or without dev data).
        best_score: Best dev ents_f so far.
        finished: True when training is over (any stop_reason); False when the budget ran out.
        stop_reason: "max_steps", "early_stopping", "cancelled", or None (budget used up, more to do).
        losses: Per-step ner losses of this chunk (extra to the contract; used by tests and logs).
    """

    checkpoint: bytes
    step: int
    loss: float
    dev_score: float | None
    best_score: float | None
    finished: bool
    stop_reason: str | None
    losses: list[float] = field(default_factory=list)


def train_chunk(
    checkpoint: bytes,
    train_doc_bins: Sequence[bytes],
    dev_doc_bins: Sequence[bytes],
    *,
    max_seconds: float | None = None,
    max_steps: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ChunkResult:
    """Continue training from ``checkpoint`` until a budget is used up or training ends.

    Per step: reseed RNGs with ``seed + step``, take the next batch of the seeded epoch order, update
    with the config's dropout (and gradient accumulation), apply the optimizer, and every
    ``eval_frequency`` steps score ents_f on the dev set, keeping the best model. Without dev data,
    nothing is scored, early stopping is off and the best model is the latest one.

    Args:
        checkpoint: From :func:`~shared.ner.training.initialize.init_checkpoint` or a previous chunk.
        train_doc_bins: The same training DocBins as before.
        dev_doc_bins: The dev DocBins (may be empty).
        max_seconds: Wall-clock budget of this chunk, checked between steps.
        max_steps: Number of steps this chunk may do (the run's total is ``options.max_steps``).
        should_stop: Checked between steps; True ends training with stop_reason "cancelled".

    Returns:
        The new checkpoint and the chunk's progress.

    Raises:
        TrainingFailed: Unreadable checkpoint, or training data that differ from the run's.
    """
    started = time.monotonic()
    state = load_checkpoint(checkpoint)
    options = TrainingOptions.from_dict(state["options"])
    if state.get("stop_reason"):
        return _result(state, checkpoint, [])

    nlp = load_model(state["model"])
    step = int(state["step"])
    optimizer = restore_optimizer(nlp, state["optimizer"], step)
    set_rng_state(state["rng"])
    train = load_corpus(nlp, train_doc_bins)
    if len(train) != state["num_train_examples"]:
        raise TrainingFailed(
            f"The training data changed during the run: {len(train)} examples instead of "
            f"{state['num_train_examples']}."
        )
    dev = load_corpus(nlp, dev_doc_bins)
    dev_indices = choose_dev_indices(len(dev), options.seed)
    later_ties = _later_ties(options.config_version)
    training = nlp.config.interpolate()["training"]
    dropouts = Counted(schedule(training["dropout"]), skip=step)
    accumulate = int(training.get("accumulate_gradient", 1) or 1)
    frozen = list(training.get("frozen_components", []))
    annotating = list(training.get("annotating_components", []))
    pipes = [(name, proc) for name, proc in trainable_pipes(nlp) if name not in frozen]

    epoch = int(state["epoch"])
    batch_index = int(state["batch_index"])
    sizes_used = int(state["sizes_used"])
    batches, sizes_after = epoch_batches(training, train.lengths, options.seed, epoch, sizes_used)
    best_score: float | None = state["best_score"]
    best_step: int | None = state["best_step"]
    best_model: bytes | None = state["best_model"]
    last_score: float | None = state["last_score"]
    stop_reason: str | None = None
    step_losses: list[float] = []

    while True:
        if step >= options.max_steps:
            stop_reason = STOP_MAX_STEPS
            break
        if should_stop is not None and should_stop():
            stop_reason = STOP_CANCELLED
            break
        if max_steps is not None and len(step_losses) >= max_steps:
            break
        if max_seconds is not None and time.monotonic() - started >= max_seconds:
            break
        while batch_index >= len(batches):
            epoch, batch_index, sizes_used = epoch + 1, 0, sizes_after
            batches, sizes_after = epoch_batches(training, train.lengths, options.seed, epoch, sizes_used)
        batch = [train.example(nlp, index) for index in batches[batch_index]]
        batch_index += 1

        fix_random_seed(options.seed + step)
        dropout = float(next(dropouts))
        losses: dict[str, float] = {}
        for sub in subdivide_batch(batch, accumulate):
            # sgd=False: gradients only; the optimizer is applied once per step below, like spaCy's loop.
            nlp.update(sub, drop=dropout, losses=losses, sgd=False, exclude=frozen, annotates=annotating)  # type: ignore[arg-type]
        for _name, proc in pipes:
            proc.finish_update(optimizer)
        optimizer.step_schedules()
        step += 1
        step_losses.append(float(losses.get("ner", 0.0)))

        if dev_indices and (step % options.eval_frequency == 0 or step >= options.max_steps):
            score = evaluate(nlp, optimizer, dev, dev_indices)
            last_score = score
            improved = best_score is None or score > best_score
            if improved or (later_ties and score == best_score):
                # serialised only when it is kept (it is ~6 MB); patience counts from the first best step
                best_score, best_model = score, evaluated_weights(nlp, optimizer)
                best_step = step if improved else best_step
        if options.patience and best_step is not None and step - best_step >= options.patience:
            stop_reason = STOP_EARLY
            break

    state.update(
        {
            "model": nlp.to_bytes(exclude=SHARED_EXCLUDE),
            "optimizer": optimizer_state(nlp, optimizer),
            "step": step,
            "epoch": epoch,
            "batch_index": batch_index,
            "sizes_used": sizes_used,
            "rng": rng_state(),
            "best_score": best_score,
            "best_step": best_step,
            "best_model": best_model,
            "last_score": last_score,
            "stop_reason": stop_reason,
        }
    )
    new_checkpoint = dump_checkpoint(state)
    logger.info(
        "Trained %d steps (total %d) in %.1fs; dev score %s, best %s, stop %s",
        len(step_losses),
        step,
        time.monotonic() - started,
        last_score,
        best_score,
        stop_reason,
    )
    return _result(state, new_checkpoint, step_losses)


def _later_ties(version: str) -> bool:
    """Whether ``version`` keeps the later of equally scored models (see ConfigVersion.later_ties)."""
    found = VERSIONS.get(version)  # options hold the resolved id; unknown (older checkpoints): no
    return bool(found and found.later_ties)


def _result(state: dict[str, Any], checkpoint: bytes, step_losses: list[float]) -> ChunkResult:
    stop_reason = state.get("stop_reason")
    return ChunkResult(
        checkpoint=checkpoint,
        step=int(state["step"]),
        loss=sum(step_losses) / len(step_losses) if step_losses else 0.0,
        dev_score=state.get("last_score"),
        best_score=state.get("best_score"),
        finished=stop_reason is not None,
        stop_reason=stop_reason,
        losses=step_losses,
    )
