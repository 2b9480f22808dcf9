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
from tests.e2e.conftest import KEY, Api, HostNames, HostProcess, imported_sample, start_app_host, train

pytestmark = [pytest.mark.conformance, pytest.mark.e2e, pytest.mark.slow]

JOB_TIMEOUT = 600.0
PREVIEW = "2025-05-15-preview"
RESOURCE = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/LangWeu"


@pytest.fixture(scope="module")
def host(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    names = HostNames()
    log = tmp_path_factory.mktemp("devhost") / f"{names.tag}.log"
    host = start_app_host(names.env(azurite.connection_string), log)
    try:
        yield host
    finally:
        host.stop()


@pytest.fixture(scope="module")
def project(host: HostProcess, azurite: Azurite) -> str:
    name = "samples-" + HostNames().tag
    imported_sample(Api(host.endpoint), azurite.connection_string, name, documents=30)
    return name


@pytest.fixture(scope="module")
def trained(host: HostProcess, project: str) -> str:
    """The project with a trained model ``m1``."""
    api = Api(host.endpoint)
    job = api.wait_job(train(api, project, "m1"), timeout=JOB_TIMEOUT)
    assert job["status"] == "succeeded", job
    return project


@pytest.fixture(scope="module")
def runner(host: HostProcess, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SampleRunner:
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    folder = Path(cache.mkdir("authoring-samples")) if cache is not None else tmp_path_factory.mktemp("samples")
    samples = fetch_samples(folder)
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


@pytest.mark.parametrize("variant", ["", "async/"])
def test_deployment_samples(runner: SampleRunner, host: HostProcess, trained: str, variant: str) -> None:
    """assign -> deploy x2 -> get -> swap -> unassign -> delete, each sample run unchanged, state checked over REST."""
    api = Api(host.endpoint, api_version=PREVIEW)
    suffix = "_async.py" if variant else ".py"
    prod, staging = f"prod{variant[:1]}", f"staging{variant[:1]}"

    def sample(name: str, expect: str, **variables: str) -> str:
        run = runner.run(f"{variant}sample_{name}{suffix}", PROJECT_NAME=trained, **variables)
        assert run.passed and expect in run.stdout, run.explain()
        return run.stdout

    sample("assign_deployment_resources", "Assign completed.",
           RESOURCE_ID=RESOURCE, RESOURCE_DOMAIN="weu.example", RESOURCE_REGION="westeurope")  # fmt: skip
    assert {"azureResourceId": RESOURCE, "region": "westeurope"} in api.get(f"{trained}/resources").json()["value"]

    sample("deploy_project", "Deploy completed.", DEPLOYMENT_NAME=prod, TRAINED_MODEL_LABEL="m1")
    sample("deploy_project", "Deploy completed.", DEPLOYMENT_NAME=staging, TRAINED_MODEL_LABEL="m1")
    model_id = api.get(f"{trained}/models/m1").json()["modelId"]
    shown = sample("get_deployment", f"Deployment Name: {prod}", DEPLOYMENT_NAME=prod)
    assert f"Model Id: {model_id}" in shown and "Deployment Expired On: 2099-12-31" in shown

    before = {d: api.get(f"{trained}/deployments/{d}").json()["lastDeployedDateTime"] for d in (prod, staging)}
    sample("swap_deployments", "Swap deployments completed.", FIRST_DEPLOYMENT_NAME=prod, SECOND_DEPLOYMENT_NAME=staging)
    after = {d: api.get(f"{trained}/deployments/{d}").json()["lastDeployedDateTime"] for d in (prod, staging)}
    assert all(after[d] > before[d] for d in before), (before, after)  # each sample run takes over a second

    sample("unassign_deployment_resources", "Unassign completed.", RESOURCE_ID=RESOURCE)
    assert api.get(f"{trained}/resources").json()["value"] == []

    sample("delete_deployment", "Delete completed.", DEPLOYMENT_NAME=staging)
    assert api.get(f"{trained}/deployments/{staging}").status_code == 404
    assert api.get(f"{trained}/deployments/{prod}").status_code == 200
