"""Memory of a local-host activity worker as deployments are added: 1 to 10 deployed model versions.

A private stack (Azurite + ``devhost`` with ONE activity worker, so every training, deployment and
extraction activity runs in the same process) gets the generated sample project and trains ``--models``
labels (``m1`` ... ``mN``, a short run each: ``--train-steps``), i.e. N distinct model versions. Then, for
i = 1..N: ``PUT .../deployments/d<i>`` with ``m<i>`` (its deployment job loads the model into the worker),
one 25-document extraction job against ``d<i>``, and the worker's VmRSS is read from /proc. The baseline
is the worker's RSS after all training and before the first deployment (training leaves its own
allocations behind, so this is the figure deployments add to). ``--cache-size`` sets
``NER_MODEL_CACHE_SIZE`` (the per-worker bound on loaded models; default of the service: 4).

Usage: ``.venv/bin/python -m bench.extraction_host_memory [--models 10] [--cache-size 10]``
"""

from __future__ import annotations

import argparse
from typing import Any

import requests

from bench.client import BENCH_KEY, ServiceClient
from bench.extraction_latency import RUNTIME_PATH, run_job
from bench.machine import write_result
from bench.memory import proc_cmdline, proc_memory_kib, process_tree
from bench.stack import Stack

SPLIT = {"kind": "percentage", "trainingSplitPercentage": 80, "testingSplitPercentage": 20}


def worker_pids(stack: Stack) -> list[int]:
    """The host's activity worker processes (spawned children; not multiprocessing's resource tracker)."""
    assert stack.process is not None
    return [pid for pid in process_tree(stack.process.pid)[1:] if "spawn_main" in proc_cmdline(pid)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--cache-size", type=int, default=10)
    parser.add_argument("--train-steps", type=int, default=60)
    args = parser.parse_args(argv)
    from samples.generate import generate_sample_documents
    from samples.load import load_sample

    overrides = {
        "NER_TRAIN_MAX_STEPS": str(args.train_steps),
        "NER_TRAIN_EVAL_FREQUENCY": "20",
        "NER_MODEL_CACHE_SIZE": str(args.cache_size),
    }
    with Stack(overrides, workers=1, log_name="extraction_memory_host") as stack:
        project = load_sample(stack.endpoint, BENCH_KEY, stack.connection)
        client = ServiceClient(stack.endpoint)
        for i in range(1, args.models + 1):
            _, location = client.start_training(project, f"m{i}", SPLIT)
            if client.wait(location, timeout=1800, interval=0.5)["status"] != "succeeded":
                raise RuntimeError(f"training m{i} did not succeed")
        (worker,) = worker_pids(stack)
        baseline = proc_memory_kib(worker)["VmRSS"] / 1024
        print(f"worker {worker}: {baseline:.0f} MiB after training {args.models} models, before any deployment")
        documents = generate_sample_documents(documents=25)
        session = requests.Session()
        session.headers["Ocp-Apim-Subscription-Key"] = BENCH_KEY
        rows: list[dict[str, Any]] = []
        for i in range(1, args.models + 1):
            response = client.session.put(f"{client.project_url(project)}/deployments/d{i}", params=client.params,
                                          json={"trainedModelLabel": f"m{i}"}, timeout=60)  # fmt: skip
            if response.status_code != 202 or client.wait(response.headers["operation-location"])["status"] != "succeeded":
                raise RuntimeError(f"deployment d{i} did not succeed: {response.status_code} {response.text[:200]}")
            body = {
                "analysisInput": {"documents": [{"id": d.location, "text": d.text, "language": "en"} for d in documents]},
                "tasks": [{"kind": "CustomEntityRecognition", "taskName": "t",
                           "parameters": {"projectName": project, "deploymentName": f"d{i}"}}],
            }  # fmt: skip
            seconds = run_job(session, stack.endpoint, body)
            memory = proc_memory_kib(worker)
            if worker_pids(stack) != [worker]:
                raise RuntimeError("the activity worker was replaced during the run")
            rows.append({"deployments": i, "rss_mib": round(memory["VmRSS"] / 1024, 1),
                         "peak_mib": round(memory["VmHWM"] / 1024, 1), "job_seconds": round(seconds, 3)})  # fmt: skip
            print(f"{i:2d} deployments: worker RSS {rows[-1]['rss_mib']} MiB (+{rows[-1]['rss_mib'] - baseline:.1f}),"
                  f" peak {rows[-1]['peak_mib']} MiB, extraction job {seconds:.2f} s")  # fmt: skip
    write_result("extraction_host_memory", {"args": vars(args), "path": RUNTIME_PATH,
                                            "baseline_rss_mib": round(baseline, 1), "rows": rows})  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
