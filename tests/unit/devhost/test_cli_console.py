"""The local host's console: quiet SDK logging unless --verbose, and no silent adoption of a stray Azurite."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost import azurite, cli


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in cli.QUIET_LOGGERS}
    yield
    root.handlers[:], root.level = handlers, level
    for name, value in levels.items():
        logging.getLogger(name).setLevel(value)


@pytest.mark.usefixtures("restore_logging")
def test_sdk_http_logging_is_quiet_by_default_and_back_with_verbose() -> None:
    http_logger = logging.getLogger("azure.core.pipeline.policies.http_logging_policy")
    cli.configure_logging("INFO")
    assert not http_logger.isEnabledFor(logging.INFO)
    assert logging.getLogger("shared.service").isEnabledFor(logging.INFO)
    cli.configure_logging("INFO", verbose=True)
    assert http_logger.isEnabledFor(logging.INFO)


def test_verbose_is_a_start_option() -> None:
    args = cli.build_parser().parse_args(["start", "--verbose", "--adopt-azurite"])
    assert args.verbose and args.adopt_azurite
    assert not cli.build_parser().parse_args(["start"]).verbose


@pytest.mark.parametrize(
    ("no_azurite", "connection", "running", "adopt", "plan"),
    [
        (False, "UseDevelopmentStorage=true", False, False, "start"),
        (False, "UseDevelopmentStorage=true", True, False, "refuse"),
        (False, "UseDevelopmentStorage=true", True, True, "adopt"),
        (True, "UseDevelopmentStorage=true", True, False, "none"),
        (False, "DefaultEndpointsProtocol=https;AccountName=real;AccountKey=x", True, False, "none"),
    ],
)
def test_azurite_plan(no_azurite: bool, connection: str, running: bool, adopt: bool, plan: str) -> None:
    assert cli.azurite_plan(no_azurite=no_azurite, connection=connection, running=running, adopt=adopt) == plan


def test_refusal_names_the_leftover_process(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / ".azurite").mkdir()
        (tmp_path / ".azurite" / azurite.PID_FILE).write_text(str(sleeper.pid))
        message = cli._refusal(tmp_path)
        assert f"pid {sleeper.pid}" in message and "--adopt-azurite" in message
    finally:
        sleeper.kill()
        sleeper.wait()
    # A dead process is not named.
    assert azurite.recorded_azurite_pid(tmp_path / ".azurite") is None
    assert "did not start it" in cli._refusal(tmp_path)
    assert os.path.exists(tmp_path / ".azurite" / azurite.PID_FILE)
