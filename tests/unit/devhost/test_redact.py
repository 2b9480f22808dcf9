"""What the local host shows of a failure: no traceback, no file path, bounded, in linear time."""

from __future__ import annotations

import json
import traceback

from devhost.redact import MAX_CHARS, redact_text, redact_value


def _traceback() -> str:
    try:
        json.loads("{")
    except ValueError:
        return traceback.format_exc()
    raise AssertionError("unreachable")


def test_traceback_and_paths_are_cut_the_message_stays() -> None:
    text = "Activity function 'convert' failed: ValueError: label 'X' unknown\n" + _traceback()
    shown = redact_text(text)
    assert shown == "Activity function 'convert' failed: ValueError: label 'X' unknown"
    assert redact_text('failed in File "/srv/app/shared/x.py", line 3, in run') == "failed in <frame>"
    shown = redact_text("see /srv/app/shared/service/pipeline.py and C:\\app\\x.pyc")
    assert ".py" not in shown and "/srv" not in shown and "C:\\" not in shown
    # Service paths in messages are not file paths.
    assert redact_text("GET /language/authoring/analyze-text/projects/p1") == (
        "GET /language/authoring/analyze-text/projects/p1"
    )


def test_length_is_bounded() -> None:
    assert len(redact_text("x" * 100_000)) == MAX_CHARS + 3


def test_values_are_redacted_recursively() -> None:
    value = {"errors": [{"message": "boom\n" + _traceback()}], "percent": 10}
    assert redact_value(value) == {"errors": [{"message": "boom"}], "percent": 10}


def test_adversarial_text_finishes() -> None:
    # Nested quantifiers over these used to backtrack exponentially (the call never returned).
    for evil in ("a/" * 20_000 + "x", "/" * 50_000, "ab." * 20_000, "x" * 100_000 + "/y.p", "a" * 30 + "!"):
        assert len(redact_text(evil)) <= MAX_CHARS + 3
