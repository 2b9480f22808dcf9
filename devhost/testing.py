"""Start the local host as a subprocess and wait until it answers: one helper for e2e tests and bench.

``python -m devhost start`` runs in a session of its own, so the host and its activity worker
processes stop (or are killed, to simulate a crash) as one group. Readiness is "this URL answers 200",
checked with the standard library so neither caller needs a particular HTTP client.

Those groups must not outlive the caller, however it ends: a pytest killed mid-run (SIGKILL, a second
Ctrl+C) runs no fixture teardown. So every group is also handed to a :class:`Reaper`, a small watcher
process that kills the groups still registered once its pipe from the caller closes, which the kernel
does when the caller dies.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from devhost.azurite import free_port

READY_TIMEOUT = 180.0
PROJECT_ROOT = Path(__file__).resolve().parents[1]

_REAPER_CODE = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
groups = set()
for line in sys.stdin:
    sign, pgid = line[0], int(line[1:])
    groups.add(pgid) if sign == "+" else groups.discard(pgid)
for pgid in groups:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
"""
"""The watcher: reads ``+pgid`` / ``-pgid`` lines; at end of input kills every group still listed."""


class Reaper:
    """Kills registered process groups when this process ends, even by SIGKILL.

    The watcher runs in a session of its own (a Ctrl+C to the terminal's process group does not reach
    it) and reads a pipe whose only writer is this process (Python's pipes are not inherited by
    children), so end of input means this process is gone or called :meth:`close`.
    """

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-c", _REAPER_CODE], stdin=subprocess.PIPE, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self._process.pid

    def _send(self, line: str) -> None:
        stdin = self._process.stdin
        if stdin is None or stdin.closed or self._process.poll() is not None:
            return
        try:
            stdin.write(line.encode())
            stdin.flush()
        except (BrokenPipeError, ValueError):
            pass

    def watch(self, pgid: int) -> None:
        """Kill process group ``pgid`` when this process ends (unless :meth:`forget` is called first)."""
        self._send(f"+{pgid}\n")

    def forget(self, pgid: int) -> None:
        """``pgid`` was stopped normally: leave it (its number may be reused by someone else's group)."""
        self._send(f"-{pgid}\n")

    def close(self, timeout: float = 10.0) -> None:
        """Kill the groups still registered now, and end the watcher."""
        if self._process.stdin is not None and not self._process.stdin.closed:
            self._process.stdin.close()
        self._process.wait(timeout=timeout)


_reaper: Reaper | None = None


def live_group_members(pgid: int) -> list[int]:
    """Pids of the processes in process group ``pgid`` that are not zombies (Linux: read from /proc)."""
    members: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...; comm may hold spaces, so split after the last ')'.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def reaper() -> Reaper:
    """This process's one watcher, started on first use."""
    global _reaper
    if _reaper is None or _reaper._process.poll() is not None:
        _reaper = Reaper()
        atexit.register(_reaper.close)  # a normal exit: what is still registered goes too, and so does the watcher
    return _reaper


@dataclass
class HostProcess:
    """One ``python -m devhost start`` subprocess."""

    endpoint: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def kill_group(self) -> None:
        """SIGKILL the host and every process of its session (activity workers included)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)
        reaper().forget(self.process.pid)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop gracefully (SIGTERM: the host stops its engine and listeners), then kill what is left."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        # Worker processes of a killed or hung host must not outlive the caller.
        self.kill_group()

    def wait_ready(
        self, path: str, *, headers: Mapping[str, str] | None = None, timeout: float = READY_TIMEOUT,
        pause: float = 0.25,
    ) -> float:
        """Poll ``GET <endpoint><path>`` until it answers 200; returns the seconds it took.

        Raises:
            RuntimeError: the host exited, or did not answer 200 within ``timeout`` (with its log tail).
        """
        began = time.monotonic()
        request = urllib.request.Request(self.endpoint + path, headers=dict(headers or {}))
        while time.monotonic() - began < timeout:
            if not self.alive():
                raise RuntimeError(f"devhost exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    if response.status == 200:
                        return time.monotonic() - began
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(pause)
        raise RuntimeError(f"devhost did not answer {path} within {timeout:.0f}s:\n{self.log_tail()}")


def spawn_host(
    app_dir: Path, env: Mapping[str, str], log_path: Path, *, workers: int = 2, port: int | None = None,
    extra_args: Sequence[str] = (),
) -> HostProcess:
    """Start ``python -m devhost start`` for ``app_dir`` on ``port`` (a free one by default), logging to
    ``log_path``; ``env`` is added to this process's environment. Does not wait (see ``start_host``)."""
    port = port or free_port()
    full_env = dict(os.environ)
    full_env.update(env)
    full_env["PYTHONPATH"] = str(PROJECT_ROOT)  # devhost itself must be importable in the subprocess
    command = [
        sys.executable, "-m", "devhost", "start", "--app-dir", str(app_dir), "--host", "127.0.0.1",
        "--port", str(port), "--no-azurite", "--workers", str(workers), *extra_args,
    ]  # fmt: skip
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    reaper().watch(process.pid)  # its own session: the group id is its pid
    return HostProcess(endpoint=f"http://127.0.0.1:{port}", port=port, log_path=log_path, process=process)


def start_host(
    app_dir: Path, env: Mapping[str, str], log_path: Path, *, ready_path: str,
    ready_headers: Mapping[str, str] | None = None, workers: int = 2, port: int | None = None,
    timeout: float = READY_TIMEOUT,
) -> HostProcess:
    """``spawn_host`` and wait until ``ready_path`` answers 200; the host is stopped if it never does."""
    host = spawn_host(app_dir, env, log_path, workers=workers, port=port)
    try:
        host.wait_ready(ready_path, headers=ready_headers, timeout=timeout)
    except BaseException:
        host.stop()
        raise
    return host
