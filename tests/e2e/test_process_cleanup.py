"""A test run killed mid-way leaves no local host, activity worker or Azurite behind.

A "pytest-like" parent starts Azurite and a host of the durable test app (with its activity worker
processes) exactly as the fixtures do, then is killed with SIGKILL, so none of its clean-up code runs.
Every process of those groups must be gone soon after.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.testing import live_group_members, reaper
from tests.e2e.conftest import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
WAIT = 60.0
"""Upper bound for "eventually" (never asserted as a duration)."""

PARENT = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from devhost.azurite import start_azurite
    from devhost.testing import reaper, start_host

    root, work = Path(sys.argv[1]), Path(sys.argv[2])
    azurite = start_azurite(root, location=work / "azurite", watcher=reaper(), timeout=180)  # data in tmp_path
    env = {"AzureWebJobsStorage": azurite.connection_string, "DEVHOST_SYSTEM_KEY": "k"}
    host = start_host(root / "tests" / "apps" / "durable_app", env, work / "host.log", workers=2,
                      ready_path="/runtime/webhooks/durabletask/instances?code=k")
    print(json.dumps({"azurite": azurite.process.pid, "host": host.process.pid}), flush=True)
    time.sleep(3600)
    """
)


@pytest.fixture
def parent(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    if not Path("/proc/self/stat").exists():
        pytest.skip("reads process groups from /proc (Linux)")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(ROOT), str(tmp_path)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    reaper().watch(process.pid)  # should this run itself be killed, the parent goes too
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)
    reaper().forget(process.pid)


def test_killing_the_parent_takes_host_workers_and_azurite_with_it(parent: subprocess.Popen[str]) -> None:
    assert parent.stdout is not None
    line = parent.stdout.readline()
    assert line, f"the parent exited with {parent.wait(timeout=30)} before starting its children"
    pids = json.loads(line)
    host, azurite = pids["host"], pids["azurite"]
    try:
        # The host's activity workers (spawned processes in its group) are up, not just the host.
        eventually(lambda: len(live_group_members(host)) >= 3, "the host and its two activity workers", timeout=WAIT)
        assert live_group_members(azurite) == [azurite]

        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=30)

        eventually(lambda: not live_group_members(host), f"the host's group {host} to be gone", timeout=WAIT)
        eventually(lambda: not live_group_members(azurite), f"Azurite's group {azurite} to be gone", timeout=WAIT)
    finally:
        for pgid in (host, azurite):  # whatever the outcome, leave nothing behind
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
