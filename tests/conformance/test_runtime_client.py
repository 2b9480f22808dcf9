"""Microsoft's runtime client, ``azure-ai-textanalytics`` 5.x, unchanged, against the local host.

The generated sample project is trained and deployed once; then, through the real client (run in a
subprocess with ``.venv/textanalytics5`` first on ``PYTHONPATH``: the 5.x client cannot be installed next
to the authoring client, see requirements-textanalytics5.txt):

- Microsoft's own ``sample_recognize_custom_entities.py`` (tests/conformance/microsoft_samples, unchanged)
  runs as a user runs it, its environment variables pointing at the local host, and prints entities;
- ``begin_recognize_custom_entities`` on 25 documents (two result pages, which the client follows through
  ``nextLink``) returns every document, in order, with entities located by their offsets (the client asks
  for ``UnicodeCodePoint``) and confidence scores in [0, 1];
- ``begin_analyze_actions`` with two ``RecognizeCustomEntitiesAction``s (one in ``Utf16CodeUnit``) returns
  both actions' results per document, and a per-document error for an empty document;
- an unknown deployment is an ``HttpResponseError`` naming it;
- the 6.x client (``begin_analyze_text_job``, in-process: it is the version installed in .venv) at its own
  default api-version.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import regex

from devhost.azurite import Azurite
from tests.e2e.conftest import (  # noqa: F401
    KEY,
    Api,
    HostNames,
    HostProcess,
    host_factory,
    imported_sample,
    train_and_deploy,
)

pytestmark = [pytest.mark.conformance, pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CLIENT_DIR = ROOT / ".venv" / "textanalytics5"
SAMPLES = Path(__file__).parent / "microsoft_samples" / "textanalytics"
RUNNER = Path(__file__).parent / "textanalytics5_client.py"
DOCUMENTS = 60
TRAINING_TIMEOUT = 600.0
CLIENT_TIMEOUT = 300.0

if not (CLIENT_DIR / "azure" / "ai" / "textanalytics").is_dir():
    pytest.skip("azure-ai-textanalytics 5.x is not installed in .venv/textanalytics5 (run scripts/setup)", allow_module_level=True)


def _client_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(CLIENT_DIR)
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def names() -> HostNames:
    return HostNames()


@pytest.fixture(scope="module")
def host(host_factory: Callable[..., HostProcess], names: HostNames) -> HostProcess:  # noqa: F811
    return host_factory(names, NER_TRAIN_MAX_STEPS="300", NER_TRAIN_EVAL_FREQUENCY="50", NER_TRAIN_CHUNK_SECONDS="5")


@pytest.fixture(scope="module")
def deployed(host: HostProcess, azurite: Azurite, names: HostNames) -> dict[str, Any]:
    from samples.generate import generate_sample_documents

    api = Api(host.endpoint)
    project = f"{names.tag}-ta5"
    imported_sample(api, azurite.connection_string, project, documents=DOCUMENTS)
    train_and_deploy(api, project, timeout=TRAINING_TIMEOUT)
    return {"project": project, "documents": generate_sample_documents(documents=DOCUMENTS)}


def _call(host: HostProcess, deployed: dict[str, Any], call: str, documents: list[Any], **extra: Any) -> dict[str, Any]:
    command = {
        "call": call,
        "endpoint": host.endpoint,
        "key": KEY,
        "project": deployed["project"],
        "deployment": "prod",
        "documents": documents,
        **extra,
    }  # extra may replace the deployment
    done = subprocess.run(
        [sys.executable, str(RUNNER), json.dumps(command)],
        env=_client_env(),
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_microsofts_sample_runs_unchanged(host: HostProcess, deployed: dict[str, Any]) -> None:
    env = _client_env(
        AZURE_LANGUAGE_ENDPOINT=host.endpoint,
        AZURE_LANGUAGE_KEY=KEY,
        CUSTOM_ENTITIES_PROJECT_NAME=deployed["project"],
        CUSTOM_ENTITIES_DEPLOYMENT_NAME="prod",
    )
    done = subprocess.run(
        [sys.executable, str(SAMPLES / "sample_recognize_custom_entities.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines and all(line.startswith("Entity '") for line in lines), done.stdout[-2000:]
    for line in lines:  # "Entity '<text>' has category '<category>' with confidence score of '<score>'"
        score = float(line.rsplit("'", 2)[-2])
        assert 0.0 <= score <= 1.0, line


def test_recognize_custom_entities_pages_and_locates_entities(host: HostProcess, deployed: dict[str, Any]) -> None:
    sources = deployed["documents"][:25]
    out = _call(host, deployed, "recognize", [{"id": d.location, "text": d.text, "language": "en"} for d in sources],
                display_name="conformance")
    assert out["status"] == "succeeded", out
    assert out["details"]["display_name"] == "conformance"
    results = out["results"]
    assert [r["id"] for r in results] == [d.location for d in sources]  # both pages, in order
    right = 0
    for result, source in zip(results, sources, strict=True):
        assert result["kind"] == "CustomEntityRecognition", result
        gold = {(label.text, label.category) for label in source.labels}
        for entity in result["entities"]:
            assert source.text[entity["offset"] : entity["offset"] + entity["length"]] == entity["text"]
            assert 0.0 <= entity["confidence_score"] <= 1.0
            right += (entity["text"], entity["category"]) in gold
    assert right >= 25, right


def test_analyze_actions_with_two_custom_entity_actions(host: HostProcess, deployed: dict[str, Any]) -> None:
    source = deployed["documents"][1]  # po_002: an emoji before its labels, so the two index types differ
    out = _call(host, deployed, "actions", [{"id": "doc", "text": source.text, "language": "en"}, {"id": "empty", "text": " ", "language": "en"}])
    assert out["status"] == "succeeded", out
    (doc_actions, empty_actions) = out["results"]
    code_points, utf16 = doc_actions
    assert [(e["text"], e["category"]) for e in code_points["entities"]] == [(e["text"], e["category"]) for e in utf16["entities"]]
    assert code_points["entities"], code_points
    units = source.text.encode("utf-16-le")
    for entity in utf16["entities"]:
        assert units[2 * entity["offset"] : 2 * (entity["offset"] + entity["length"])].decode("utf-16-le") == entity["text"]
    assert any(a["offset"] != b["offset"] for a, b in zip(code_points["entities"], utf16["entities"], strict=True))
    assert [action["error"]["code"] for action in empty_actions] == ["InvalidDocument", "InvalidDocument"]


def test_an_unknown_deployment_is_an_error_naming_it(host: HostProcess, deployed: dict[str, Any]) -> None:
    out = _call(host, deployed, "recognize", [{"id": "1", "text": "hello", "language": "en"}], deployment="staging")
    assert out["http_error"]["status"] == 404 and "staging" in out["http_error"]["message"], out


def test_the_6x_client_runs_a_custom_entity_job_at_its_default_api_version(host: HostProcess, deployed: dict[str, Any]) -> None:
    """``azure-ai-textanalytics`` 6.x (installed next to the authoring client), in-process, at its own default
    api-version (``2026-05-15-preview`` in 6.0.0b3): ``begin_analyze_text_job`` with a ``CustomEntitiesLROTask``."""
    from azure.ai.textanalytics import TextAnalysisClient
    from azure.ai.textanalytics.models import (
        CustomEntitiesActionContent,
        CustomEntitiesLROTask,
        CustomEntityRecognitionOperationResult,
        MultiLanguageInput,
        MultiLanguageTextInput,
    )
    from azure.core.credentials import AzureKeyCredential

    sources = deployed["documents"][:5]
    client = TextAnalysisClient(host.endpoint, AzureKeyCredential(KEY))
    poller = client.begin_analyze_text_job(
        text_input=MultiLanguageTextInput(
            multi_language_inputs=[MultiLanguageInput(id=d.location, text=d.text, language="en") for d in sources]
        ),
        actions=[
            CustomEntitiesLROTask(
                name="ner",
                parameters=CustomEntitiesActionContent(project_name=deployed["project"], deployment_name="prod"),
            )
        ],
        polling_interval=0.2,
    )
    state = poller.result(timeout=CLIENT_TIMEOUT)
    assert state.status == "succeeded", state
    assert state.actions.completed == state.actions.total == 1 and state.actions.failed == 0
    (item,) = state.actions.items_property or []
    assert isinstance(item, CustomEntityRecognitionOperationResult) and item.task_name == "ner", item
    documents = item.results.documents
    assert [d.id for d in documents] == [d.location for d in sources]
    found = 0
    for document, source in zip(documents, sources, strict=True):
        gold = {(label.text, label.category) for label in source.labels}
        # 6.x leaves the string index to the service's default, TextElements_v8: offsets count grapheme
        # clusters (a CRLF is one), so the expected text is cut from the document's graphemes
        graphemes = regex.findall(r"\X", source.text)
        for entity in document.entities:
            assert "".join(graphemes[entity.offset : entity.offset + entity.length]) == entity.text
            assert 0.0 <= entity.confidence_score <= 1.0
            found += (entity.text, entity.category) in gold
    assert found >= 5, found
