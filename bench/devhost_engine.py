"""Benchmark of the local host's durable engine (``python -m devhost start``), not a timed test.

Measures, against a private Azurite on free loopback ports and ``python -m devhost start`` as a
subprocess on a free loopback port, with the tiny app in ``bench/apps/devhost_bench``:

1. **fan-out**: wall time of an orchestration calling N (default 100) trivial activities at once, from
   ``POST /runtime/webhooks/durabletask/orchestrators/fan_out`` to the first status poll that reads
   ``Completed`` (median over ``--rounds`` x ``--repeats`` runs, a fresh host per round, the order of
   the ``--workers`` values, default 2 then 1, reversed every other round), plus the
   engine's episode count (``OrchestratorStarted`` rows in the ``<hub>History`` table; the HTTP API
   hides those events) and the ``TaskCompleted`` count from ``showHistory=true``.
2. **latency**: p50/p99/max of GETs while CPU-bound activities (worker processes spinning for
   ``--burn-seconds``; ``--burners`` of them at once, default 1 then 2) run, and the same with nothing
   running (baseline), from 1 and from 8 concurrent clients (``--clients``), with busy/idle ratios.
   Targets, one after another in each window: the Durable HTTP API status of a running instance
   (served from the engine's memory), of a completed instance (a read from the store, i.e. Azurite),
   and a plain HTTP function (``GET /api/ping``). Request counts are bounded (``--requests`` per target
   and window, shared by the clients); a busy window also stops a second before its activities end,
   so every busy request ran while the CPU was burning.

Results: a table on stdout and ``bench/results/devhost_engine-<UTC time>.json`` (git-ignored).

Run from the repository root::

    .venv/bin/python -m bench.devhost_engine --quick      # about a minute
    .venv/bin/python -m bench.devhost_engine              # 2 rounds x 3 runs, 500 requests per target
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench import machine as bench_machine
from bench.machine import ROOT
from devhost.azurite import Azurite, start_azurite
from devhost.testing import HostProcess, spawn_host

APP_DIR = ROOT / "bench" / "apps" / "devhost_bench"
RESULTS = ROOT / "bench" / "results"
LOG_DIR = RESULTS / "logs"
HUB_NAME = "DevhostBench"  # bench/apps/devhost_bench/host.json
DURABLE = "/runtime/webhooks/durabletask"
SYSTEM_KEY = "bench-system-key"  # DEVHOST_SYSTEM_KEY of the hosts started here (the Durable HTTP API needs it)
ORCHESTRATOR_STARTED = 12  # DurableTask.Core EventType
TERMINAL = ("Completed", "Failed", "Terminated")
READY_TIMEOUT = 120.0
ORCHESTRATION_TIMEOUT = 600.0
REQUEST_TIMEOUT = 60.0
TARGETS = ("status_running", "status_completed", "ping")

logger = logging.getLogger("bench.devhost_engine")


# --------------------------------------------------------------------------------------------- helpers


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-int(pct * len(ordered)) // 100)))
    return ordered[rank - 1]


def latency_stats(seconds: Sequence[float]) -> dict[str, float | int]:
    """Count, p50, p99, max and mean in milliseconds."""
    ms = [s * 1000.0 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2) if ms else float("nan"),
        "mean_ms": round(statistics.fmean(ms), 2) if ms else float("nan"),
    }


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b`` rounded, or None when either is missing or ``b`` is zero."""
    if a is None or b is None or b == 0 or a != a or b != b:  # NaN != NaN
        return None
    return round(a / b, 2)


def machine_info(argv: Sequence[str]) -> dict[str, Any]:
    """bench.machine's machine record, with this script's key names and command line."""
    info = bench_machine.machine_info()
    info["nproc"] = info.pop("cores")
    info["loadavg_at_start"] = [round(x, 2) for x in info["loadavg_at_start"]]
    info["command"] = " ".join([".venv/bin/python", "-m", "bench.devhost_engine", *argv])
    return info


# ------------------------------------------------------------------------------------------- the host


@dataclass
class DevHost:
    """One ``python -m devhost start`` subprocess (devhost.testing) and what the benchmark records of it."""

    process: HostProcess
    workers: int
    connection: str

    @property
    def endpoint(self) -> str:
        return self.process.endpoint


async def wait_ready(host: HostProcess) -> float:
    """Wait until ``GET /api/ping`` answers 200 (devhost.testing); returns the seconds it took."""
    return await asyncio.to_thread(host.wait_ready, "/api/ping", timeout=READY_TIMEOUT)


# ------------------------------------------------------------------------------- durable HTTP client


async def start_orchestration(session: aiohttp.ClientSession, endpoint: str, name: str, body: Any) -> str:
    """Start ``name`` through the Durable HTTP API; returns the instance id."""
    async with session.post(f"{endpoint}{DURABLE}/orchestrators/{name}", json=body) as response:
        text = await response.text()
        if response.status != 202:
            raise RuntimeError(f"starting {name}: HTTP {response.status} {text}")
        return str(json.loads(text)["id"])


def status_url(endpoint: str, instance_id: str) -> str:
    return f"{endpoint}{DURABLE}/instances/{instance_id}"


async def get_status(session: aiohttp.ClientSession, endpoint: str, instance_id: str,
                     **params: str) -> dict[str, Any]:
    async with session.get(status_url(endpoint, instance_id), params=params) as response:
        if response.status not in (200, 202):
            raise RuntimeError(f"status of {instance_id}: HTTP {response.status} {await response.text()}")
        body: dict[str, Any] = await response.json()
        return body


async def wait_status(
    session: aiohttp.ClientSession, endpoint: str, instance_id: str, poll: float,
    *, until: tuple[str, ...] = TERMINAL, custom_phase: str | None = None,
) -> dict[str, Any]:
    """Poll every ``poll`` seconds until the status is in ``until`` (or custom status has ``phase``)."""
    deadline = time.perf_counter() + ORCHESTRATION_TIMEOUT
    while time.perf_counter() < deadline:
        body = await get_status(session, endpoint, instance_id)
        if body["runtimeStatus"] in until:
            return body
        custom = body.get("customStatus")
        if custom_phase is not None and isinstance(custom, dict) and custom.get("phase") == custom_phase:
            return body
        if body["runtimeStatus"] in TERMINAL:
            raise RuntimeError(f"{instance_id} ended {body['runtimeStatus']}: {body.get('output')}")
        await asyncio.sleep(poll)
    raise RuntimeError(f"{instance_id} did not reach {until} / {custom_phase} in {ORCHESTRATION_TIMEOUT:.0f}s")


def count_episodes(connection: str, instance_id: str) -> int:
    """``OrchestratorStarted`` rows of the instance in the History table: one per engine episode."""
    from azure.data.tables import TableClient

    table = TableClient.from_connection_string(connection, f"{HUB_NAME}History")
    with table:
        rows = table.query_entities(
            "PartitionKey eq @pk and EventType eq @kind",
            parameters={"pk": instance_id, "kind": ORCHESTRATOR_STARTED},
            select=["RowKey"],
        )
        return sum(1 for _ in rows)


# -------------------------------------------------------------------------------------------- fan-out


async def fan_out_once(
    session: aiohttp.ClientSession, host: DevHost, n: int, poll: float
) -> dict[str, Any]:
    """One fan-out of ``n`` activities: wall time, episodes, completed tasks."""
    began = time.perf_counter()
    instance_id = await start_orchestration(session, host.endpoint, "fan_out", n)
    body = await wait_status(session, host.endpoint, instance_id, poll)
    wall = time.perf_counter() - began
    if body["runtimeStatus"] != "Completed" or body.get("output", {}).get("n") != n:
        raise RuntimeError(f"fan-out {instance_id} ended {body['runtimeStatus']}: {body.get('output')}")
    history = await get_status(session, host.endpoint, instance_id, showHistory="true")
    completed = sum(1 for e in history.get("historyEvents", []) if e.get("EventType") == "TaskCompleted")
    if completed != n:
        raise RuntimeError(f"fan-out {instance_id}: {completed} TaskCompleted events in its history, expected {n}")
    episodes = await asyncio.to_thread(count_episodes, host.connection, instance_id)
    return {"instance_id": instance_id, "wall_s": round(wall, 3), "episodes": episodes, "tasks_completed": completed}


async def fan_out_series(
    session: aiohttp.ClientSession, host: DevHost, n: int, repeats: int, poll: float, round_index: int
) -> list[dict[str, Any]]:
    """A warm-up fan-out (spawns the worker processes, not measured), then ``repeats`` measured ones."""
    await fan_out_once(session, host, max(2, 2 * host.workers), poll)
    runs = []
    for index in range(repeats):
        run = await fan_out_once(session, host, n, poll)
        run["round"] = round_index
        logger.info("fan-out n=%d workers=%d round %d run %d/%d: %.2fs, %d episodes", n, host.workers,
                    round_index + 1, index + 1, repeats, run["wall_s"], run["episodes"])
        runs.append(run)
    return runs


def summarize_fan_out(workers: int, n: int, runs: list[dict[str, Any]], ready: list[float]) -> dict[str, Any]:
    """Median, range and throughput over every round's runs of one worker count."""
    walls = [r["wall_s"] for r in runs]
    return {
        "workers": workers,
        "n": n,
        "runs": runs,
        "median_wall_s": round(statistics.median(walls), 3),
        "min_wall_s": min(walls),
        "max_wall_s": max(walls),
        "median_episodes": statistics.median([r["episodes"] for r in runs]),
        "activities_per_s": round(n / statistics.median(walls), 1),
        "host_ready_s": ready,
    }


# -------------------------------------------------------------------------------------------- latency


async def probe_target(
    session: aiohttp.ClientSession, url: str, clients: int, count: int, deadline: float | None
) -> dict[str, Any]:
    """``clients`` concurrent loops sharing ``count`` GETs of ``url``; stops early at ``deadline``.

    Returns the latencies (seconds) of the 200/202 answers, the number of other outcomes, and
    whether the deadline cut the loop.
    """
    latencies: list[float] = []
    errors = 0
    sent = 0
    stopped_early = False

    async def client() -> None:
        nonlocal sent, errors, stopped_early
        while sent < count:
            if deadline is not None and time.perf_counter() >= deadline:
                stopped_early = True
                return
            sent += 1
            began = time.perf_counter()
            try:
                async with session.get(url) as response:
                    await response.read()
                    ok = response.status in (200, 202)
            except (TimeoutError, aiohttp.ClientError):
                ok = False
            if ok:
                latencies.append(time.perf_counter() - began)
            else:
                errors += 1

    await asyncio.gather(*(client() for _ in range(clients)))
    return {"latencies": latencies, "errors": errors, "stopped_early": stopped_early}


async def probe_window(
    session: aiohttp.ClientSession, urls: dict[str, str], clients: int, count: int, deadline: float | None
) -> dict[str, Any]:
    """The targets one after another (all clients on one target at a time, so a slow target does not
    change how many requests another one sees at once); stats per target."""
    began = time.perf_counter()
    targets: dict[str, Any] = {}
    stopped_early = False
    for name, url in urls.items():
        probe = await probe_target(session, url, clients, count, deadline)
        stopped_early = stopped_early or probe["stopped_early"]
        targets[name] = {**latency_stats(probe["latencies"]), "errors": probe["errors"]}
    return {"window_s": round(time.perf_counter() - began, 3), "stopped_early": stopped_early, "targets": targets}


async def busy_window(
    session: aiohttp.ClientSession, endpoint: str, urls: dict[str, str], clients: int, burners: int,
    settings: Settings,
) -> dict[str, Any]:
    """Probe the targets while ``burners`` CPU-bound activities spin; the running instance is the burn."""
    spec = {"seconds": settings.burn_seconds, "parallel": burners}
    burn_id = await start_orchestration(session, endpoint, "burn", spec)
    await wait_status(session, endpoint, burn_id, 0.02, custom_phase="burning")
    seen = time.perf_counter()
    await asyncio.sleep(settings.settle)  # the activities reach their workers and spin
    busy_urls = {**urls, "status_running": status_url(endpoint, burn_id)}
    # Stop a second before the activities end: every measured request overlaps the burn.
    window = await probe_window(session, busy_urls, clients, settings.requests, seen + settings.burn_seconds - 1.0)
    after = await get_status(session, endpoint, burn_id)
    final = await wait_status(session, endpoint, burn_id, settings.poll)
    if final["runtimeStatus"] != "Completed":
        raise RuntimeError(f"burn {burn_id} ended {final['runtimeStatus']}: {final.get('output')}")
    window["burners"] = burners
    window["burn_still_running_at_end"] = after["runtimeStatus"] == "Running"
    window["burn_loops"] = final.get("output")
    return window


async def latency_level(
    session: aiohttp.ClientSession, host: DevHost, clients: int, settings: Settings, completed_id: str
) -> dict[str, Any]:
    """Idle baseline, then one busy window per burner count, for one client count; busy/idle ratios."""
    endpoint = host.endpoint
    # Idle: the running instance waits for an event, so its status comes from memory as in the busy case.
    idle_id = await start_orchestration(session, endpoint, "idle_wait", None)
    await wait_status(session, endpoint, idle_id, settings.poll, until=("Running",))
    urls = {
        "status_running": status_url(endpoint, idle_id),
        "status_completed": status_url(endpoint, completed_id),
        "ping": f"{endpoint}/api/ping",
    }
    await probe_window(session, urls, clients, 4 * clients, None)  # warm connections and code paths
    idle = await probe_window(session, urls, clients, settings.requests, None)
    async with session.post(f"{status_url(endpoint, idle_id)}/raiseEvent/stop", json=None) as response:
        if response.status != 202:
            raise RuntimeError(f"raising 'stop' on {idle_id}: HTTP {response.status}")
    await wait_status(session, endpoint, idle_id, settings.poll)

    busy = []
    for burners in settings.burners:
        window = await busy_window(session, endpoint, urls, clients, burners, settings)
        for name, stats in window["targets"].items():
            stats["ratio_p50"] = ratio(stats["p50_ms"], idle["targets"][name]["p50_ms"])
            stats["ratio_p99"] = ratio(stats["p99_ms"], idle["targets"][name]["p99_ms"])
        busy.append(window)
    return {"clients": clients, "idle": idle, "busy": busy}


# ----------------------------------------------------------------------------------------------- main


@dataclass
class Settings:
    quick: bool
    n: int
    repeats: int
    rounds: int
    workers: list[int]
    requests: int
    clients: list[int]
    burn_seconds: float
    burners: list[int]
    poll: float
    settle: float = 0.3


def parse_args(argv: Sequence[str]) -> Settings:
    parser = argparse.ArgumentParser(
        prog="python -m bench.devhost_engine",
        description="Local host durable engine: fan-out wall time and status latency under CPU load.",
    )
    parser.add_argument("--quick", action="store_true",
                        help="fewer rounds, runs and requests (about a minute)")
    parser.add_argument("--n", type=int, default=100, help="activities in the fan-out (default 100)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="measured fan-out runs per host (default 3; quick 2)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds over the worker counts, order reversed every other round (default 2: "
                             "A B B A; quick 1)")
    parser.add_argument("--workers", default="2,1",
                        help="comma-separated --workers values for the fan-out; the first also runs the "
                             "latency part (default 2,1)")
    parser.add_argument("--requests", type=int, default=None,
                        help="requests per target per window, shared by the clients (default 500; quick 200)")
    parser.add_argument("--clients", default="1,8", help="comma-separated concurrent client counts (default 1,8)")
    parser.add_argument("--burn-seconds", type=float, default=10.0,
                        help="duration of the CPU-bound activity (default 10)")
    parser.add_argument("--burners", default="1,2",
                        help="comma-separated numbers of CPU-bound activities running at once, one busy window "
                             "each (default 1,2: one core, then both workers of --workers 2)")
    parser.add_argument("--poll", type=float, default=0.02, help="status poll interval in seconds (default 0.02)")
    args = parser.parse_args(argv)
    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    clients = [int(c) for c in args.clients.split(",") if c.strip()]
    burners = [int(b) for b in args.burners.split(",") if b.strip()]
    if not workers or min(workers) < 1:
        parser.error("--workers: give one or more positive integers, e.g. 2,1")
    if not clients or min(clients) < 1:
        parser.error("--clients: give one or more positive integers, e.g. 1,8")
    if not burners or min(burners) < 1:
        parser.error("--burners: give one or more positive integers, e.g. 1,2")
    if max(burners) > workers[0]:
        parser.error(f"--burners: at most {workers[0]} (the first --workers value); more would queue")
    if args.burn_seconds < 3:
        parser.error("--burn-seconds: must be at least 3 (a busy window ends a second before the burn)")
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds: must be at least 1")
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats: must be at least 1")
    if args.requests is not None and args.requests < 1:
        parser.error("--requests: must be at least 1")
    if args.n < 1:
        parser.error("--n: must be at least 1")
    return Settings(
        quick=args.quick,
        n=args.n,
        repeats=args.repeats if args.repeats is not None else (2 if args.quick else 3),
        rounds=args.rounds if args.rounds is not None else (1 if args.quick else 2),
        workers=workers,
        requests=args.requests if args.requests is not None else (200 if args.quick else 500),
        clients=clients,
        burn_seconds=args.burn_seconds,
        burners=burners,
        poll=args.poll,
    )


async def run(settings: Settings, azurite: Azurite) -> dict[str, Any]:
    """Fan-out for every worker count over ``rounds`` (order reversed every other round: A B B A);
    latency once, on the first host of the first worker count."""
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    runs: dict[int, list[dict[str, Any]]] = {w: [] for w in settings.workers}
    ready: dict[int, list[float]] = {w: [] for w in settings.workers}
    latency: list[dict[str, Any]] = []
    # One connection per client: a pool as large as the largest client count.
    connector = aiohttp.TCPConnector(limit=max(settings.clients) + 2)
    async with aiohttp.ClientSession(
        timeout=timeout, connector=connector, headers={"x-functions-key": SYSTEM_KEY}
    ) as session:
        for round_index in range(settings.rounds):
            order = settings.workers if round_index % 2 == 0 else list(reversed(settings.workers))
            for workers in order:
                log = LOG_DIR / f"devhost_engine-w{workers}-r{round_index + 1}.log"
                connection = azurite.connection_string
                env = {"AzureWebJobsStorage": connection, "DEVHOST_SYSTEM_KEY": SYSTEM_KEY}
                host = DevHost(spawn_host(APP_DIR, env, log, workers=workers), workers, connection)
                try:
                    seconds = await wait_ready(host.process)
                    ready[workers].append(round(seconds, 2))
                    logger.info("host (workers=%d) ready in %.1fs on %s", workers, seconds, host.endpoint)
                    series = await fan_out_series(
                        session, host, settings.n, settings.repeats, settings.poll, round_index
                    )
                    runs[workers].extend(series)
                    if round_index == 0 and workers == settings.workers[0]:
                        completed_id = series[-1]["instance_id"]
                        for clients in settings.clients:
                            latency.append(await latency_level(session, host, clients, settings, completed_id))
                            logger.info("latency clients=%d done", clients)
                finally:
                    host.process.stop()
    fan_out = {f"workers={w}": summarize_fan_out(w, settings.n, runs[w], ready[w]) for w in settings.workers}
    first = f"workers={settings.workers[0]}"
    ratios = {
        key: ratio(value["median_wall_s"], fan_out[first]["median_wall_s"]) for key, value in fan_out.items()
    }
    return {"fan_out": fan_out, "fan_out_wall_ratio_vs_" + first: ratios, "latency": latency}


def format_table(result: dict[str, Any]) -> str:
    """The compact human summary (markdown tables, ready for BENCHMARKS.md)."""
    settings = result["settings"]
    machine = result["machine"]
    lines = [
        f"devhost durable engine: {machine['date_utc']}, nproc {machine['nproc']}, {machine['memory_gib']} GiB, "
        f"load avg at start {machine['loadavg_at_start']} / end {machine['loadavg_at_end']}, "
        f"commit {machine['git_commit']}",
        f"command: {machine['command']}",
        "",
        f"Fan-out of {settings['n']} trivial activities, median of {settings['rounds']} round(s) x "
        f"{settings['repeats']} runs (a fresh host per round, order reversed every other round, one warm-up "
        f"run each; POST start -> first status poll reading Completed, polled every "
        f"{settings['poll'] * 1000:.0f} ms):",
        "",
        "| --workers | median wall s | min-max s | activities/s | episodes | x workers="
        f"{settings['workers'][0]} |",
        "|---|---|---|---|---|---|",
    ]
    ratio_key = next(k for k in result if k.startswith("fan_out_wall_ratio_vs_"))
    for key, series in result["fan_out"].items():
        lines.append(
            f"| {series['workers']} | {series['median_wall_s']:.2f} | {series['min_wall_s']:.2f}-"
            f"{series['max_wall_s']:.2f} | {series['activities_per_s']} | {series['median_episodes']:g} | "
            f"{result[ratio_key][key]} |"
        )
    lines += [
        "",
        f"Request latency in ms, host --workers {settings['workers'][0]}: idle vs while N CPU-bound activities "
        f"spin (each {settings['burn_seconds']:g} s, one per worker process); up to {settings['requests']} "
        "requests per target and window, shared by the clients; targets one after another:",
        "",
        "| clients | target | load | n | p50 | p99 | max | p50 x idle | p99 x idle |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for level in result["latency"]:
        for name in level["idle"]["targets"]:
            idle = level["idle"]["targets"][name]
            lines.append(
                f"| {level['clients']} | {name} | idle | {idle['n']} | {idle['p50_ms']:.1f} | {idle['p99_ms']:.1f} | "
                f"{idle['max_ms']:.1f} | | |"
            )
            for window in level["busy"]:
                busy = window["targets"][name]
                lines.append(
                    f"| {level['clients']} | {name} | {window['burners']} busy | {busy['n']} | {busy['p50_ms']:.1f} | "
                    f"{busy['p99_ms']:.1f} | {busy['max_ms']:.1f} | {busy['ratio_p50']} | {busy['ratio_p99']} |"
                )
    notes = []
    for level in result["latency"]:
        windows = [level["idle"], *level["busy"]]
        errors = sum(t["errors"] for w in windows for t in w["targets"].values())
        cut = any(w["stopped_early"] for w in level["busy"])
        overlap = all(w["burn_still_running_at_end"] for w in level["busy"])
        notes.append(
            f"clients={level['clients']}: windows " + ", ".join(f"{w['window_s']:.1f}s" for w in windows)
            + f" (idle, busy...); a busy window cut at the burn's end: {cut}; burn running after every busy "
            f"window: {overlap}; errors {errors}"
        )
    lines += ["", *notes, f"total run {result['total_s']:.0f}s"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: start Azurite, run the benchmark, print the table and write the JSON."""
    args = list(sys.argv[1:] if argv is None else argv)
    settings = parse_args(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("azure").setLevel(logging.WARNING)
    machine = machine_info(args)
    began = time.perf_counter()
    azurite = start_azurite(ROOT)
    try:
        measured = asyncio.run(run(settings, azurite))
    finally:
        azurite.stop()
    machine["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result: dict[str, Any] = {
        "benchmark": "devhost_engine",
        "machine": machine,
        "settings": {k: v for k, v in vars(settings).items()},
        **measured,
        "total_s": round(time.perf_counter() - began, 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    # one file per run, like the other scripts, so a later run does not overwrite the figures quoted
    result_path = RESULTS / f"devhost_engine-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    result_path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    sys.stdout.write(format_table(result) + f"\n\nresult written to {result_path.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
