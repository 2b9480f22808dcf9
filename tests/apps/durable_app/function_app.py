"""Durable test app for the local durable engine: one orchestrator per engine feature."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import azure.durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def fanout(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Fan out ``n`` squares (optionally CPU-burning) and sum them."""
    spec = context.get_input() or {}
    n = int(spec.get("n", 5))
    burn = int(spec.get("burn", 0))
    context.set_custom_status({"phase": "processing", "chunks": n})
    tasks = [context.call_activity("square", {"value": i, "burn": burn}) for i in range(n)]
    results = yield context.task_all(tasks)
    context.set_custom_status({"phase": "done"})
    return {"total": sum(results), "n": n}


@app.orchestration_trigger(context_name="context")
def sequence(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Activities one after another (restart test: results must all survive)."""
    spec = context.get_input() or {}
    results = []
    for i in range(int(spec.get("steps", 3))):
        value = yield context.call_activity("sleepy", {"value": i, "seconds": spec.get("seconds", 0.0)})
        results.append(value)
    return results


@app.orchestration_trigger(context_name="context")
def timer_then_done(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """A short durable timer."""
    seconds = float(context.get_input() or 0.2)
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=seconds))
    return "timer fired"


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Waits for 'approve' or times out."""
    timeout = float(context.get_input() or 30)
    event = context.wait_for_external_event("approve")
    timer = context.create_timer(context.current_utc_datetime + timedelta(seconds=timeout))
    winner = yield context.task_any([event, timer])
    if winner == event:
        timer.cancel()
        return {"approved": event.result}
    return {"approved": None}


@app.orchestration_trigger(context_name="context")
def retrying(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """call_activity_with_retry over an activity that fails until its n-th attempt."""
    spec = context.get_input()
    options = df.RetryOptions(first_retry_interval_in_milliseconds=50, max_number_of_attempts=int(spec["max"]))
    try:
        result = yield context.call_activity_with_retry("flaky", options, spec)
    except Exception as exc:  # noqa: BLE001 - the orchestration reports the final failure
        return {"error": str(exc).splitlines()[0]}
    return {"result": result}


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Calls child orchestrations, one of which may fail."""
    values = context.get_input() or [1, 2]
    tasks = [context.call_sub_orchestrator("child", v) for v in values]
    try:
        results = yield context.task_all(tasks)
    except Exception as exc:  # noqa: BLE001
        return {"error": str(exc)}
    return {"results": results}


@app.orchestration_trigger(context_name="context")
def child(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Doubles its input through an activity; negative input fails."""
    value = context.get_input()
    if value < 0:
        raise ValueError(f"negative input {value}")
    doubled = yield context.call_activity("square", {"value": value, "double": True})
    return doubled


@app.orchestration_trigger(context_name="context")
def counter(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """continue_as_new until the count reaches the limit."""
    state = context.get_input() or {"count": 0, "limit": 3}
    if state["count"] >= state["limit"]:
        return state["count"]
    yield context.call_activity("square", {"value": state["count"]})
    context.continue_as_new({"count": state["count"] + 1, "limit": state["limit"]})


@app.orchestration_trigger(context_name="context")
def broken(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Fails after one activity."""
    yield context.call_activity("square", {"value": 1})
    raise ValueError("bad orchestrator")


@app.orchestration_trigger(context_name="context")
def slow_fanout(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Many slow activities (terminate mid-run)."""
    spec = context.get_input() or {}
    n = int(spec.get("n", 10))
    context.set_custom_status({"phase": "processing"})
    tasks = [context.call_activity("sleepy", {"value": i, "seconds": spec.get("seconds", 0.3)}) for i in range(n)]
    yield context.task_all(tasks)
    return "finished"


@app.orchestration_trigger(context_name="context")
def survivor(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Calls an activity whose worker process dies on the first attempt."""
    marker = context.get_input()
    result = yield context.call_activity("die_once", marker)
    return result


@app.activity_trigger(input_name="payload")
def square(payload: dict) -> int:  # the worker refuses dict[str, Any] here
    """value squared (or doubled); ``burn`` spins the CPU for that many thousand iterations."""
    acc = 0
    for i in range(int(payload.get("burn", 0)) * 1000):
        acc += i * i
    value = int(payload["value"])
    return value * 2 if payload.get("double") else value * value


@app.activity_trigger(input_name="payload")
def sleepy(payload: dict) -> int:
    """Sleeps, then returns value + 100."""
    time.sleep(float(payload.get("seconds", 0.0)))
    return int(payload["value"]) + 100


@app.activity_trigger(input_name="spec")
def flaky(spec: dict) -> str:
    """Counts attempts in a file; fails until attempt ``succeed_on``."""
    path = Path(spec["path"])
    attempts = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(attempts))
    if attempts < int(spec["succeed_on"]):
        raise RuntimeError(f"attempt {attempts} failed")
    return f"ok after {attempts}"


@app.activity_trigger(input_name="marker")
def die_once(marker: str) -> str:
    """Kills its worker process the first time (marker file absent)."""
    path = Path(marker)
    if not path.exists():
        path.write_text("died")
        os._exit(3)
    return "survived"
