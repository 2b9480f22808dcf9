"""Errors the durable engine raises to its callers (the HTTP API maps them to status codes)."""

from __future__ import annotations


class InstanceNotFound(LookupError):
    """No instance with that id (HTTP 404)."""


class InstanceGone(Exception):
    """The instance is in a terminal state (HTTP 410)."""


class InstanceExists(Exception):
    """Starting an id whose instance is still running (HTTP 400)."""


class OrchestratorNotFound(LookupError):
    """No orchestrator function of that name (HTTP 400)."""
