"""Scaling with corpus size: synthetic projects (bench/synthetic.py) of 1,000, 4,000 and 16,000 documents.

For each size a fresh stack (private Azurite + local host) is started, so every process's peak RSS
(VmHWM) belongs to that size alone. Measured:
  * upload seconds (bench -> Azurite, 8 threads; informational) and ``:import`` seconds (202 -> succeeded);
  * the training job with a fixed step count (NER_TRAIN_MAX_STEPS=N, early stopping off), split into the
    orchestration's phases (splitting, converting, training, evaluating, registering) by polling its
    custom status on the host's Durable HTTP API every 0.25 s: seconds per step = training phase / N
    (it includes the chunks' checkpoint save/load), evaluation = the evaluating phase; the job's own
    start/end timestamps (1 s resolution) are recorded as well;
  * peak memory: VmHWM of the host process and of each child (activity workers), and the peak of the
    tree's summed VmRSS sampled every 0.5 s (``--sample-interval``; the host's RSS per phase too), read
    from /proc/<pid>/status.
Targets: memory at 16,000 documents <= 1.5x memory at 1,000; times roughly linear in documents.

Usage: ``.venv/bin/python -m bench.scaling [--quick] [--sizes 1000 4000 16000] [--steps N]``
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from bench.client import ServiceClient, upload_documents
from bench.machine import machine_info, ratio, write_result
from bench.memory import MemorySampler
from bench.stack import Stack
from bench.synthetic import generate_project
from bench.timeline import JobTimeline, durable_status_url, job_phase_seconds


def run_size(documents: int, args: argparse.Namespace) -> dict[str, Any]:
    container = f"syn{documents}"
    project_name = f"syn{documents}"
    t0 = time.perf_counter()
    project, files = generate_project(
        documents, seed=args.seed, project_name=project_name, container=container, generator=args.generator
    )
    generate_seconds = time.perf_counter() - t0
    overrides = {
        "NER_TRAIN_MAX_STEPS": str(args.steps),
        "NER_TRAIN_PATIENCE": str(args.steps * 10 + 1000),
        "NER_TRAIN_EVAL_FREQUENCY": str(args.eval_frequency),
    }
    out: dict[str, Any] = {
        "documents": documents,
        "characters": sum(len(v) for v in files.values()),
        "test_documents": sum(1 for d in project["assets"]["documents"] if d["dataset"] == "Test"),
        "generate_seconds": generate_seconds,
        "steps": args.steps,
    }
    with Stack(overrides, workers=args.workers, log_name=f"scaling-{documents}") as stack:
        assert stack.process is not None
        out["upload_seconds"] = upload_documents(stack.connection, container, files)
        client = ServiceClient(stack.endpoint)
        with MemorySampler(stack.process.pid, interval=args.sample_interval) as sampler:
            out["import_seconds"], _ = client.import_project(project_name, project)
            t_train = time.perf_counter()
            latency, job_url = client.start_training(project_name, "bench", {"kind": "manual"})
            timeline = JobTimeline(t_train, durable_status_url(stack.endpoint, job_url), client.session)
            job = client.wait(job_url, timeout=args.timeout, on_poll=timeline.observe)
            out["job_wall_seconds"] = time.perf_counter() - t_train
        out["train_202_seconds"] = latency
        out["status"] = job.get("status")
        out["errors"] = job.get("errors")
        out["first_seen"] = timeline.seen
        out["job_phases"] = job_phase_seconds(job)
        out["phase_seconds"] = phases = timeline.phase_seconds()
        out["last_custom_status"] = timeline.last_custom_status
        if "training" in phases:
            out["training_seconds"] = phases["training"]
            out["seconds_per_step"] = phases["training"] / args.steps
        if "evaluating" in phases:
            out["evaluation_seconds"] = phases["evaluating"]
        out["memory"] = sampler.report()
        t_import_end = t_train  # import ran from the sampler's start to the :train call
        out["memory_by_phase"] = {
            "import": sampler.peaks_between(sampler.samples[0][0] if sampler.samples else 0.0, t_import_end),
            "train_call": sampler.peaks_between(t_train, t_train + latency),  # :train until its 202
            **{name: sampler.peaks_between(a, b) for name, (a, b) in timeline.phase_windows().items()},
        }
    mem = out["memory"]
    print(
        f"  {documents:>6} docs: upload {out['upload_seconds']:.1f}s import {out['import_seconds']:.1f}s "
        f"job {out['job_wall_seconds']:.1f}s ({out['status']}) s/step {out.get('seconds_per_step')} "
        f"eval {out.get('evaluation_seconds')}s | host peak {mem['host_peak_rss_mib']} MiB, "
        f"max child peak {mem['max_child_peak_rss_mib']} MiB, tree peak {mem['peak_total_rss_mib']} MiB"
    )
    by_phase = {k: v["peak_child_rss_mib"] for k, v in out["memory_by_phase"].items()}
    print(f"         largest worker RSS by phase (MiB): {by_phase}")
    host_by_phase = {k: v["peak_host_rss_mib"] for k, v in out["memory_by_phase"].items()}
    print(f"         host RSS by phase (MiB): {host_by_phase}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 16000])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--eval-frequency", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--generator",
        choices=["samples", "bench"],
        default="samples",
        help="samples/generate.py (default) or bench/synthetic.py's own templates",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=7200)
    parser.add_argument("--sample-interval", type=float, default=0.5, help="memory sampling period, seconds")
    parser.add_argument("--quick", action="store_true", help="sizes 1000 and 4000, 40 steps")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.steps, args.eval_frequency = [1000, 4000], 40, 20
    results: dict[str, Any] = {
        "benchmark": "scaling",
        "machine": machine_info(),
        "args": vars(args),
        "sizes": [],
    }
    for documents in args.sizes:
        try:
            results["sizes"].append(run_size(documents, args))
        except Exception as exc:  # keep the sizes already measured: a large size may fail or time out
            print(f"  {documents:>6} docs: FAILED {exc!r}")
            results["sizes"].append({"documents": documents, "error": repr(exc)})
    measured = [entry for entry in results["sizes"] if "memory" in entry]
    if not measured:
        write_result("scaling", results)
        return 1
    base = measured[0]
    for entry in measured:
        factor = entry["documents"] / base["documents"]
        entry["vs_smallest"] = {
            "documents_factor": factor,
            "host_peak_ratio": ratio(
                entry["memory"]["host_peak_rss_mib"], base["memory"]["host_peak_rss_mib"]
            ),
            "max_child_peak_ratio": ratio(
                entry["memory"]["max_child_peak_rss_mib"], base["memory"]["max_child_peak_rss_mib"]
            ),
            "tree_peak_ratio": ratio(
                entry["memory"]["peak_total_rss_mib"], base["memory"]["peak_total_rss_mib"]
            ),
            "import_ratio": ratio(entry["import_seconds"], base["import_seconds"]),
            "seconds_per_step_ratio": ratio(entry.get("seconds_per_step"), base.get("seconds_per_step")),
            "evaluation_ratio": ratio(entry.get("evaluation_seconds"), base.get("evaluation_seconds")),
        }
        print(f"  {entry['documents']:>6}: x{factor:g} docs -> {entry['vs_smallest']}")
    write_result("scaling", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
