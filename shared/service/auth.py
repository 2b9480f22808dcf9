"""Subscription-key authentication (``Ocp-Apim-Subscription-Key``)."""

from __future__ import annotations

import hmac

from shared.config import Settings
from shared.errors import Unauthorized

SUBSCRIPTION_KEY_HEADER = "Ocp-Apim-Subscription-Key"


def check_subscription_key(settings: Settings, provided: str | None) -> None:
    """Accept the request only if ``provided`` equals one of ``settings.api_keys``.

    Every configured key is compared with :func:`hmac.compare_digest` (no early exit), so the time
    taken does not reveal which key, or how much of one, matched.

    Args:
        settings: The app settings holding the accepted keys.
        provided: The header value, or None when the header is missing.

    Keys are printable ASCII; any other value (non-ASCII, control characters, or text the HTTP layer
    decoded with surrogate escapes) cannot match one and is refused as a wrong key, not encoded.

    Raises:
        Unauthorized: when the header is missing, empty, malformed or matches no configured key.
    """
    if not provided:
        raise Unauthorized(
            message=f"Access denied: the '{SUBSCRIPTION_KEY_HEADER}' header is missing. "
            "Provide a valid subscription key.",
            target=SUBSCRIPTION_KEY_HEADER,
        )
    well_formed = provided.isascii() and provided.isprintable()
    candidate = provided.encode("ascii") if well_formed else b""
    matches = [hmac.compare_digest(candidate, key.encode("utf-8")) for key in settings.api_keys]
    if not well_formed or not any(matches):
        raise Unauthorized(
            message="Access denied due to an invalid subscription key. Provide a valid key in the "
            f"'{SUBSCRIPTION_KEY_HEADER}' header.",
            target=SUBSCRIPTION_KEY_HEADER,
        )
