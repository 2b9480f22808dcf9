"""Shared fixtures: an isolated environment per test and one Azurite per test session.

Azurite is reused when one already listens on the default ports (``AZURITE_REUSE=1`` forces a
check), otherwise started from ``node_modules`` on free ports in a temporary folder.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.azurite import DEVELOPMENT_STORAGE, Azurite, default_azurite_running, start_azurite
from devhost.testing import reaper

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts from the process environment as it was, and settings are re-read."""
    from shared.config import get_settings

    saved = dict(os.environ)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """A running Azurite for the whole session (killed with this process, however it ends)."""
    if os.environ.get("AZURITE_REUSE") == "1" and default_azurite_running():
        yield Azurite(connection_string=DEVELOPMENT_STORAGE)
        return
    instance = start_azurite(PROJECT_ROOT, watcher=reaper())
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture
def storage_connection(azurite: Azurite) -> str:
    return azurite.connection_string


@pytest.fixture
def unique_name() -> str:
    """A fresh lowercase name usable as a container, queue or (letters only part) table name."""
    return "t" + uuid.uuid4().hex[:20]


@pytest.fixture
def app_settings_env(monkeypatch: pytest.MonkeyPatch, storage_connection: str, unique_name: str) -> dict[str, str]:
    """Environment for one test: its own container, tables and queues on the session's Azurite."""
    values = {
        "NER_STORAGE_CONNECTION": storage_connection,
        "AzureWebJobsStorage": storage_connection,
        "NER_APP_CONTAINER": unique_name,
        "NER_TABLE_PREFIX": unique_name,
        "NER_EVENTS_QUEUE": f"{unique_name}-events",
        "NER_TRAIN_REQUESTS_QUEUE": f"{unique_name}-train",
        "LANGUAGE_API_KEYS": "test-key-1,test-key-2",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values
