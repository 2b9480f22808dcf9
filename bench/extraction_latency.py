"""Latency and throughput of entity-extraction jobs on the local host (``/language/analyze-text/jobs``).

A private stack (Azurite + ``devhost`` with ``--workers``, see bench/stack.py) gets the generated sample
project, trains it (``NER_TRAIN_MAX_STEPS``, default 300) and deploys the model as ``prod``. With
``--deploy job`` (default) that is ``PUT .../deployments/prod`` and its deployment job, which loads the
model into the worker that runs it; with ``--deploy row`` the deployment row is written in-process with the
deployments service (``plan_deployment`` + ``commit_deployment``), so no worker has the model and the first
job after the deploy is fully *cold*. Then:

- latency: ``--jobs`` sequential jobs of 25 sample documents each (one ``CustomEntityRecognition`` task,
  submit -> the first status read that says ``succeeded``, polled every 20 ms); the first job is reported
  apart (cold), the others as p50/p99/min/max (warm);
- throughput: ``--concurrent`` jobs of 25 documents submitted at once; documents/s and words/s over the
  whole burst (submit of the first -> last one succeeded), and per worker (divided by ``--workers``).

Usage: ``.venv/bin/python -m bench.extraction_latency [--jobs 30] [--concurrent 8] [--workers 2]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from bench.client import BENCH_KEY, ServiceClient
from bench.machine import percentile, write_result
from bench.stack import Stack, default_service_settings

RUNTIME_PATH = "/language/analyze-text/jobs"
POLL = 0.02


def _job_body(project: str, documents: list[Any]) -> dict[str, Any]:
    return {
        "analysisInput": {"documents": [{"id": d.location, "text": d.text, "language": "en"} for d in documents]},
        "tasks": [{"kind": "CustomEntityRecognition", "taskName": "po",
                   "parameters": {"projectName": project, "deploymentName": "prod"}}],
    }


def run_job(session: requests.Session, endpoint: str, body: dict[str, Any]) -> float:
    """Submit a job and poll it to succeeded; returns seconds from submit to the succeeded read."""
    t0 = time.perf_counter()
    response = session.post(f"{endpoint}{RUNTIME_PATH}", params={"api-version": "2023-04-01"}, json=body, timeout=60)
    if response.status_code != 202:
        raise RuntimeError(f"submit: HTTP {response.status_code} {response.text[:300]}")
    location = response.headers["operation-location"]
    while True:
        state = session.get(location, timeout=60).json()
        if state["status"] == "succeeded":
            return time.perf_counter() - t0
        if state["status"] in {"failed", "cancelled"}:
            raise RuntimeError(f"job ended {state['status']}: {state.get('errors')}")
        time.sleep(POLL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--concurrent", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--train-steps", type=int, default=300)
    parser.add_argument("--deploy", choices=["job", "row"], default="job")
    args = parser.parse_args(argv)
    from samples.generate import generate_sample_documents
    from samples.load import load_sample
    from shared.config import load_settings
    from shared.service.deployments import commit_deployment, plan_deployment

    overrides = {"NER_TRAIN_MAX_STEPS": str(args.train_steps), "NER_TRAIN_EVAL_FREQUENCY": "50"}
    with Stack(overrides, workers=args.workers, log_name="extraction") as stack:
        project = load_sample(stack.endpoint, BENCH_KEY, stack.connection)
        client = ServiceClient(stack.endpoint)
        _, location = client.start_training(project, "m1", {"kind": "percentage", "trainingSplitPercentage": 80,
                                                            "testingSplitPercentage": 20})
        trained = client.wait(location, timeout=1800, interval=1.0)
        if trained["status"] != "succeeded":
            raise RuntimeError(f"training ended {trained['status']}")
        if args.deploy == "row":
            settings = load_settings({**default_service_settings(), **overrides,
                                      "NER_STORAGE_CONNECTION": stack.connection, "LANGUAGE_API_KEYS": BENCH_KEY})
            commit_deployment(settings, plan_deployment(settings, project, "prod", {"trainedModelLabel": "m1"}), "bench")
        else:
            response = client.session.put(f"{client.project_url(project)}/deployments/prod", params=client.params,
                                          json={"trainedModelLabel": "m1"}, timeout=60)
            if response.status_code != 202:
                raise RuntimeError(f"deploy: HTTP {response.status_code} {response.text[:300]}")
            if client.wait(response.headers["operation-location"], timeout=600)["status"] != "succeeded":
                raise RuntimeError("the deployment job did not succeed")

        documents = generate_sample_documents(documents=60)
        batches = [documents[i % 35 : i % 35 + 25] for i in range(args.jobs)]
        words = [sum(len(d.text.split()) for d in batch) for batch in batches]
        session = requests.Session()
        session.headers["Ocp-Apim-Subscription-Key"] = BENCH_KEY
        latencies = [run_job(session, stack.endpoint, _job_body(project, batch)) for batch in batches]
        cold, warm = latencies[0], latencies[1:]
        print(f"first job after deploy ({args.deploy}): {cold:.3f} s")
        print(f"warm 25-document jobs: p50 {percentile(warm, 50):.3f} s, p99 {percentile(warm, 99):.3f} s, "
              f"min {min(warm):.3f}, max {max(warm):.3f} (n={len(warm)})")

        burst = [documents[(7 * i) % 35 : (7 * i) % 35 + 25] for i in range(args.concurrent)]
        burst_words = sum(len(d.text.split()) for batch in burst for d in batch)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.concurrent) as pool:
            list(pool.map(lambda batch: run_job(session, stack.endpoint, _job_body(project, batch)), burst))
        elapsed = time.perf_counter() - t0
        docs_per_s = 25 * args.concurrent / elapsed
        words_per_s = burst_words / elapsed
        print(f"burst of {args.concurrent} jobs x 25 documents: {elapsed:.2f} s, {docs_per_s:.1f} documents/s, "
              f"{words_per_s:.0f} words/s ({docs_per_s / args.workers:.1f} documents/s and "
              f"{words_per_s / args.workers:.0f} words/s per worker)")
        write_result("extraction_latency", {
            "workers": args.workers, "train_steps": args.train_steps, "deploy": args.deploy,
            "cold_first_job_seconds": round(cold, 4),
            "warm_seconds": [round(x, 4) for x in warm],
            "warm_p50": round(percentile(warm, 50), 4), "warm_p99": round(percentile(warm, 99), 4),
            "warm_mean_words_per_job": statistics.mean(words[1:]) if len(words) > 1 else None,
            "burst": {"jobs": args.concurrent, "seconds": round(elapsed, 3), "documents_per_second": round(docs_per_s, 2),
                      "words_per_second": round(words_per_s, 1),
                      "documents_per_second_per_worker": round(docs_per_s / args.workers, 2),
                      "words_per_second_per_worker": round(words_per_s / args.workers, 1)},
        })
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
