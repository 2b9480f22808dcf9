"""Deployment rows, the deployment rules and the resource bookkeeping, against Azurite."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import pytest

from shared.config import Settings
from shared.errors import Conflict, InvalidArgument, InvalidRequest, NotFound, ProjectNotFound
from shared.models import EvaluationOptions, TrainedModelRecord, utc_now
from shared.service import deployment_resources as resources
from shared.service import deployments
from shared.storage.blobs import BlobStore
from shared.storage.deployments import AssignedResource, DeploymentRecord, DeploymentStore
from shared.storage.projects import ProjectStore
from shared.storage.trained_models import ModelStore
from tests.integration.project_fixture import project_settings  # noqa: F401 (the `settings` fixture)

pytestmark = pytest.mark.integration

WEU = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/LangWeu"
EUS = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/LangEus"



def train(settings: Settings, label: str) -> TrainedModelRecord:
    """Register a model version the way training does: a new per-job folder, then the row (replaced)."""
    job_id = f"{uuid.uuid4()}_0"
    prefix = f"models/proj/{label}/{job_id}/"
    blobs = BlobStore(settings)
    blobs.put_bytes(prefix + "model.bin", job_id.encode())
    for name in ("evaluation-summary.json", "evaluation-documents.json", "snapshot.json"):
        blobs.put_json(prefix + name, {})
    record = TrainedModelRecord(
        project_name="proj",
        label=label,
        model_id=f"{label}-{uuid.uuid4().hex}",
        job_id=job_id,
        last_trained=utc_now(),
        last_training_duration_seconds=3,
        model_expiration_date=date(2099, 12, 31),
        training_config_version="2022-05-01",
        evaluation_options=EvaluationOptions(),
        model_blob=prefix + "model.bin",
        evaluation_summary_blob=prefix + "evaluation-summary.json",
        evaluation_documents_blob=prefix + "evaluation-documents.json",
        snapshot_blob=prefix + "snapshot.json",
    )
    return ModelStore(settings).upsert(record)


def deploy(settings: Settings, name: str, label: str, **extra: object) -> DeploymentRecord:
    plan = deployments.plan_deployment(settings, "proj", name, {"trainedModelLabel": label, **extra})
    return deployments.commit_deployment(settings, plan, job_id=f"job-{name}")


# ------------------------------------------------------------------------------------------ store


def test_store_round_trip_and_public_shape(settings: Settings) -> None:
    store = DeploymentStore(settings)
    now = utc_now().replace(microsecond=0)
    record = DeploymentRecord(
        project_name="proj",
        deployment_name="prod",
        model_label="m1",
        model_id="m1-abc",
        model_job_id="job",
        model_blob="models/proj/m1/job/model.bin",
        last_trained=now - timedelta(hours=1),
        last_deployed=now,
        training_config_version="2022-05-01",
        expiration_date=date(2099, 12, 31),
        assigned_resources=[AssignedResource(WEU, "westeurope")],
    )
    store.upsert(record)
    assert store.find("proj", "other") is None
    loaded = store.get("proj", "prod")
    assert loaded.etag and loaded.assigned_resources == [AssignedResource(WEU, "westeurope")]
    body = loaded.to_public()
    assert body == {
        "deploymentName": "prod",
        "modelId": "m1-abc",
        "lastTrainedDateTime": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lastDeployedDateTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "deploymentExpirationDate": "2099-12-31",
        "modelTrainingConfigVersion": "2022-05-01",
        "assignedResources": [{"resourceId": WEU, "region": "westeurope"}],
    }
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", body["deploymentExpirationDate"])
    assert "assignedResources" not in loaded.to_public(include_resources=False)

    stale = store.get("proj", "prod")
    store.upsert(loaded)  # someone else wrote: the etag read into `stale` no longer matches
    other = DeploymentRecord(**{**stale.__dict__, "deployment_name": "staging", "etag": None})
    store.upsert(other)
    other = store.get("proj", "staging")
    with pytest.raises(Conflict):
        store.replace_both(stale, other)
    assert store.get("proj", "prod").model_id == "m1-abc"

    store.delete("proj", "prod")
    store.delete("proj", "prod")  # idempotent
    with pytest.raises(NotFound) as caught:
        store.get("proj", "prod")
    assert caught.value.target == "deploymentName" and "prod" in caught.value.message


# ------------------------------------------------------------------------------------------ rules


def test_deploy_validates_the_request(settings: Settings) -> None:
    train(settings, "m1")
    with pytest.raises(ProjectNotFound):
        deployments.plan_deployment(settings, "nope", "prod", {"trainedModelLabel": "m1"})
    with pytest.raises(InvalidRequest):
        deployments.plan_deployment(settings, "proj", "prod", ["m1"])
    for body in ({}, {"trainedModelLabel": ""}, {"trainedModelLabel": 3}):
        with pytest.raises(InvalidArgument) as caught:
            deployments.plan_deployment(settings, "proj", "prod", body)
        assert caught.value.target == "trainedModelLabel"
    with pytest.raises(InvalidArgument) as caught:
        deployments.plan_deployment(settings, "proj", "prod", {"trainedModelLabel": "never-trained"})
    assert caught.value.target == "trainedModelLabel" and "never-trained" in caught.value.message
    assert caught.value.status == 400
    for name in ("swap", "SWAP", ":swap", "a/b", "x" * 101):
        with pytest.raises(InvalidArgument) as caught:
            deployments.plan_deployment(settings, "proj", name, {"trainedModelLabel": "m1"})
        assert caught.value.target == "deploymentName"
    with pytest.raises(InvalidArgument) as caught:
        deployments.plan_deployment(settings, "proj", "prod", {"trainedModelLabel": "m1", "assignedResourceIds": "x"})
    assert caught.value.target == "assignedResourceIds"


def test_at_most_ten_deployments_and_replacing_does_not_count(settings: Settings) -> None:
    train(settings, "m1")
    for index in range(deployments.MAX_DEPLOYMENTS_PER_PROJECT):
        deploy(settings, f"d{index:02d}", "m1")
    with pytest.raises(Conflict) as caught:
        deployments.plan_deployment(settings, "proj", "one-more", {"trainedModelLabel": "m1"})
    assert "10" in caught.value.message and caught.value.status == 409
    replaced = deploy(settings, "d03", "m1")  # replacing an existing deployment is fine
    assert replaced.deploy_job_id == "job-d03"
    assert len(deployments.list_deployments(settings, "proj")) == 10


def test_a_deployment_pins_the_model_version(settings: Settings) -> None:
    first = train(settings, "m1")
    before = utc_now()
    live = deploy(settings, "prod", "m1")
    assert ProjectStore(settings).get("proj").last_deployed is not None
    assert ProjectStore(settings).get("proj").last_deployed >= before.replace(microsecond=0)
    served = deployments.resolve_deployment(settings, "proj", "prod")
    assert (served.model_id, served.model_blob) == (first.model_id, first.model_blob)
    assert served.model_prefix == f"models/proj/m1/{first.job_id}/"

    second = train(settings, "m1")  # retrain the label: the live deployment keeps its version
    served = deployments.resolve_deployment(settings, "proj", "prod")
    assert (served.model_id, served.model_blob) == (first.model_id, first.model_blob)
    assert deployments.get_deployment(settings, "proj", "prod").to_public()["modelId"] == live.model_id
    assert BlobStore(settings).exists(first.model_blob)

    deploy(settings, "prod", "m1")  # redeploy: now the new version, and the old folder is released
    served = deployments.resolve_deployment(settings, "proj", "prod")
    assert (served.model_id, served.model_blob) == (second.model_id, second.model_blob)
    assert BlobStore(settings).list_names(f"models/proj/m1/{first.job_id}/") == []
    assert BlobStore(settings).exists(second.model_blob)

    with pytest.raises(NotFound) as caught:
        deployments.resolve_deployment(settings, "proj", "staging")
    assert caught.value.target == "deploymentName"
    with pytest.raises(ProjectNotFound):
        deployments.resolve_deployment(settings, "nope", "prod")


def test_a_version_still_deployed_elsewhere_is_kept(settings: Settings) -> None:
    first = train(settings, "m1")
    deploy(settings, "prod", "m1")
    deploy(settings, "staging", "m1")
    train(settings, "m1")
    deployments.delete_deployment(settings, "proj", "prod")
    assert BlobStore(settings).exists(first.model_blob), "staging still serves the first version"
    deployments.delete_deployment(settings, "proj", "staging")
    assert not BlobStore(settings).exists(first.model_blob)
    deployments.delete_deployment(settings, "proj", "staging")  # already gone: no error
    assert deployments.list_deployments(settings, "proj") == []


def test_deleting_a_deployed_model_is_refused(settings: Settings) -> None:
    train(settings, "m1")
    train(settings, "m2")
    deploy(settings, "prod", "m1")
    deploy(settings, "canary", "m1")
    with pytest.raises(Conflict) as caught:
        deployments.check_model_not_deployed(settings, "proj", "m1")
    assert "'canary', 'prod'" in caught.value.message and "m1" in caught.value.message
    assert [detail.message for detail in caught.value.details] == ["canary", "prod"]
    deployments.check_model_not_deployed(settings, "proj", "m2")  # not deployed: allowed


def test_swap_exchanges_the_pinned_models(settings: Settings) -> None:
    one = train(settings, "m1")
    two = train(settings, "m2")
    deploy(settings, "prod", "m1", assignedResourceIds=[])
    deploy(settings, "staging", "m2")
    with pytest.raises(InvalidArgument):
        deployments.check_swap(settings, "proj", {"firstDeploymentName": "prod", "secondDeploymentName": "prod"})
    with pytest.raises(InvalidArgument) as caught:
        deployments.check_swap(settings, "proj", {"firstDeploymentName": "prod"})
    assert caught.value.target == "secondDeploymentName"
    with pytest.raises(NotFound) as not_found:
        deployments.check_swap(settings, "proj", {"firstDeploymentName": "prod", "secondDeploymentName": "qa"})
    assert "qa" in not_found.value.message

    first, second = deployments.check_swap(
        settings, "proj", {"firstDeploymentName": "prod", "secondDeploymentName": "staging"}
    )
    deployments.swap_deployments(settings, "proj", first, second, job_id="swap-1")
    prod = deployments.get_deployment(settings, "proj", "prod")
    staging = deployments.get_deployment(settings, "proj", "staging")
    assert (prod.model_label, prod.model_id, prod.model_blob) == ("m2", two.model_id, two.model_blob)
    assert (staging.model_label, staging.model_id, staging.model_blob) == ("m1", one.model_id, one.model_blob)
    assert prod.deploy_job_id == staging.deploy_job_id == "swap-1"
    assert deployments.deployments_of_label(settings, "proj", "m1") == ["staging"]


# ------------------------------------------------------------------------------------------ resources


def test_resource_assignment_bookkeeping(settings: Settings) -> None:
    train(settings, "m1")
    with pytest.raises(InvalidArgument) as caught:
        resources.check_assign(settings, "proj", {"resourcesMetadata": [{"azureResourceId": WEU}]})
    assert {d.target for d in caught.value.details} == {
        "resourcesMetadata[0].customDomain",
        "resourcesMetadata[0].region",
    }
    items = resources.check_assign(
        settings,
        "proj",
        {
            "resourcesMetadata": [
                {"azureResourceId": WEU, "customDomain": "weu.example", "region": "westeurope"},
                {"azureResourceId": EUS, "customDomain": "eus.example", "region": "eastus"},
            ]
        },
    )
    resources.assign_resources(settings, "proj", items)
    assert resources.list_resources(settings, "proj") == [
        {"azureResourceId": EUS, "region": "eastus"},
        {"azureResourceId": WEU, "region": "westeurope"},
    ]

    with pytest.raises(InvalidArgument) as caught:
        deploy(settings, "prod", "m1", assignedResourceIds=[WEU, "/subscriptions/x/unknown"])
    assert caught.value.details[0].message == "/subscriptions/x/unknown"
    prod = deploy(settings, "prod", "m1", assignedResourceIds=[WEU, EUS.upper()])
    assert prod.to_public()["assignedResources"] == [
        {"resourceId": WEU, "region": "westeurope"},
        {"resourceId": EUS, "region": "eastus"},
    ]
    # The spec example's shape: assignedResources objects.
    staging = deploy(settings, "staging", "m1", assignedResources=[{"resourceId": EUS, "region": "eastus"}])
    assert [r.resource_id for r in staging.assigned_resources] == [EUS]
    deploy(settings, "local-only", "m1")
    assert resources.assigned_resource_deployments(settings)[0]["projectName"] == "proj"
    listed = resources.assigned_resource_deployments(settings)
    assert [d["deploymentName"] for d in listed[0]["deploymentsMetadata"]] == ["prod", "staging"]

    with pytest.raises(InvalidArgument):
        resources.check_delete_from_resources(settings, "proj", "staging", (WEU,))
    resources.check_delete_from_resources(settings, "proj", "prod", (WEU,))
    resources.delete_from_resources(settings, "proj", "prod", (WEU,))
    assert [r.resource_id for r in deployments.get_deployment(settings, "proj", "prod").assigned_resources] == [EUS]

    with pytest.raises(InvalidArgument):
        resources.check_unassign(settings, "proj", {"assignedResourceIds": ["/subscriptions/x/unknown"]})
    ids = resources.check_unassign(settings, "proj", {"assignedResourceIds": [EUS]})
    resources.unassign_resources(settings, "proj", ids)
    assert resources.list_resources(settings, "proj") == [{"azureResourceId": WEU, "region": "westeurope"}]
    assert deployments.get_deployment(settings, "proj", "prod").assigned_resources == []
    assert deployments.get_deployment(settings, "proj", "staging").assigned_resources == []
    assert resources.assigned_resource_deployments(settings) == []

    deploy(settings, "prod", "m1", assignedResourceIds=[WEU])
    resources.delete_from_resources(settings, "proj", "prod", ())  # no ids: every resource
    assert deployments.get_deployment(settings, "proj", "prod").assigned_resources == []

    assert deployments.delete_project_deployments(settings, "proj") == 3
    assert DeploymentStore(settings).list("proj") == [] and resources.list_resources(settings, "proj") == []
