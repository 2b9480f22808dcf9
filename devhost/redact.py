"""Keep server internals out of HTTP answers: tracebacks, file paths and unbounded text.

The local host logs the full detail; what a caller sees is the message with its Python traceback cut
off, file paths replaced by ``<path>`` and the length bounded, as Azure shows no stack to a caller.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

MAX_CHARS = 2000
TRACEBACK_MARK = "Traceback (most recent call last)"
_FILE_LINE = re.compile(r'File "[^"]*"(?:, line \d+)?(?:, in \S+)?')
# A token with a directory separator that names a Python file. No nested quantifiers, and a bounded
# token length: the work stays linear in the text (a ReDoS here would hang the HTTP API).
_PY_PATH = re.compile(r"[^\s'\"]{0,300}[\\/][^\s'\"\\/]{0,300}\.pyc?\b")


def _server_roots() -> list[str]:
    roots = {sys.prefix, sys.base_prefix, tempfile.gettempdir(), os.getcwd(), str(Path.home())}
    roots.update(str(Path(p).resolve()) for p in sys.path if p and os.path.isabs(p))
    # Longest first, so a root inside another is replaced whole.
    return sorted((r for r in roots if r and r not in ("/", "\\")), key=len, reverse=True)


def redact_text(text: str, limit: int = MAX_CHARS) -> str:
    """``text`` without traceback, file paths or more than ``limit`` characters."""
    text = text[: 4 * limit]  # bounded work, whatever the size of what was stored
    head, mark, _ = text.partition(TRACEBACK_MARK)
    cleaned = head.rstrip() if mark else text
    cleaned = _FILE_LINE.sub("<frame>", cleaned)
    for root in _server_roots():
        cleaned = cleaned.replace(root, "<path>")
    cleaned = re.sub(r"(?:<path>)+", "<path>", _PY_PATH.sub("<path>", cleaned))
    if len(cleaned) > limit:
        cleaned = cleaned[:limit] + "..."
    return cleaned


def redact_value(value: Any) -> Any:
    """``redact_text`` applied to every string inside a JSON value."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, list):
        return [redact_value(item) for item in value]
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    return value
