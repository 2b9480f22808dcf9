"""Microsoft's official authoring samples, unchanged, against the function app on the local host.

See ``authoring_samples.py`` for where the sample files come from and how they authenticate. The host
gets one project imported from the generated sample and one trained model (``m1``); the samples then
run in order, each in its own interpreter, and what they did is checked over REST as well.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.azurite import Azurite
from tests.conformance.authoring_samples import SampleRunner, fetch_samples
from tests.e2e.conftest import KEY, Api, HostNames, HostProcess, imported_sample, start_host

pytestmark = [pytest.mark.conformance, pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def host(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    names = HostNames()
    log = tmp_path_factory.mktemp("devhost") / f"{names.tag}.log"
    host = start_host(names.env(azurite.connection_string), log)
    try:
        yield host
    finally:
        host.stop()


@pytest.fixture(scope="module")
def project(host: HostProcess) -> str:
    name = "samples-" + HostNames().tag
    imported_sample(Api(host.endpoint), host.env["AzureWebJobsStorage"], name)
    return name


@pytest.fixture(scope="module")
def runner(host: HostProcess, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SampleRunner:
    samples = fetch_samples(Path(request.config.cache.mkdir("authoring-samples")))
    return SampleRunner(samples, tmp_path_factory.mktemp("sample-shim"), host.endpoint, KEY)


def test_the_pinned_sdist_has_all_samples(runner: SampleRunner) -> None:
    names = sorted(path.relative_to(runner.samples).as_posix() for path in runner.samples.rglob("sample_*.py"))
    assert len(names) == 36, names
    for required in ("deploy_project", "get_deployment", "swap_deployments", "delete_deployment",
                     "assign_deployment_resources", "unassign_deployment_resources"):  # fmt: skip
        assert f"sample_{required}.py" in names and f"async/sample_{required}_async.py" in names


@pytest.mark.parametrize("sample", ["sample_get_project.py", "async/sample_get_project_async.py"])
def test_get_project(runner: SampleRunner, project: str, sample: str) -> None:
    run = runner.run(sample, PROJECT_NAME=project)
    assert run.passed, run.explain()
    assert f"name: {project}" in run.stdout and "language: en-us" in run.stdout, run.explain()


def test_a_failing_call_is_detected(runner: SampleRunner, project: str) -> None:
    # The harness must be able to fail: an unknown project makes the sample raise (no except in it).
    run = runner.run("sample_get_project.py", PROJECT_NAME=project + "-missing")
    assert not run.passed and "ResourceNotFoundError" in run.stderr, run.explain()
