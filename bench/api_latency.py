"""API latency under load, loopback only (127.0.0.1), bounded request counts.

1. ``:train`` -> 202 latency: ``--train-requests`` jobs are started one after the other (each is
   cancelled and waited for before the next, since a project has one training slot).
2. Status latency while training: 32 concurrent pollers (``--pollers``), each issuing
   ``--requests`` ``GET .../train/jobs/{id}`` calls while a job is in training (NER_TRAIN_MAX_STEPS and
   patience set high so it keeps training); p50/p90/p99/max. Two load shapes:
   * paced: each poller sends one request every ``--interval`` seconds (default 1 s, fixed-rate, the
     pollers' start times staggered evenly over one interval), like 32 clients watching jobs;
   * saturated: each poller sends its next request as soon as the previous answer arrives (closed
     loop), which measures throughput; its latency is mostly queueing (32 x the service time).
3. The same status loads once no job is running (idle baseline), so the cost of training next to the
   HTTP server shows.

The client (aiohttp, one event loop) runs on the same machine as the host, so its own CPU use is
included in the latencies.

Usage: ``.venv/bin/python -m bench.api_latency [--quick] [folder]``
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench.client import BENCH_KEY, ServiceClient, upload_documents
from bench.datasets import choose_split, load_dataset, manual_project_json
from bench.machine import DATA_ROOT, machine_info, median, percentile, write_result
from bench.stack import Stack
from bench.timeline import durable_status_url


async def _poll_load(url: str, pollers: int, requests_each: int, interval: float = 0.0) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    errors: dict[str, int] = {}
    start = time.perf_counter()

    async def poller(session: aiohttp.ClientSession, index: int) -> None:
        offset = interval * index / pollers
        for k in range(requests_each):
            if interval > 0:  # fixed-rate schedule: a slow answer does not lower the offered load
                delay = start + offset + k * interval - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            t0 = time.perf_counter()
            try:
                async with session.get(url) as response:
                    await response.read()
                    status = response.status
            except aiohttp.ClientError as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                continue
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                errors[str(status)] = errors.get(str(status), 0) + 1

    connector = aiohttp.TCPConnector(limit=pollers)
    timeout = aiohttp.ClientTimeout(total=60)
    headers = {"Ocp-Apim-Subscription-Key": BENCH_KEY}
    t0 = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers) as session:
        await asyncio.gather(*(poller(session, i) for i in range(pollers)))
    elapsed = time.perf_counter() - t0
    ms = [v * 1000 for v in latencies]
    return {
        "pollers": pollers,
        "interval_seconds": interval,
        "requests": len(latencies),
        "errors": errors,
        "seconds": elapsed,
        "throughput_rps": len(latencies) / elapsed if elapsed else None,
        "p50_ms": percentile(ms, 50),
        "p90_ms": percentile(ms, 90),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else None,
    }


def summary(load: dict[str, Any]) -> str:
    return (
        f"p50 {load['p50_ms']:.1f} ms, p99 {load['p99_ms']:.1f} ms, max {load['max_ms']:.1f} ms, "
        f"{load['requests']} requests, {load['throughput_rps']:.0f}/s, errors {load['errors']}"
    )


def training_status(client: ServiceClient, url: str) -> str:
    job = client.get_job(url)
    training = ((job.get("result") or {}).get("trainingStatus") or {}).get("status")
    return f"{job.get('status')}/{training}"


def wait_until_training(client: ServiceClient, url: str, timeout: float = 600) -> float:
    """Seconds until the orchestration's custom status says phase "training" (split and conversion
    done; the job's public trainingStatus already says running during those)."""
    durable = durable_status_url(client.endpoint, url)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        job = client.get_job(url)
        if job.get("status") in {"succeeded", "failed", "cancelled"}:
            raise RuntimeError(f"job ended {job.get('status')} before training: {job.get('errors')}")
        response = client.session.get(durable, timeout=30)
        custom = response.json().get("customStatus") if response.status_code in (200, 202) else None
        if isinstance(custom, dict) and custom.get("phase") == "training":
            return time.perf_counter() - t0
        time.sleep(0.25)
    raise TimeoutError("job did not start training")


def cancel_and_wait(client: ServiceClient, url: str) -> dict[str, Any]:
    client.cancel(url)
    return client.wait(url, timeout=600)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DATA_ROOT / "wnut17")
    parser.add_argument("--project-file", type=Path)
    parser.add_argument("--pollers", type=int, default=32)
    parser.add_argument("--requests", type=int, default=50, help="sequential requests per poller")
    parser.add_argument(
        "--interval", type=float, default=1.0, help="seconds between a paced poller's requests"
    )
    parser.add_argument("--train-requests", type=int, default=5, help=":train calls to time")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="15 requests per poller, 3 :train calls")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.train_requests = 15, 3

    ds = load_dataset(args.folder, args.project_file)
    train, test, split_desc = choose_split(ds, "auto", 0)
    overrides = {"NER_TRAIN_MAX_STEPS": "1000000", "NER_TRAIN_PATIENCE": "1000000"}
    out: dict[str, Any] = {
        "benchmark": "api_latency",
        "machine": machine_info(),
        "args": vars(args),
        "dataset": ds.name,
        "service_settings_overrides": overrides,
    }
    with Stack(overrides, workers=args.workers, log_name="latency") as stack:
        client = ServiceClient(stack.endpoint)
        container = f"bench-{uuid.uuid4().hex[:10]}"
        upload_documents(stack.connection, container, ds.data)
        project = "bench-latency"
        client.import_project(project, manual_project_json(ds, project, container, train, test))

        train_latencies: list[float] = []
        load_runs: list[dict[str, Any]] = []
        job_url = ""
        for i in range(args.train_requests):
            latency, job_url = client.start_training(project, f"m{i}", {"kind": "manual"})
            train_latencies.append(latency * 1000)
            print(f"  :train -> 202 in {latency * 1000:.1f} ms")
            if i == 0:
                to_training = wait_until_training(client, job_url)
                for shape, interval in (("paced", args.interval), ("saturated", 0.0)):
                    before = training_status(client, job_url)
                    load = asyncio.run(_poll_load(job_url, args.pollers, args.requests, interval))
                    load["job_status_before"], load["job_status_after"] = (
                        before,
                        training_status(client, job_url),
                    )
                    load["seconds_to_training"] = to_training
                    load["shape"] = shape
                    load_runs.append(load)
                    print(
                        f"  status under training, {shape} ({before} -> {load['job_status_after']}):",
                        summary(load),
                    )
            final = cancel_and_wait(client, job_url)
            if final.get("status") != "cancelled":
                print(f"  warning: job ended {final.get('status')} instead of cancelled")
        idle_runs = []
        for shape, interval in (("paced", args.interval), ("saturated", 0.0)):
            idle = asyncio.run(_poll_load(job_url, args.pollers, args.requests, interval))
            idle["job_status"] = training_status(client, job_url)
            idle["shape"] = shape
            idle_runs.append(idle)
            print(
                f"  status idle, {shape}: p50 {idle['p50_ms']:.1f} ms, p99 {idle['p99_ms']:.1f} ms, "
                f"max {idle['max_ms']:.1f} ms, {idle['throughput_rps']:.0f}/s"
            )

    out["train_202_ms"] = {
        "values": train_latencies,
        "median": median(train_latencies),
        "max": max(train_latencies) if train_latencies else None,
    }
    out["status_under_training"] = {run["shape"]: run for run in load_runs}
    out["status_idle"] = {run["shape"]: run for run in idle_runs}
    write_result("api_latency", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
