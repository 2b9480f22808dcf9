"""Fixtures of the integration tests: app settings on the session's Azurite, and settings that cannot reach it."""

from __future__ import annotations

import base64

import pytest

from devhost.azurite import free_port
from shared.config import Settings, get_settings, load_settings


@pytest.fixture
def settings(app_settings_env: dict[str, str]) -> Settings:
    """The app settings of one test (its own container, tables and queues on the session's Azurite)."""
    return get_settings()


@pytest.fixture
def unreachable_settings() -> Settings:
    """Settings whose storage endpoints point at a port nothing listens on."""
    port = free_port()
    account = "devstoreaccount1"
    key = base64.b64encode(b"k" * 32).decode()
    connection = (
        f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{account};QueueEndpoint=http://127.0.0.1:{port}/{account};"
        f"TableEndpoint=http://127.0.0.1:{port}/{account};"
    )
    return load_settings({"NER_STORAGE_CONNECTION": connection, "LANGUAGE_API_KEYS": "k"})
