"""Microsoft's own Python worker code indexes ``function_app.py`` exactly as the local host serves it.

``azure-functions-runtime`` (the library half of the Functions Python worker, Python >= 3.13) runs its
``worker_init_request`` in a Python 3.13 venv holding it and the app's requirements (built once under
``.cache/``; see tests/tools/worker_index.py for the one stand-in, the gRPC message classes). Every
function, every binding and every HTTP route (with the host.json prefix) and its methods must match what
devhost indexes and serves. A 3.13 interpreter is looked for in ``PYTHON313``, under pyenv, then on PATH.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_REQUIREMENT = "azure-functions-runtime>=1.3,<2"
ROUTE_PREFIX = json.loads((ROOT / "host.json").read_text())["extensions"]["http"]["routePrefix"]


def _is_python313(candidate: str) -> bool:
    # A pyenv shim exists for every installed version but fails unless that version is selected.
    check = [candidate, "-c", "import sys; sys.exit(sys.version_info[:2] != (3, 13))"]
    return bool(candidate) and subprocess.run(check, capture_output=True, timeout=60).returncode == 0


def find_python313() -> str | None:
    candidates = [os.environ.get("PYTHON313", "")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
        candidates += sorted(str(p) for p in Path(root).glob("versions/3.13*/bin/python3.13"))
    candidates.append(shutil.which("python3.13") or "")
    return next((c for c in candidates if _is_python313(c)), None)


@pytest.fixture(scope="module")
def worker_python() -> str:
    python = find_python313()
    if python is None:
        pytest.skip("no Python 3.13 interpreter (PYTHON313, python3.13 on PATH, or pyenv): azure-functions-runtime needs >= 3.13")
    requirements = (ROOT / "requirements.txt").read_bytes()
    tag = hashlib.sha256(requirements + RUNTIME_REQUIREMENT.encode()).hexdigest()[:12]
    venv = ROOT / ".cache" / f"worker-py313-{tag}"
    ready = venv / ".ready"
    if not ready.exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=300)
        install = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", RUNTIME_REQUIREMENT,
             "-r", str(ROOT / "requirements.txt")],
            capture_output=True, text=True, timeout=1800,
        )  # fmt: skip
        assert install.returncode == 0, install.stderr[-3000:]
        ready.write_text("ok\n")
    return str(venv / "bin" / "python")


def _index(python: str, tool: str, extra_path: str = "") -> dict[str, Any]:
    values = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
    env = {**values, "PATH": "/usr/bin:/bin", "PYTHONPATH": extra_path}
    completed = subprocess.run(
        [python, str(ROOT / "tests" / "tools" / tool), str(ROOT)],
        cwd=ROOT.parent, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-3000:]
    result: dict[str, Any] = json.loads(completed.stdout.split("RESULT ", 1)[1])
    return result


def _canonical(bindings: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(binding, sort_keys=True) for binding in bindings)


def test_the_worker_indexes_every_function_binding_and_route_as_the_local_host_serves_them(worker_python: str) -> None:
    worker = _index(worker_python, "worker_index.py")
    local = _index(sys.executable, "local_index.py", str(ROOT))
    assert sorted(worker) == sorted(local)
    for name, bindings in worker.items():
        assert _canonical(bindings) == _canonical(local[name]["bindings"]), name
        trigger = next((b for b in bindings if b["type"] == "httpTrigger"), None)
        if trigger is None:
            assert "route" not in local[name], name
            continue
        route = f"{ROUTE_PREFIX}/{trigger.get('route') or name}"
        assert route == local[name]["route"], name
        assert sorted(m.upper() for m in trigger.get("methods") or []) == local[name]["methods"], name
    assert any(b["type"] == "activityTrigger" for bindings in worker.values() for b in bindings)
