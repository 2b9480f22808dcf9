"""The ``api-version`` values this service answers to.

Microsoft's ``azure-ai-textanalytics-authoring`` 1.0.0b1 client sends ``2025-05-15-preview`` by default
(and its ``get_project_client`` drops any override), so that version must always be accepted.
"""

from __future__ import annotations

from shared.errors import InvalidRequest

GA_API_VERSION = "2023-04-01"
"""The version whose request and response shapes this service implements."""

CLIENT_DEFAULT_API_VERSION = "2025-05-15-preview"
"""Default of ``azure-ai-textanalytics-authoring`` 1.0.0b1 (``TextAuthoringClientConfiguration``)."""

SUPPORTED_API_VERSIONS: tuple[str, ...] = ("2022-05-01", GA_API_VERSION, CLIENT_DEFAULT_API_VERSION)

RUNTIME_CLIENT_DEFAULT_API_VERSION = "2026-05-15-preview"
"""Default of ``azure-ai-textanalytics`` 6.0.0b3 (``TextAnalysisClientConfiguration``). Accepted on the runtime
routes only (``analyze-text/jobs``): the job shapes this service implements are unchanged in it for custom
entity recognition, which tests/conformance/test_runtime_client.py checks with that client."""

RUNTIME_API_VERSIONS: tuple[str, ...] = (*SUPPORTED_API_VERSIONS, RUNTIME_CLIENT_DEFAULT_API_VERSION)


def check_api_version(value: str | None, supported_versions: tuple[str, ...] = SUPPORTED_API_VERSIONS) -> str:
    """Validate the ``api-version`` query parameter of a request.

    Args:
        value: The raw query value, or None when the parameter is missing.
        supported_versions: The versions the route answers to (the runtime routes take one more).

    Returns:
        The accepted version string.

    Raises:
        InvalidRequest: when the parameter is missing or names a version we do not serve; the message
            lists the supported versions.
    """
    supported = ", ".join(supported_versions)
    if value is None or not value.strip():
        raise InvalidRequest(
            message=f"The 'api-version' query parameter is required. Supported versions: {supported}.",
            target="api-version",
        )
    version = value.strip()
    if version not in supported_versions:
        raise InvalidRequest(
            message=f"The api-version '{version}' is not supported. Supported versions: {supported}.",
            target="api-version",
        )
    return version
