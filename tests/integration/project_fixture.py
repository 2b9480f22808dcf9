"""A fixture shared by Azurite tests: one project on a fresh app namespace (import ``project_settings`` into a test module; tests ask for ``settings``)."""

from __future__ import annotations

import pytest
from azure.storage.blob import BlobServiceClient

from shared.config import Settings, get_settings
from shared.service import projects


@pytest.fixture(name="settings")
def project_settings(app_settings_env: dict[str, str], storage_connection: str, unique_name: str) -> Settings:
    """Settings of a fresh app namespace holding one project, ``proj``, over an (empty) input container."""
    settings = get_settings()
    container = f"{unique_name}-in"
    BlobServiceClient.from_connection_string(storage_connection).create_container(container)
    body = {"projectKind": "CustomEntityRecognition", "storageInputContainerName": container, "language": "en-us"}
    projects.create_or_update_project(settings, "proj", body)
    return settings
