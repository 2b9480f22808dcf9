"""Process memory from ``/proc``: peaks of the host and its worker processes while a job runs."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # the command name may contain spaces and parentheses: ppid is the 2nd field after the last ')'
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants that are alive now."""
    children = _children_map()
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def proc_memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of one process in KiB, from /proc/<pid>/status (psutil is not installed)."""
    values: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        pass
    return values


def proc_cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


@dataclass
class MemorySampler:
    """Samples the RSS of a process tree in a background thread; keeps per-process peaks (VmHWM) and the
    peak of the tree's summed RSS."""

    root: int
    interval: float = 0.5
    peak_total_rss_kib: int = 0
    per_process: dict[int, dict[str, Any]] = field(default_factory=dict)
    samples: list[tuple[float, int, int, int]] = field(default_factory=list)  # time, total, largest child, host
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        total = 0
        largest = 0
        host = 0
        for pid in process_tree(self.root):
            mem = proc_memory_kib(pid)
            if not mem:
                continue
            total += mem.get("VmRSS", 0)
            if pid != self.root:
                largest = max(largest, mem.get("VmRSS", 0))
            else:
                host = mem.get("VmRSS", 0)
            entry = self.per_process.setdefault(
                pid, {"cmd": proc_cmdline(pid)[:160], "VmHWM": 0, "VmRSS_max": 0}
            )
            entry["VmHWM"] = max(entry["VmHWM"], mem.get("VmHWM", 0))
            entry["VmRSS_max"] = max(entry["VmRSS_max"], mem.get("VmRSS", 0))
        self.peak_total_rss_kib = max(self.peak_total_rss_kib, total)
        self.samples.append((time.perf_counter(), total, largest, host))

    def peaks_between(self, start: float, end: float) -> dict[str, float]:
        """Peak summed RSS, peak single-child RSS and peak host RSS (MiB) of the samples in [start, end]
        (perf_counter)."""
        window = [(total, largest, host) for t, total, largest, host in self.samples if start <= t <= end]
        return {
            "peak_total_rss_mib": round(max((w[0] for w in window), default=0) / 1024, 1),
            "peak_child_rss_mib": round(max((w[1] for w in window), default=0) / 1024, 1),
            "peak_host_rss_mib": round(max((w[2] for w in window), default=0) / 1024, 1),
            "samples": len(window),
        }

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> MemorySampler:
        self.sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()

    def report(self) -> dict[str, Any]:
        host = self.per_process.get(self.root, {})
        workers = [v for pid, v in self.per_process.items() if pid != self.root]
        return {
            "host_peak_rss_mib": round(host.get("VmHWM", 0) / 1024, 1),
            "max_child_peak_rss_mib": round(max((w["VmHWM"] for w in workers), default=0) / 1024, 1),
            "peak_total_rss_mib": round(self.peak_total_rss_kib / 1024, 1),
            "processes": {str(pid): v for pid, v in self.per_process.items()},
        }
