"""Job overhead: wall time of a training job (``:train`` -> succeeded, through the local host) divided by
the wall time of the same work done directly in one Python process.

Direct = read and decode the documents from disk, carve the dev set, build DocBins, ``init_checkpoint``,
ONE ``train_chunk`` with no time budget for exactly N steps, best model, predict and score the test
documents (shared/ner/training.py + evaluation.py, no orchestration, no storage, no polling).
Job = the same N steps (NER_TRAIN_MAX_STEPS=N, early stopping disabled with NER_TRAIN_PATIENCE > N on both
sides) through the service: split activity, conversion, checkpointed chunks of NER_TRAIN_CHUNK_SECONDS,
storage in Azurite, evaluation fan-out, registration, plus the bench's own polling every 0.25 s.
The ratio is the price of orchestration. Runs alternate job, direct, job, direct ...; medians reported.

N: ``--steps``, or calibrated from ``--train-seconds`` (default 150 s of training, the target is about
jobs training >= 2 minutes) with a short in-process probe.

Usage: ``.venv/bin/python -m bench.job_overhead [--quick] [--repeats N] [--steps N] [folder]``
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench.client import ServiceClient, upload_documents
from bench.datasets import choose_split, load_dataset, manual_project_json
from bench.direct import probe_steps_per_second, run_direct
from bench.machine import DATA_ROOT, machine_info, median, ratio, write_result
from bench.stack import Stack, default_service_settings
from bench.timeline import service_train_and_evaluate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DATA_ROOT / "wnut17")
    parser.add_argument("--project-file", type=Path)
    parser.add_argument("--steps", type=int, help="training steps on both sides (default: calibrated)")
    parser.add_argument(
        "--train-seconds", type=float, default=150.0, help="target training time when calibrating"
    )
    parser.add_argument("--probe-seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", choices=["auto", "keep", "seeded"], default="auto")
    parser.add_argument("--eval-frequency", type=int)
    parser.add_argument("--chunk-seconds", type=float)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="about 20 s of training per run")
    args = parser.parse_args(argv)
    if args.quick:
        args.train_seconds, args.probe_seconds = 20.0, 5.0

    ds = load_dataset(args.folder, args.project_file)
    train, test, split_desc = choose_split(ds, args.split, args.seed)
    settings = default_service_settings()
    eval_frequency = int(args.eval_frequency or settings["NER_TRAIN_EVAL_FREQUENCY"])
    probe = None
    steps = args.steps
    if steps is None:
        probe = probe_steps_per_second(
            ds, train, seconds=args.probe_seconds, eval_frequency=eval_frequency, seed=args.seed
        )
        steps = max(eval_frequency, int(probe["steps_per_second"] * args.train_seconds))
    patience = steps + eval_frequency + 1  # never stop early: both sides run exactly `steps` steps
    overrides = {
        "NER_TRAIN_MAX_STEPS": str(steps),
        "NER_TRAIN_PATIENCE": str(patience),
        "NER_TRAIN_EVAL_FREQUENCY": str(eval_frequency),
    }
    if args.chunk_seconds:
        overrides["NER_TRAIN_CHUNK_SECONDS"] = str(args.chunk_seconds)
    print(f"{ds.name}: {len(train)} train / {len(test)} test, {steps} steps (probe {probe})")

    out: dict[str, Any] = {
        "benchmark": "job_overhead",
        "machine": machine_info(),
        "args": vars(args),
        "dataset": ds.name,
        "split": split_desc,
        "steps": steps,
        "probe": probe,
        "service_settings": {**settings, **overrides},
        "runs": [],
    }
    with Stack(overrides, workers=args.workers, log_name="overhead") as stack:
        client = ServiceClient(stack.endpoint)
        container = f"bench-{uuid.uuid4().hex[:10]}"
        upload_documents(stack.connection, container, ds.data)
        for repeat in range(args.repeats):
            project = f"bench-overhead-{repeat}"
            import_seconds, _ = client.import_project(
                project, manual_project_json(ds, project, container, train, test)
            )
            job = service_train_and_evaluate(client, project)
            job.pop("summary", None)
            job.update(repeat=repeat, import_seconds=import_seconds)
            out["runs"].append(job)
            print(f"  [job {repeat}] {job['status']} wall {job['wall_seconds']:.1f}s F1 {job.get('scores')}")

            t0 = time.perf_counter()
            fresh = load_dataset(args.folder, args.project_file)  # reading the documents is part of the work
            read_seconds = time.perf_counter() - t0
            direct = run_direct(
                fresh,
                train,
                test,
                max_steps=steps,
                patience=patience,
                eval_frequency=eval_frequency,
                seed=args.seed,
            )
            direct["read_seconds"] = read_seconds
            direct["wall_seconds"] += read_seconds
            direct["repeat"] = repeat
            out["runs"].append(direct)
            print(
                f"  [direct {repeat}] {direct['steps']} steps wall {direct['wall_seconds']:.1f}s "
                f"(train {direct['train_seconds']:.1f}s) F1 {direct['scores']['microF1']:.4f}"
            )

    jobs = [r["wall_seconds"] for r in out["runs"] if r["side"] == "service" and r["status"] == "succeeded"]
    directs = [r["wall_seconds"] for r in out["runs"] if r["side"] == "direct"]
    out["median_job_seconds"] = median(jobs) if jobs else None
    out["median_direct_seconds"] = median(directs) if directs else None
    out["overhead_ratio"] = ratio(out["median_job_seconds"], out["median_direct_seconds"])
    print(
        f"\noverhead ratio (job / direct, medians): {out['overhead_ratio']}  "
        f"job {out['median_job_seconds']}s, direct {out['median_direct_seconds']}s"
    )
    write_result("job_overhead", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
