"""Microsoft's official ``azure-ai-textanalytics-authoring`` samples, run unchanged against the local host.

Where the samples come from: the source distribution of the *installed* client version, fetched from
PyPI with pip at test time (``samples/`` is in the sdist, not in the wheel) and checked against the hash
pinned below. The samples are MIT-licensed (Copyright (c) Microsoft Corporation); we do not keep a copy
in this repository, so the files run are byte for byte Microsoft's.

Authentication: the samples build ``DefaultAzureCredential()`` (Microsoft Entra ID), and their NOTE says
to use ``AzureKeyCredential`` with ``AZURE_TEXT_KEY`` instead when authenticating with a key. A bearer
token cannot be sent over plain HTTP anyway (azure-core refuses), so a ``sitecustomize`` module put on
the samples' ``PYTHONPATH`` makes ``azure.identity.DefaultAzureCredential`` return that key credential.
Nothing else about the samples or the client changes.

A sample catches ``HttpResponseError`` and prints ``Operation failed: ...`` (exit code 0), so a run
counts as passed only when it exits 0 *and* prints none of the failure lines.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

DISTRIBUTION = "azure-ai-textanalytics-authoring"
SDIST_SHA256 = {
    "1.0.0b1": "db4eca1746e705a0ae2386c5f2cefe1b0b0028cb2857455b3c309372c64e99f8",
}
"""Hash of each client version's sdist on PyPI; a new client version needs its hash added here."""
FAILURE_MARKERS = ("Operation failed", "Delete failed", "Traceback (most recent call last)")
SAMPLE_TIMEOUT = 300.0

SITECUSTOMIZE = '''"""Test harness only: the samples' DefaultAzureCredential is the subscription key (see their NOTE)."""
import os

from azure.core.credentials import AzureKeyCredential


class _KeyCredential(AzureKeyCredential):
    def __init__(self, *args, **kwargs):
        super().__init__(os.environ.get("AZURE_TEXT_KEY") or os.environ["AZURE_TEXT_AUTHORING_KEY"])

    def close(self):
        pass

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info):
        return None


import azure.identity  # noqa: E402
import azure.identity.aio  # noqa: E402

azure.identity.DefaultAzureCredential = _KeyCredential
azure.identity.aio.DefaultAzureCredential = _KeyCredential
'''


def fetch_samples(cache: Path) -> Path:
    """The ``samples/`` folder of the installed client's sdist, downloaded once into ``cache``.

    Raises:
        RuntimeError: pip could not download the sdist, or its hash is not the pinned one.
    """
    version = importlib.metadata.version(DISTRIBUTION)
    expected = SDIST_SHA256.get(version)
    if expected is None:
        raise RuntimeError(f"no pinned sdist hash for {DISTRIBUTION} {version}: add it to SDIST_SHA256")
    target = cache / version
    samples = next(target.glob("*/samples"), None) if target.exists() else None
    if samples is not None:
        return samples
    download = cache / f"download-{version}"
    download.mkdir(parents=True, exist_ok=True)
    archive = next(download.glob("*.tar.gz"), None)
    if archive is None:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             f"{DISTRIBUTION}=={version}", "-d", str(download)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        archive = next(download.glob("*.tar.gz"), None)
        if done.returncode != 0 or archive is None:
            raise RuntimeError(f"pip download of {DISTRIBUTION} {version} failed:\n{done.stderr[-2000:]}")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if digest != expected:
        raise RuntimeError(f"{archive.name} has sha256 {digest}, expected {expected}")
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if "/samples/" in m.name and m.isfile()]
        tar.extractall(target, members=members, filter="data")
    samples = next(target.glob("*/samples"), None)
    if samples is None:
        raise RuntimeError(f"{archive.name} has no samples/ folder")
    return samples


@dataclass
class SampleRun:
    name: str
    returncode: int
    stdout: str
    stderr: str

    @property
    def failures(self) -> list[str]:
        text = self.stdout + self.stderr
        return [marker for marker in FAILURE_MARKERS if marker in text]

    @property
    def passed(self) -> bool:
        return self.returncode == 0 and not self.failures

    def explain(self) -> str:
        return f"{self.name} exited {self.returncode}\n--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}"


class SampleRunner:
    """Runs sample files against one endpoint with one key, each in its own interpreter."""

    def __init__(self, samples: Path, shim_dir: Path, endpoint: str, key: str) -> None:
        self.samples = samples
        self.endpoint = endpoint
        self.key = key
        shim_dir.mkdir(parents=True, exist_ok=True)
        (shim_dir / "sitecustomize.py").write_text(SITECUSTOMIZE)
        self.shim_dir = shim_dir

    def run(self, relative: str, **variables: str) -> SampleRun:
        """Run ``samples/<relative>`` with the endpoint, key and the sample's own variables."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("AZURE_")}
        env.update(
            {
                "AZURE_TEXT_ENDPOINT": self.endpoint,
                "AZURE_TEXT_AUTHORING_ENDPOINT": self.endpoint,
                "AZURE_TEXT_KEY": self.key,
                "AZURE_TEXT_AUTHORING_KEY": self.key,
                "PYTHONPATH": str(self.shim_dir),
                **variables,
            }
        )
        path = self.samples / relative
        done = subprocess.run(
            [sys.executable, str(path)], cwd=path.parent, env=env, capture_output=True, text=True,
            timeout=SAMPLE_TIMEOUT,
        )  # fmt: skip
        return SampleRun(relative, done.returncode, done.stdout, done.stderr)
