"""Start the local host as a subprocess and wait until it answers: one helper for e2e tests and bench.

``python -m devhost start`` runs in a session of its own, so the host and its activity worker
processes stop (or are killed, to simulate a crash) as one group. Readiness is "this URL answers 200",
checked with the standard library so neither caller needs a particular HTTP client.
"""

from __future__ import annotations

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
