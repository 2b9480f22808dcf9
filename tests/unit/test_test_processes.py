"""Long-lived child processes of the test suite (local hosts, Azurite) are started in one place.

``devhost.testing`` and ``devhost.azurite`` start them in a session of their own and stop them with it;
a test module that spawns its own host would bring back its own readiness loop and its own clean-up
(or none). Short ``subprocess.run`` calls, which wait for their child, are fine anywhere.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("tests/e2e", "tests/conformance", "tests/fuzz", "tests/integration")
ALLOWED = {"tests/e2e/test_process_cleanup.py"}
"""Starts a pytest-like parent on purpose, to kill it and check its children die with it."""


def popen_calls(path: Path) -> list[int]:
    """Lines of ``subprocess.Popen(...)`` / ``Popen(...)`` calls (annotations do not count)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            callee = node.func
            name = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
            if name == "Popen":
                lines.append(node.lineno)
    return lines


def test_no_test_module_spawns_a_long_lived_process_itself() -> None:
    offenders = {
        f"{path.relative_to(ROOT)}:{line}"
        for folder in FOLDERS
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line in popen_calls(path)
        if str(path.relative_to(ROOT)) not in ALLOWED
    }
    assert offenders == set(), "start hosts with devhost.testing (start_host / tests.e2e.conftest.start_app_host)"


def test_the_check_sees_a_popen_call(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import subprocess\nfrom subprocess import Popen\nx: subprocess.Popen[bytes]\n"
                      "subprocess.Popen(['a'])\nPopen(['b'])\n")  # fmt: skip
    assert popen_calls(sample) == [4, 5]
