"""Early stopping: what each patience (and evaluation frequency) would keep, from one long run per split.

The service stops a run ``patience`` steps after its best dev score and keeps the best model
(``shared/ner/training/loop.py``). Training itself does not depend on when it stops or how often it is
evaluated: every step reseeds from ``seed + step`` and evaluation only reads the (averaged) weights. So one
run with the longest patience, evaluated every ``--eval-frequency`` steps, holds every shorter run as a
prefix. This benchmark trains that run once per split, with the service's trainer in this process, and at
every evaluation also scores the evaluated weights on the split's test documents (outside the CPU clock
of training). From the recorded (step, dev score, test counts, training CPU seconds) it then replays the
stopping rule for each patience P and evaluation period E (a multiple of ``--eval-frequency``):

* the run stops at the first step where ``step - best_step >= P`` (or at ``--max-steps``);
* it keeps the model of ``best_step`` (first of equal dev scores, as the shipped versions do);
* reported: steps, training CPU seconds to the stop, and the kept model's test micro-F1.

Splits: ``--folds K`` (cross-validation, every document tested once, counts pooled over folds) or the
dataset's own split with ``--seeds`` (medians over seeds). The dev set is carved from each split's train
part with the split's seed, as the service does.

Usage::

    .venv/bin/python -m bench.patience --folds 5 /work/shared/data/loan-agreements
    .venv/bin/python -m bench.patience --seeds 0 1 2 /work/shared/data/wnut17
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.datasets import Dataset, choose_split, folds, load_dataset
from bench.direct import direct_training_options, train_and_dev_bins
from bench.machine import machine_info, write_result
from bench.scoring import score_predictions


def _counts(summary: dict[str, Any]) -> dict[str, int]:
    """tp/fp/fn of an evaluation summary (summed over entity types)."""
    tp = fp = fn = 0
    for entity in summary["customEntityRecognitionEvaluation"]["entities"].values():
        tp += entity["truePositiveCount"]
        fp += entity["falsePositiveCount"]
        fn += entity["falseNegativeCount"]
    return {"tp": tp, "fp": fp, "fn": fn}


def _f1(counts: dict[str, int]) -> float:
    denominator = 2 * counts["tp"] + counts["fp"] + counts["fn"]
    return 2 * counts["tp"] / denominator if denominator else 0.0


def record_run(
    ds: Dataset,
    train: Sequence[str],
    test: Sequence[str],
    *,
    seed: int,
    max_steps: int,
    eval_frequency: int,
    version: str,
) -> dict[str, Any]:
    """Train one split to ``max_steps`` (no early stopping); every evaluation's dev score, the test counts of
    the evaluated weights, and the training CPU seconds used up to it."""
    from shared.ner.training import init_checkpoint, loop, predict_spans, train_chunk

    evaluations: list[dict[str, Any]] = []
    outside = 0.0  # CPU seconds spent scoring test documents: not part of training
    real_evaluate = loop.evaluate

    def evaluate_and_score(nlp: Any, optimizer: Any, dev: Any, indices: list[int]) -> float:
        nonlocal outside
        dev_score = real_evaluate(nlp, optimizer, dev, indices)
        cpu_at = time.process_time() - outside
        start = time.process_time()
        with nlp.use_params(optimizer.averages) if optimizer.averages else contextlib.nullcontext():
            summary = score_predictions(ds, test, lambda texts: predict_spans(nlp, texts))
        outside += time.process_time() - start
        evaluations.append({"dev": dev_score, "cpu": cpu_at, "test": _counts(summary)})
        return dev_score

    cpu0 = time.process_time()
    train_bin, dev_bin, dev = train_and_dev_bins(ds, train, seed)
    options = direct_training_options(
        ds,
        max_steps=max_steps,
        patience=0,  # no early stopping: every patience is replayed from this one run
        eval_frequency=eval_frequency,
        seed=seed,
        config_version=version,
    )
    checkpoint = init_checkpoint(options, [train_bin])
    loop.evaluate = evaluate_and_score  # type: ignore[assignment]
    try:
        result = train_chunk(checkpoint, [train_bin], [dev_bin])
    finally:
        loop.evaluate = real_evaluate  # type: ignore[assignment]
    for index, evaluation in enumerate(evaluations):
        evaluation["step"] = min((index + 1) * eval_frequency, max_steps)
        evaluation["cpu"] -= cpu0
    return {"seed": seed, "steps": result.step, "dev_docs": len(dev), "evaluations": evaluations}


def replay(run: dict[str, Any], *, patience: int, period: int, max_steps: int) -> dict[str, Any]:
    """What the service would have done on this run with ``patience`` and evaluations every ``period`` steps."""
    evaluations = [e for e in run["evaluations"] if e["step"] % period == 0 or e["step"] == max_steps]
    best: dict[str, Any] | None = None
    for evaluation in evaluations:
        # an evaluation at exactly best + patience still runs (the loop evaluates before it checks patience)
        if best is not None and patience and evaluation["step"] - best["step"] > patience:
            break
        if best is None or evaluation["dev"] > best["dev"]:
            best = evaluation
    assert best is not None, "a run without any evaluation"
    stop_step = min(max_steps, best["step"] + patience) if patience else max_steps
    # CPU seconds to the stop: interpolated from the evaluations' clock (steps cost about the same each)
    per_step = run["evaluations"][-1]["cpu"] / run["evaluations"][-1]["step"]
    return {
        "stop_step": stop_step,
        "kept_step": best["step"],
        "cpu": stop_step * per_step,
        "test": best["test"],
    }


def summarize(
    runs: list[dict[str, Any]],
    *,
    patiences: Sequence[int],
    periods: Sequence[int],
    max_steps: int,
    pooled: bool,
) -> list[dict[str, Any]]:
    rows = []
    for period in periods:
        for patience in patiences:
            outcomes = [replay(run, patience=patience, period=period, max_steps=max_steps) for run in runs]
            f1s = [_f1(o["test"]) for o in outcomes]
            total = {key: sum(o["test"][key] for o in outcomes) for key in ("tp", "fp", "fn")}
            rows.append(
                {
                    "eval_every": period,
                    "patience": patience,
                    "f1": _f1(total) if pooled else statistics.median(f1s),
                    "f1_per_split": f1s,
                    "stop_steps": [o["stop_step"] for o in outcomes],
                    "kept_steps": [o["kept_step"] for o in outcomes],
                    "cpu_median": statistics.median(o["cpu"] for o in outcomes),
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--folds", type=int, default=0, help="K-fold cross-validation (counts pooled)")
    parser.add_argument("--only-folds", type=lambda v: [int(x) for x in v.split(",")], default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="without --folds: the file's split")
    parser.add_argument("--max-steps", type=int, default=2000, help="the service's NER_TRAIN_MAX_STEPS")
    parser.add_argument("--eval-frequency", type=int, default=100, help="the finest evaluation period")
    parser.add_argument("--patience", type=int, nargs="+", default=[200, 300, 400, 600])
    parser.add_argument("--periods", type=int, nargs="+", default=[100, 200])
    parser.add_argument("--version", default="latest", help="trainingConfigVersion")
    parser.add_argument(
        "--merge", type=Path, nargs="+", help="summarise these result files' runs; nothing runs"
    )
    args = parser.parse_args(argv)
    machine_at_start = machine_info()  # its load average is the one at the start

    ds = load_dataset(args.folder)
    if args.merge:
        import json

        runs = [run for path in args.merge for run in json.loads(path.read_text())["runs"]]
    else:
        runs = []
        if args.folds:
            splits = [(fold, 0, train, test) for fold, (train, test) in enumerate(folds(ds, args.folds, 0))]
            splits = [s for s in splits if args.only_folds is None or s[0] in args.only_folds]
        else:
            train, test, _ = choose_split(ds, "auto", 0)
            splits = [(None, seed, train, test) for seed in args.seeds]
        for fold, seed, train, test in splits:
            started = time.perf_counter()
            run = record_run(
                ds,
                train,
                test,
                seed=seed,
                max_steps=args.max_steps,
                eval_frequency=args.eval_frequency,
                version=args.version,
            )
            run["fold"] = fold
            runs.append(run)
            best = max(run["evaluations"], key=lambda e: e["dev"])
            print(
                f"[{ds.name} fold={fold} seed={seed}] {run['steps']} steps in {time.perf_counter() - started:.0f} s,"
                f" best dev {best['dev']:.3f} at step {best['step']}",
                flush=True,
            )
    rows = summarize(
        runs, patiences=args.patience, periods=args.periods, max_steps=args.max_steps, pooled=bool(args.folds)
    )
    print(f"\n{ds.name}: {'pooled over folds' if args.folds else 'median over seeds'}")
    print("eval_every patience   F1   train CPU-s (median)  stop steps / kept steps per split")
    for row in rows:
        print(
            f"{row['eval_every']:>10} {row['patience']:>8} {row['f1']:.3f} {row['cpu_median']:>10.1f}"
            f"   {row['stop_steps']} / {row['kept_steps']}"
        )
    write_result(
        "patience",
        {
            "dataset": ds.name,
            "args": {k: str(v) for k, v in vars(args).items()},
            "runs": runs,
            "rows": rows,
            "machine": machine_at_start,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
