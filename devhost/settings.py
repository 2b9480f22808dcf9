"""App settings the way Core Tools reads them: ``local.settings.json`` Values and ``host.json``.

Values are applied to ``os.environ`` without overriding variables that are already set, so a shell
export (or a test fixture) wins over the file, exactly as with ``func start``.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

logger = logging.getLogger("devhost.settings")

DEFAULT_ROUTE_PREFIX = "api"
DEFAULT_HUB_NAME = "TestHubName"
DEFAULT_STORAGE_SETTING = "AzureWebJobsStorage"

_SETTING_REF = re.compile(r"%([^%]+)%")


class SettingsError(RuntimeError):
    """host.json / local.settings.json is unreadable, or a %Setting% reference cannot be resolved."""


def _read_json(path: Path) -> Any:
    try:
        # utf-8-sig: files saved by Windows editors often start with a BOM, which Core Tools accepts.
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{path.name} is not valid JSON: {exc}") from exc


def read_host_json(app_dir: Path) -> dict[str, Any]:
    """The parsed ``host.json`` of the app (``{}`` when the file is missing)."""
    path = app_dir / "host.json"
    if not path.exists():
        logger.warning("No host.json in %s; using defaults", app_dir)
        return {}
    data = _read_json(path)
    if not isinstance(data, dict):
        raise SettingsError("host.json must hold a JSON object")
    return data


def read_local_settings(app_dir: Path) -> tuple[dict[str, str], Path | None]:
    """``Values`` of ``local.settings.json``, falling back to ``local.settings.sample.json``.

    Returns:
        The values (all converted to strings) and the file they came from (None if neither exists).
    """
    for name in ("local.settings.json", "local.settings.sample.json"):
        path = app_dir / name
        if path.exists():
            data = _read_json(path)
            values = data.get("Values", {}) if isinstance(data, dict) else {}
            if not isinstance(values, dict):
                raise SettingsError(f"{name}: 'Values' must be an object")
            return {str(k): "" if v is None else str(v) for k, v in values.items()}, path
    return {}, None


def apply_settings(values: Mapping[str, str], environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Copy values into the environment, never overriding a variable that is already set.

    Returns:
        The names that were applied.
    """
    env = os.environ if environ is None else environ
    applied = []
    for key, value in values.items():
        if key not in env:
            env[key] = value
            applied.append(key)
    return applied


def resolve_setting_refs(value: str, environ: Mapping[str, str] | None = None, *, what: str = "value") -> str:
    """Replace every ``%Name%`` in ``value`` by the app setting ``Name``.

    Raises:
        SettingsError: a referenced setting does not exist (naming it and ``what`` used it).
    """
    env = os.environ if environ is None else environ

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise SettingsError(f"{what} refers to app setting '%{name}%', which is not defined")
        return env[name]

    return _SETTING_REF.sub(replace, value)


def route_prefix(host_json: Mapping[str, Any]) -> str:
    """``extensions.http.routePrefix`` without surrounding slashes (default ``api``; may be empty)."""
    http = host_json.get("extensions", {}).get("http", {}) or {}
    prefix = http.get("routePrefix", DEFAULT_ROUTE_PREFIX)
    return str(prefix if prefix is not None else DEFAULT_ROUTE_PREFIX).strip("/")


def hub_name(host_json: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> str:
    """``extensions.durableTask.hubName`` with ``%Setting%`` resolved (default ``TestHubName``)."""
    durable = host_json.get("extensions", {}).get("durableTask", {}) or {}
    raw = durable.get("hubName")
    if not raw:
        return DEFAULT_HUB_NAME
    return resolve_setting_refs(str(raw), environ, what="host.json extensions.durableTask.hubName")


def extension_section(host_json: Mapping[str, Any], name: str) -> dict[str, Any]:
    """``extensions.<name>`` of host.json as a dict (``{}`` when absent)."""
    section = host_json.get("extensions", {}).get(name, {})
    return section if isinstance(section, dict) else {}


def parse_timespan(text: str) -> float:
    """Seconds in a .NET TimeSpan string ``[d.]hh:mm:ss[.fff]`` (as used in host.json)."""
    match = re.fullmatch(r"(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2}(?:\.\d+)?)", text.strip())
    if not match:
        raise SettingsError(f"'{text}' is not a TimeSpan (expected [d.]hh:mm:ss)")
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def storage_connection_string(setting_name: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The connection string behind a binding's ``connection`` setting name (default AzureWebJobsStorage).

    Raises:
        SettingsError: the setting is not defined.
    """
    env = os.environ if environ is None else environ
    name = resolve_setting_refs(setting_name, env, what="connection") if setting_name else DEFAULT_STORAGE_SETTING
    for candidate in (name, f"AzureWebJobs{name}"):
        value = env.get(candidate)
        if value:
            return value
    raise SettingsError(f"storage connection setting '{name}' is not defined (set it in local.settings.json)")
