"""Training fan-out: width 1 vs width 2 (``NER_TRAIN_CANDIDATES``) at an equal wall-clock budget.

What a job does with each width, without host or storage (the service's own trainer, in-process as in
``bench/direct.py``): width 1 trains the job's seed for ``--seconds`` in one process; width 2 trains seeds
``seed`` and ``seed + 1`` in two processes at the same time (the local host's two workers), each for
``--seconds``, both on the job's dev set, and keeps the candidate with the better dev score
(``shared.training.candidates.choose``), as the orchestrator does. Reported: test micro-F1 of the kept
model per repeat, medians and ranges, steps per candidate. Arms alternate (A B A B ...) per repeat.

Usage::

    .venv/bin/python -m bench.fanout --dataset /work/shared/data/wnut17 --seconds 60 --repeats 3
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.datasets import choose_split, load_dataset
from bench.direct import run_direct
from bench.machine import machine_info, median, write_result
from bench.stack import default_service_settings


def _candidate(job: tuple[str, int, int, float, int]) -> dict[str, Any]:
    folder, seed, dev_seed, seconds, eval_frequency = job
    ds = load_dataset(Path(folder))
    train, test, _ = choose_split(ds, "auto", 0)
    # the service's documented defaults (local.settings.sample.json) for max steps and patience
    settings = default_service_settings()
    run = run_direct(
        ds,
        train,
        test,
        max_steps=int(settings["NER_TRAIN_MAX_STEPS"]),
        patience=int(settings["NER_TRAIN_PATIENCE"]),
        eval_frequency=eval_frequency,
        seed=seed,
        max_seconds=seconds,
        dev_seed=dev_seed,
    )
    return {
        "seed": seed,
        "steps": run["steps"],
        "best_dev": run["best_dev_score"],
        "f1": run["scores"]["microF1"],
        "train_seconds": round(run["train_seconds"], 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="/work/shared/data/wnut17")
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="wall-clock training budget per candidate"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--eval-frequency",
        type=int,
        default=100,
        help="NER_TRAIN_EVAL_FREQUENCY (the pick needs a dev score)",
    )
    parser.add_argument("--quick", action="store_true", help="20 s budget, 1 repeat")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.repeats = 20.0, 1
    from shared.training.candidates import choose

    load_start = list(os.getloadavg())
    rows: list[dict[str, Any]] = []
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        for repeat in range(args.repeats):
            seed = 1000 + repeat  # the job's seed; candidate n trains seed + n
            for width in (1, 2) if repeat % 2 == 0 else (2, 1):
                t0 = time.perf_counter()
                jobs = [
                    (args.dataset, seed + n, seed, args.seconds, args.eval_frequency) for n in range(width)
                ]
                candidates = pool.map(_candidate, jobs)
                kept = choose([c["best_dev"] for c in candidates])
                row = {
                    "repeat": repeat,
                    "width": width,
                    "kept": kept,
                    "f1": candidates[kept]["f1"],
                    "candidates": candidates,
                    "wall_seconds": round(time.perf_counter() - t0, 1),
                    "loadavg": list(os.getloadavg()),
                }
                rows.append(row)
                print(
                    f"repeat {repeat} width {width}: F1 {row['f1']:.3f} (kept {kept}; "
                    + ", ".join(
                        f"seed {c['seed']} dev {c['best_dev']} F1 {c['f1']:.3f} steps {c['steps']}"
                        for c in candidates
                    )
                    + f") wall {row['wall_seconds']} s, load {row['loadavg'][0]:.1f}",
                    flush=True,
                )
    summary = {}
    for width in (1, 2):
        f1s = [r["f1"] for r in rows if r["width"] == width]
        steps = [c["steps"] for r in rows if r["width"] == width for c in r["candidates"]]
        summary[width] = {
            "f1_median": median(f1s),
            "f1_range": [min(f1s), max(f1s)],
            "steps_median": median(steps),
        }
        print(
            f"width {width}: F1 median {median(f1s):.3f} (range {min(f1s):.3f}-{max(f1s):.3f}), "
            f"steps per candidate median {median(steps)}"
        )
    write_result(
        "fanout",
        {
            "command": " ".join(sys.argv),
            "args": vars(args),
            "rows": rows,
            "summary": summary,
            "machine": {**machine_info(), "loadavg_at_start": load_start},
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
