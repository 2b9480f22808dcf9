"""The local host's system key: what the Durable HTTP API (and any admin route) requires, as on Azure.

On Azure the Durable webhooks need the extension's system key (``durabletask_extension``) as
``code=`` or ``x-functions-key``. Locally the key comes from the ``DEVHOST_SYSTEM_KEY`` setting
(local.settings.json or the environment); when that is empty, a key is generated on first start and
kept in ``.devhost/host-keys.json`` in the app folder (git-ignored), where a developer can read it.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

logger = logging.getLogger("devhost.keys")

SYSTEM_KEY_SETTING = "DEVHOST_SYSTEM_KEY"
KEYS_FILE = Path(".devhost") / "host-keys.json"
EXTENSION_KEY_NAME = "durabletask_extension"


def system_key(app_dir: Path, environ: Mapping[str, str] | None = None) -> str:
    """The system key: the setting, else the one kept in ``.devhost/host-keys.json``, else a new one."""
    env = os.environ if environ is None else environ
    configured = env.get(SYSTEM_KEY_SETTING, "").strip()
    if configured:
        logger.info("Durable HTTP API key: the %s setting", SYSTEM_KEY_SETTING)
        return configured
    path = app_dir / KEYS_FILE
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))["systemKeys"][EXTENSION_KEY_NAME]
        if isinstance(kept, str) and kept:
            logger.info("Durable HTTP API key: %s", path)
            return kept
    except (OSError, ValueError, KeyError, TypeError):
        pass
    key = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Readable by its owner only: it opens the Durable HTTP API.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump({"systemKeys": {EXTENSION_KEY_NAME: key}}, handle, indent=2)
    logger.info("Durable HTTP API key generated into %s (set %s to choose one)", path, SYSTEM_KEY_SETTING)
    return key


def key_matches(given: str | None, key: str) -> bool:
    """Constant-time comparison; any text (non-ASCII included) is simply not the key."""
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), key.encode("utf-8"))
