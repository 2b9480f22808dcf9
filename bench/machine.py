"""Machine record, result files and small statistics: what every benchmark writes."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DATA_ROOT = ROOT.parent / "shared" / "data"


def machine_info() -> dict[str, Any]:
    """Cores, memory, load and versions: recorded with every result."""
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    try:
        import spacy

        spacy_version = spacy.__version__
    except ImportError:  # pragma: no cover - the venv has it
        spacy_version = "?"
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cores": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "loadavg_at_start": list(os.getloadavg()),
        "python": platform.python_version(),
        "spacy": spacy_version,
        "git_commit": commit,
        "command": " ".join([Path(sys.executable).name, "-m", _module_name(), *sys.argv[1:]]),
    }


def _module_name() -> str:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name:
        return str(spec.name)
    return Path(sys.argv[0]).with_suffix("").name


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (plus machine info and end-of-run load) to ``bench/results/<name>-<time>.json``.

    Runs finishing in the same second (parallel processes of one benchmark) get ``-2``, ``-3``... rather
    than overwriting each other's file: the file is created exclusively.
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path, copy = RESULTS / f"{name}-{stamp}.json", 1
    while True:
        try:
            with path.open("x", encoding="utf-8"):
                break
        except FileExistsError:
            copy += 1
            path = RESULTS / f"{name}-{stamp}-{copy}.json"
    payload = dict(payload)
    payload.setdefault("machine", machine_info())
    payload["machine"]["loadavg_at_end"] = list(os.getloadavg())
    path.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
    print(f"\nresult written to {path.relative_to(ROOT)}")
    return path


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100); NaN for an empty list."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-pct * len(ordered) // 100))))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b
