"""Tiny Durable Functions app for ``bench/devhost_engine.py``: a fan-out of trivial activities, one
CPU-bound activity of a given duration, and a plain HTTP route (the latency probe)."""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="ping", methods=["GET"])
def ping(req: func.HttpRequest) -> func.HttpResponse:
    """A plain HTTP function that does no I/O: its latency is the host's own overhead."""
    return func.HttpResponse("pong", mimetype="text/plain")


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, int]]:
    """Call ``n`` trivial activities at once and wait for all of them."""
    n = int(context.get_input() or 100)
    results = yield context.task_all([context.call_activity("echo", i) for i in range(n)])
    return {"n": n, "total": sum(results)}


@app.orchestration_trigger(context_name="context")
def burn(context: df.DurableOrchestrationContext) -> Generator[Any, Any, list[int]]:
    """Run ``parallel`` CPU-bound activities of ``seconds`` each; custom status says when they start."""
    spec = context.get_input() or {}
    seconds = float(spec.get("seconds", 10.0))
    parallel = int(spec.get("parallel", 1))
    # Set before the yield: the status shows "burning" once the episode scheduling the work committed.
    context.set_custom_status({"phase": "burning", "seconds": seconds, "parallel": parallel})
    results = yield context.task_all([context.call_activity("burn_cpu", seconds) for _ in range(parallel)])
    context.set_custom_status({"phase": "done"})
    return list(results)


@app.orchestration_trigger(context_name="context")
def idle_wait(context: df.DurableOrchestrationContext) -> Generator[Any, Any, str]:
    """Stay Running (no work at all) until the ``stop`` event: the baseline's running instance."""
    yield context.wait_for_external_event("stop")
    return "stopped"


@app.activity_trigger(input_name="value")
def echo(value: int) -> int:
    """Trivial activity: its cost is the engine's scheduling and result delivery."""
    return int(value)


@app.activity_trigger(input_name="seconds")
def burn_cpu(seconds: float) -> int:
    """Spin the CPU (pure Python, holds this worker's GIL) for ``seconds``; returns the loop count."""
    deadline = time.perf_counter() + float(seconds)
    loops = 0
    acc = 0
    while time.perf_counter() < deadline:
        for i in range(10_000):
            acc += i * i
        loops += 1
    return loops
