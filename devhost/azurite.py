"""Find or start Azurite (the storage emulator from the project's ``node_modules``).

Used by ``python -m devhost start`` and by the test fixtures, so both start it the same way.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

DEFAULT_PORTS = {"blob": 10000, "queue": 10001, "table": 10002}
DEVELOPMENT_STORAGE = "UseDevelopmentStorage=true"


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_azurite_binary(start: Path) -> Path | None:
    """The ``azurite`` script in the nearest ``node_modules/.bin`` above ``start``."""
    for folder in [start, *start.parents]:
        candidate = folder / "node_modules" / ".bin" / "azurite"
        if candidate.exists():
            return candidate
    found = shutil.which("azurite")
    return Path(found) if found else None


class GroupWatcher(Protocol):
    """Told about each Azurite process group started and stopped (``devhost.testing.Reaper``)."""

    def watch(self, pgid: int) -> None: ...

    def forget(self, pgid: int) -> None: ...


@dataclass
class Azurite:
    """A reachable Azurite: its connection string and, if we started it, the process to stop."""

    connection_string: str
    process: subprocess.Popen[bytes] | None = None
    workdir: str | None = None
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    pid_file: Path | None = None
    watcher: GroupWatcher | None = None

    def halt(self) -> None:
        """Stop the process and keep its data (a storage outage, for fault tests; see ``restart``)."""
        if self.process is not None and self.process.poll() is None:
            # Azurite shuts down on SIGINT (Ctrl+C) but ignores SIGTERM for a long while.
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process is not None and self.watcher is not None:
            self.watcher.forget(self.process.pid)

    def restart(self, timeout: float = 30.0) -> None:
        """Start again after ``halt``: same ports, account and data folder."""
        self.process = _spawn(self.command, self.env, self.watcher)
        _wait_for_ports(self, timeout)

    def stop(self) -> None:
        self.halt()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if self.pid_file is not None:
            self.pid_file.unlink(missing_ok=True)


PID_FILE = "azurite.pid"
"""Written into the data folder of an Azurite started on the default ports, removed when it stops."""


def recorded_azurite_pid(location: Path) -> int | None:
    """The pid recorded in ``location`` if that process is still alive (an Azurite a killed run left)."""
    try:
        pid = int((location / PID_FILE).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def default_azurite_running() -> bool:
    return all(port_open(port) for port in DEFAULT_PORTS.values())


def start_azurite(
    app_dir: Path,
    *,
    default_ports: bool = False,
    location: Path | None = None,
    timeout: float = 30.0,
    watcher: GroupWatcher | None = None,
) -> Azurite:
    """Start Azurite from ``node_modules``.

    Args:
        app_dir: where to look for ``node_modules/.bin/azurite``.
        default_ports: use 10000-10002 and the well-known development account (``devhost start``);
            otherwise free ports, a fresh account with a random key and a temporary folder (tests).
        location: data folder (default: a temporary folder, removed on stop).
        timeout: seconds to wait for the three ports to accept connections.
        watcher: told the process group of every Azurite process started and stopped (tests hand
            it to a ``devhost.testing.Reaper``, so Azurite dies with them).
    """
    binary = find_azurite_binary(app_dir)
    if binary is None:
        raise RuntimeError(
            "Azurite is not installed: run `npm ci` in the project folder (it installs the pinned azurite)."
        )
    workdir = None
    if location is None:
        workdir = tempfile.mkdtemp(prefix="azurite-")
        location = Path(workdir)
    location.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if default_ports:
        ports = dict(DEFAULT_PORTS)
        connection = DEVELOPMENT_STORAGE
    else:
        ports = {name: free_port() for name in DEFAULT_PORTS}
        account = "nertest"
        key = base64.b64encode(secrets.token_bytes(32)).decode()
        env["AZURITE_ACCOUNTS"] = f"{account}:{key}"
        connection = (
            f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};"
            f"BlobEndpoint=http://127.0.0.1:{ports['blob']}/{account};"
            f"QueueEndpoint=http://127.0.0.1:{ports['queue']}/{account};"
            f"TableEndpoint=http://127.0.0.1:{ports['table']}/{account};"
        )
    command = [
        str(binary),
        "--silent",
        "--skipApiVersionCheck",
        "--loose",
        "--location", str(location),
        "--blobPort", str(ports["blob"]),
        "--queuePort", str(ports["queue"]),
        "--tablePort", str(ports["table"]),
    ]
    process = _spawn(command, env, watcher)
    pid_file = None
    if default_ports:
        # Lets a later run name this process if it outlives us (see devhost.cli's adoption rule).
        pid_file = location / PID_FILE
        pid_file.write_text(str(process.pid))
    azurite = Azurite(
        connection_string=connection, process=process, workdir=workdir, ports=ports, command=command, env=env,
        pid_file=pid_file, watcher=watcher,
    )  # fmt: skip
    _wait_for_ports(azurite, timeout)
    return azurite


def _spawn(command: list[str], env: dict[str, str], watcher: GroupWatcher | None) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    if watcher is not None:
        watcher.watch(process.pid)  # its own session: the group id is its pid
    return process


def _wait_for_ports(azurite: Azurite, timeout: float) -> None:
    process = azurite.process
    assert process is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
            azurite.stop()
            raise RuntimeError(f"Azurite exited with code {process.returncode}: {stderr.strip()}")
        if all(port_open(port) for port in azurite.ports.values()):
            return
        time.sleep(0.2)
    azurite.stop()
    raise RuntimeError(f"Azurite did not open ports {azurite.ports} within {timeout:.0f}s")
