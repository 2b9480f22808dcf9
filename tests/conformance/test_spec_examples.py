"""The authoring spec's deployment examples, sent to the function app on the local host and validated.

Azure's swagger (vendored fragments and examples in ``spec/``, see ``spec/SOURCE.md``) documents each
deployment operation with an example: its request (path parameters, api-version, body) and the status and
body of its answer. Here every stored example's request goes to the real host with the example's body
unchanged (the project name mapped to ours; deployment names kept), the status must be the example's, and
every body we answer (including each job status while polling, and error answers) must validate against
the schema the spec gives that operation. The examples' own bodies must validate too: that proves the
schema extraction, not only our answers.

The project has the tiny trained models the examples deploy, labelled as in the examples
(``29886710a2ae49259d62cffca977db66``, and ``model1`` for 2022-05-01). The tests run in file order.

Operations the swagger names an example for but whose example file the vendored source did not hold
(swap, assign, unassign, delete-from-resources and their statuses; see SOURCE.md) are sent with the body
the spec's request schema requires and validated against the response schema all the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from devhost.azurite import Azurite
from tests.conformance.spec import extract, schema
from tests.e2e.conftest import (
    PROJECTS_PATH,
    Api,
    HostNames,
    HostProcess,
    eventually,
    host_factory,  # noqa: F401 (the fixture that starts, and at module end stops, the hosts)
    imported_sample,
    train,
)

pytestmark = [pytest.mark.conformance, pytest.mark.e2e, pytest.mark.slow]

GA = "2023-04-01"
PREVIEW = "2025-05-15-preview"
OLD = "2022-05-01"
JOB_TIMEOUT = 600.0
TERMINAL = ("succeeded", "failed", "cancelled")
WEU = "/subscriptions/8ff19748-59ed-4e8a-af4b-7ce285849735/resourceGroups/test-rg/providers/Microsoft.CognitiveServices/accounts/LangTestWeu"  # noqa: E501
EUS = "/subscriptions/8ff19748-59ed-4e8a-af4b-7ce285849735/resourceGroups/test-rg/providers/Microsoft.CognitiveServices/accounts/LangTestEus"  # noqa: E501
SCHEMA_VERSION = {OLD: GA}
"""2022-05-01's swagger is not vendored: its examples are checked against the 2023-04-01 definitions of the
same operations (the GA job-state and deployment shapes)."""


def conforms(api_version: str, path: str, method: str, status: str, body: Any) -> None:
    found = schema.problems(SCHEMA_VERSION.get(api_version, api_version), path, method, status, body)
    assert not found, f"{method.upper()} {path} ({api_version}) {status} breaks the spec: {found}\n{body}"


# ------------------------------------------------------------------------------ the examples themselves


EXAMPLE_FILES = sorted(
    (version.name, path.stem) for version in schema.EXAMPLES.iterdir() for path in version.glob("*.json")
)


@pytest.mark.parametrize(("api_version", "name"), EXAMPLE_FILES)
def test_each_vendored_example_is_named_by_its_operation_and_its_body_validates(api_version: str, name: str) -> None:
    operations = schema.examples_of(SCHEMA_VERSION.get(api_version, api_version))
    assert name in operations, f"{api_version}/{name} is not an example of any vendored operation"
    path, method = operations[name]
    content = schema.example(api_version, name)
    assert content["parameters"]["api-version"] == api_version
    [(status, response)] = content["responses"].items()
    if "body" in response:
        conforms(api_version, path, method, status, response["body"])
    else:
        assert status == "202" and "operation-location" in response["headers"]


def test_the_schemas_reject_what_the_spec_forbids() -> None:
    # The validation has teeth: a required field missing, a date-time where a date belongs, a required null.
    body = schema.example(GA, "SuccessfulGetDeployment")["responses"]["200"]["body"]
    path = "/{projectName}/deployments/{deploymentName}"
    assert not schema.problems(GA, path, "get", "200", body)
    for change, expected in [
        ({"deploymentExpirationDate": "2023-10-28T00:00:00Z"}, "is not a 'date'"),
        ({"lastDeployedDateTime": "2022-04-18"}, "is not a 'date-time'"),
        ({"modelId": None}, "None is not of type 'string'"),
    ]:
        assert any(expected in found for found in schema.problems(GA, path, "get", "200", {**body, **change}))
    missing = {key: value for key, value in body.items() if key != "modelTrainingConfigVersion"}
    assert schema.problems(GA, path, "get", "200", missing) == ["<body>: 'modelTrainingConfigVersion' is a required property"]
    preview = schema.example(PREVIEW, "SuccessfulGetDeployment")["responses"]["200"]["body"]
    without = {key: value for key, value in preview.items() if key != "assignedResources"}
    assert schema.problems(PREVIEW, path, "get", "200", without) == ["<body>: 'assignedResources' is a required property"]


@pytest.mark.parametrize("api_version", [GA, PREVIEW])
def test_extract_cuts_the_vendored_fragment_back_out_of_a_full_swagger(api_version: str) -> None:
    # A swagger as the specs write it (descriptions, x-ms-* extensions, example $refs, operations and
    # definitions that are not about deployments) cut by extract.py gives back the vendored fragment.
    vendored = schema.fragment(api_version)

    def dress(node: Any) -> Any:
        if isinstance(node, list):
            return [dress(item) for item in node]
        if not isinstance(node, dict):
            return node
        dressed = {key: dress(value) for key, value in node.items()}
        if isinstance(node.get("properties"), dict):
            dressed["properties"] = {name: dress(value) for name, value in node["properties"].items()}
            # A property called "description" is data, not documentation: it must survive the cut.
            dressed["properties"]["description"] = {"type": "string", "description": "text"}
        return {**dressed, "description": "text", "x-ms-client-name": "n"}

    paths: dict[str, Any] = {}
    for path, methods in vendored["paths"].items():
        paths[path] = {}
        for method, operation in methods.items():
            examples = {name: {"$ref": ref} for name, ref in operation["x-ms-examples"].items()}
            responses = {status: dress(response) for status, response in operation["responses"].items()}
            paths[path][method] = {"operationId": operation["operationId"], "parameters": [{"name": "api-version"}],
                                   "responses": responses, "x-ms-examples": examples, "x-ms-long-running-operation": True}  # fmt: skip
    paths[schema.PROJECTS + "/{projectName}/models"] = {"get": {"operationId": "ListTrainedModels", "responses": {
        "200": {"schema": {"$ref": "#/definitions/Unrelated"}}}}}  # fmt: skip
    definitions = {name: dress(definition) for name, definition in vendored["definitions"].items()}
    definitions["Unrelated"] = {"type": "object"}
    cut = extract.cut({"paths": paths, "definitions": definitions}, vendored["source"])
    for definition in cut["definitions"].values():
        if "properties" in definition:
            assert definition["properties"].pop("description") == {"type": "string"}
    assert cut == vendored


# ------------------------------------------------------------------------------------- the live host


@pytest.fixture(scope="module")
def host(host_factory: Callable[..., HostProcess]) -> HostProcess:  # noqa: F811 (the imported fixture)
    return host_factory(HostNames())


@pytest.fixture(scope="module")
def project(host: HostProcess, azurite: Azurite) -> str:
    """Our project with the examples' trained model labels."""
    api = Api(host.endpoint)
    name = "spec-" + HostNames().tag
    imported_sample(api, azurite.connection_string, name, documents=30)
    for label in (schema.example(GA, "SuccessfulDeployProject")["parameters"]["body"]["trainedModelLabel"],
                  schema.example(OLD, "SuccessfulDeployProject")["parameters"]["body"]["trainedModelLabel"]):  # fmt: skip
        job = api.wait_job(train(api, name, label), timeout=JOB_TIMEOUT)
        assert job["status"] == "succeeded", job
    return name


class SpecClient:
    """Sends spec requests (path templates below ``projects``) and checks every answer against the spec."""

    def __init__(self, host: HostProcess, project: str) -> None:
        self.api = Api(host.endpoint, api_version=None)
        self.project = project

    def send(self, api_version: str, method: str, template: str, params: dict[str, str], body: Any = None,
             expected: str = "200") -> requests.Response:  # fmt: skip
        path = template.format(**{**params, "projectName": self.project})
        response = self.api.request(method.upper(), path, json_body=body, params={"api-version": api_version})
        assert str(response.status_code) == expected, (method, path, response.status_code, response.text)
        version = SCHEMA_VERSION.get(api_version, api_version)
        documented = schema.fragment(version)["paths"][schema.PROJECTS + template][method]["responses"]
        status = expected if expected in documented else "default"  # errors answer the default ErrorResponse
        if "schema" in documented[status]:
            conforms(api_version, template, method, status, response.json())
        else:
            # A 202 documents only its Operation-Location header.
            assert not response.content, (method, path, response.text)
            assert response.headers.get("operation-location"), (method, path, dict(response.headers))
        return response

    def example(self, api_version: str, name: str, **overrides: str) -> requests.Response:
        """Send example ``name`` as it is (body unchanged); its documented status is asserted."""
        content = schema.example(api_version, name)
        template, method = schema.examples_of(SCHEMA_VERSION.get(api_version, api_version))[name]
        params = {key: str(value) for key, value in content["parameters"].items() if key != "body"}
        [status] = content["responses"]
        return self.send(api_version, method, template, {**params, **overrides}, content["parameters"].get("body"),
                         expected=status)  # fmt: skip

    def wait_job(self, api_version: str, response: requests.Response, status_template: str) -> dict[str, Any]:
        """Poll the job of a 202 until it ends; every status body must match ``status_template``'s schema."""
        location = response.headers["operation-location"]
        path = urlsplit(location).path
        pattern = re.escape(PROJECTS_PATH + status_template).replace(r"\{jobId\}", "(?P<job>[^/]+)")
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", pattern)
        assert re.fullmatch(pattern, path), (location, status_template)
        assert f"api-version={api_version}" in location

        def probe() -> dict[str, Any] | None:
            answer = self.api.get(location)
            assert answer.status_code == 200, answer.text
            body: dict[str, Any] = answer.json()
            conforms(api_version, status_template, "get", "200", body)
            return body if body["status"] in TERMINAL else None

        job = eventually(probe, f"job {location}", timeout=JOB_TIMEOUT)
        assert job["status"] == "succeeded", job
        return job


@pytest.fixture(scope="module")
def spec(host: HostProcess, project: str) -> SpecClient:
    return SpecClient(host, project)


DEPLOYMENT_JOBS = "/{projectName}/deployments/{deploymentName}/jobs/{jobId}"


def test_2022_05_01_deploy_and_deployment_status(spec: SpecClient) -> None:
    job = spec.wait_job(OLD, spec.example(OLD, "SuccessfulDeployProject"), DEPLOYMENT_JOBS)
    # The status example's own request, at our job id.
    answer = spec.example(OLD, "SuccessfulGetDeploymentStatus", jobId=job["jobId"])
    assert answer.json()["jobId"] == job["jobId"] and answer.json()["status"] == "succeeded"


def test_ga_deploy_get_list(spec: SpecClient) -> None:
    spec.wait_job(GA, spec.example(GA, "SuccessfulDeployProject"), DEPLOYMENT_JOBS)
    # SuccessfulGetDeployment reads "staging": deploy it with the deploy example's body first.
    body = schema.example(GA, "SuccessfulDeployProject")["parameters"]["body"]
    put = spec.send(GA, "put", "/{projectName}/deployments/{deploymentName}", {"deploymentName": "staging"}, body,
                    expected="202")  # fmt: skip
    spec.wait_job(GA, put, DEPLOYMENT_JOBS)

    got = spec.example(GA, "SuccessfulGetDeployment").json()
    assert got["deploymentName"] == "staging" and "assignedResources" not in got
    listed = spec.example(GA, "SuccessfulListDeployments").json()
    assert [item["deploymentName"] for item in listed["value"]] == ["production", "staging"]
    assert listed["nextLink"] is None


def test_ga_swap_and_its_status(spec: SpecClient) -> None:
    before = {d["deploymentName"]: d["modelId"] for d in spec.example(GA, "SuccessfulListDeployments").json()["value"]}
    body = {"firstDeploymentName": "production", "secondDeploymentName": "staging"}  # SwapDeploymentsOptions
    swap = spec.send(GA, "post", "/{projectName}/deployments/:swap", {}, body, expected="202")
    job = spec.wait_job(GA, swap, "/{projectName}/deployments/swap/jobs/{jobId}")
    status = spec.example(GA, "SuccessfulGetSwapDeploymentsStatus", jobId=job["jobId"]).json()
    assert status["status"] == "succeeded"
    after = {d["deploymentName"]: d["modelId"] for d in spec.example(GA, "SuccessfulListDeployments").json()["value"]}
    assert after == {"production": before["staging"], "staging": before["production"]}


def test_preview_resources_deploy_get_list_and_global_list(spec: SpecClient, project: str) -> None:
    # No assign example is stored: the body is the spec's AssignDeploymentResourcesOptions for the two
    # resources the deploy example assigns.
    body = {"resourcesMetadata": [{"azureResourceId": WEU, "customDomain": "weu.example", "region": "westeurope"},
                                  {"azureResourceId": EUS, "customDomain": "eus.example", "region": "eastus"}]}  # fmt: skip
    assign = spec.send(PREVIEW, "post", "/{projectName}/resources/:assign", {}, body, expected="202")
    spec.wait_job(PREVIEW, assign, "/{projectName}/resources/assign/jobs/{jobId}")
    resources = spec.send(PREVIEW, "get", "/{projectName}/resources", {}).json()
    assert sorted(item["azureResourceId"] for item in resources["value"]) == sorted([WEU, EUS])

    spec.wait_job(PREVIEW, spec.example(PREVIEW, "SuccessfulDeployProject"), DEPLOYMENT_JOBS)
    staging = spec.example(PREVIEW, "SuccessfulGetDeployment").json()
    assert staging["assignedResources"] == []
    listed = {d["deploymentName"]: d for d in spec.example(PREVIEW, "SuccessfulListDeployments").json()["value"]}
    assert listed["production"]["assignedResources"] == [
        {"resourceId": WEU, "region": "westeurope"}, {"resourceId": EUS, "region": "eastus"}]  # fmt: skip
    everywhere = spec.example(PREVIEW, "SuccessfulListAssignedResourceDeployments").json()["value"]
    ours = [item for item in everywhere if item["projectName"] == project]
    assert [d["deploymentName"] for d in ours[0]["deploymentsMetadata"]] == ["production"]


def test_preview_delete_from_resources_and_unassign(spec: SpecClient) -> None:
    template = "/{projectName}/deployments/{deploymentName}/:delete-from-resources"
    removed = spec.send(PREVIEW, "post", template, {"deploymentName": "production"}, {"assignedResourceIds": [WEU]},
                        expected="202")  # fmt: skip
    spec.wait_job(PREVIEW, removed, "/{projectName}/deployments/{deploymentName}/delete-from-resources/jobs/{jobId}")
    production = spec.send(PREVIEW, "get", "/{projectName}/deployments/{deploymentName}", {"deploymentName": "production"})
    assert production.json()["assignedResources"] == [{"resourceId": EUS, "region": "eastus"}]

    unassign = spec.send(PREVIEW, "post", "/{projectName}/resources/:unassign", {}, {"assignedResourceIds": [WEU, EUS]},
                         expected="202")  # fmt: skip
    spec.wait_job(PREVIEW, unassign, "/{projectName}/resources/unassign/jobs/{jobId}")
    assert spec.send(PREVIEW, "get", "/{projectName}/resources", {}).json()["value"] == []


def test_ga_delete_and_the_errors_that_follow(spec: SpecClient) -> None:
    deleted = spec.example(GA, "SuccessfulDeleteDeployment")
    job = spec.wait_job(GA, deleted, DEPLOYMENT_JOBS)
    # Error answers validate against the operation's default response (ErrorResponse), with the right status.
    gone = spec.send(GA, "get", "/{projectName}/deployments/{deploymentName}", {"deploymentName": "staging"},
                     expected="404")  # fmt: skip
    assert gone.json()["error"]["target"] == "deploymentName"
    conforms(GA, "/{projectName}/deployments/{deploymentName}", "get", "default", gone.json())
    elsewhere = spec.send(GA, "get", DEPLOYMENT_JOBS, {"deploymentName": "production", "jobId": job["jobId"]},
                          expected="404")  # fmt: skip
    conforms(GA, DEPLOYMENT_JOBS, "get", "default", elsewhere.json())
    assert job["jobId"] in elsewhere.json()["error"]["message"]
