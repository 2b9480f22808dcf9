"""``scripts/package``: the zip for Azure's zip deploy holds exactly the app, and the app indexes from it."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _package_module() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("package_script", str(ROOT / "scripts" / "package"))
    spec = importlib.util.spec_from_loader("package_script", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


package = _package_module()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("pkg") / "app.zip"
    completed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "package"), "--output", str(output)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert f"{output}: " in completed.stdout
    return output


def _tracked_sources() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "functions", "shared", "studio"], cwd=ROOT, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    return [name for name in listed.stdout.split() if (ROOT / name).exists()]


def test_the_zip_holds_the_app_and_nothing_else(built: Path) -> None:
    names = set(zipfile.ZipFile(built).namelist())
    assert {"function_app.py", "host.json", "requirements.txt"} <= names
    assert set(_tracked_sources()) <= names  # every source file of the app, the studio's assets included
    assert {"studio/index.html", "studio/studio.js", "studio/studio.css"} <= names
    assert any(name.startswith("shared/ner/configs/") and name.endswith(".cfg") for name in names)
    # No local state (.devhost/ holds the local host's keys, .azurite/ its data) and no tool caches.
    assert [name for name in names if name.startswith(".") or "/." in name] == []
    excluded = ("devhost/", "tests/", "bench/", "samples/", "scripts/", ".venv/", "node_modules/", ".git", ".azurite/")
    assert [name for name in names if name.startswith(excluded)] == []
    assert not {"local.settings.json", "local.settings.sample.json", "requirements-dev.txt", "package.json"} & names
    assert [name for name in names if "__pycache__" in name or name.endswith(".pyc")] == []
    # Runtime requirements only: the worker and the dev tools are not deployed.
    requirements = zipfile.ZipFile(built).read("requirements.txt").decode()
    assert "azure-functions-durable" in requirements and "pytest" not in requirements


def test_the_same_tree_gives_the_same_bytes(built: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.zip"
    package.build(ROOT, again)
    assert again.read_bytes() == built.read_bytes()


def test_the_zipped_app_indexes_with_every_function(built: Path, tmp_path: Path) -> None:
    """Extracted on its own (no checkout beside it), the app imports and indexes like the checkout."""
    app = tmp_path / "app"
    zipfile.ZipFile(built).extractall(app)
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "devhost").symlink_to(ROOT / "devhost")  # the indexer only, not the app's sources
    script = (
        "import json, sys; from pathlib import Path; from devhost.indexer import load_app; "
        "app = load_app(Path(sys.argv[1]), apply_settings=False); "
        "print(json.dumps(sorted(app.functions)))"
    )
    # App settings as Azure would give them (the zip carries no local.settings file).
    values = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
    env = {**values, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(tools)}
    zipped = subprocess.run([sys.executable, "-c", script, str(app)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert zipped.returncode == 0, zipped.stderr[-3000:]
    checkout = subprocess.run([sys.executable, "-c", script, str(ROOT)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert checkout.returncode == 0, checkout.stderr[-3000:]
    assert json.loads(zipped.stdout) == json.loads(checkout.stdout)
    assert "studio_page" in json.loads(zipped.stdout)


@pytest.mark.parametrize(
    ("rules", "path", "is_dir", "expected"),
    [
        ("tests", "tests", True, True),
        ("tests", "shared/tests", True, True),  # a bare name matches at any depth
        ("/tests", "shared/tests", True, False),  # a leading slash anchors it
        ("dist/", "dist", False, False),  # folders only
        ("*.pyc", "shared/x.pyc", False, True),
        (".git*", ".gitignore", False, True),
        ("docs/**/*.md", "docs/a/b/c.md", False, True),
        ("*.md\n!README.md", "README.md", False, False),  # re-included
    ],
)
def test_funcignore_rules(rules: str, path: str, is_dir: bool, expected: bool) -> None:
    assert package.ignored(path, is_dir, package.parse_ignore(rules)) is expected
