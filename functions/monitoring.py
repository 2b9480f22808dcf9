"""Turns on Application Insights export when the app settings ask for it (see :mod:`shared.telemetry`)."""

import logging

from shared import telemetry
from shared.config import SettingsError, get_settings

log = logging.getLogger(__name__)


def enable() -> bool:
    """Configure telemetry from ``APPLICATIONINSIGHTS_CONNECTION_STRING``; a no-op when it is empty."""
    try:
        settings = get_settings()
    except SettingsError:
        # Every request reports invalid settings; indexing the app must not fail because of them.
        return False
    return telemetry.configure(settings.appinsights_connection)
