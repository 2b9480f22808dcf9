"""The fuzz suite reuses the end-to-end fixtures: a real local host of the app over Azurite."""

from tests.e2e.conftest import host_factory  # noqa: F401 - fixture
