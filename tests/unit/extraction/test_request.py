"""Validation of POST /language/analyze-text/jobs bodies: limits, error JSON, per-task/per-document rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.errors import AppError
from shared.extraction.request import (
    ECHO_LIMIT,
    MAX_CHARACTERS,
    MAX_DOCUMENTS,
    CustomEntityTask,
    InputDocument,
    UnsupportedTask,
    document_problem,
    parse_job_request,
)
from shared.extraction.text_elements import StringIndexType


def _task(**parameters: Any) -> dict[str, Any]:
    params = {"projectName": "loans", "deploymentName": "prod", **parameters}
    return {"kind": "CustomEntityRecognition", "taskName": "0", "parameters": params}


def _body(
    documents: list[dict[str, Any]] | None = None, tasks: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "displayName": "extract",
        "analysisInput": {
            "documents": documents if documents is not None else [{"id": "1", "text": "Hi", "language": "en"}]
        },
        "tasks": tasks if tasks is not None else [_task()],
    }


def _error(body: object) -> tuple[int, dict[str, Any]]:
    with pytest.raises(AppError) as caught:
        parse_job_request(body)
    payload = json.loads(json.dumps({"error": caught.value.to_dict()}))
    return caught.value.status, payload["error"]


def test_a_valid_request_is_parsed() -> None:
    request = parse_job_request(
        {
            "displayName": "Extracting entities",
            "analysisInput": {
                "documents": [
                    {"id": "a", "text": "Alice lives in Paris", "language": "en"},
                    {"id": "b", "text": "Bob"},
                ]
            },
            "tasks": [
                _task(stringIndexType="Utf16CodeUnit"),
                {
                    "kind": "CustomEntityRecognition",
                    "parameters": {"projectName": "p", "deploymentName": "d"},
                },
            ],
            "defaultLanguage": "de",
        }
    )
    assert request.display_name == "Extracting entities"
    assert request.documents == (
        InputDocument("a", "Alice lives in Paris", "en"),
        InputDocument("b", "Bob", "de"),
    )
    first, second = request.custom_tasks
    assert first == CustomEntityTask(0, "0", "loans", "prod", StringIndexType.UTF16_CODE_UNIT)
    assert (second.task_name, second.string_index_type) == (None, StringIndexType.TEXT_ELEMENTS_V8)


def test_too_many_documents_is_invalid_document_batch() -> None:
    status, error = _error(_body([{"id": str(i), "text": "x"} for i in range(MAX_DOCUMENTS + 1)]))
    assert status == 400
    assert error["code"] == "InvalidRequest"
    assert error["innererror"]["code"] == "InvalidDocumentBatch"
    assert "Max 25 records are permitted" in error["innererror"]["message"]
    # exactly at the limit is fine
    assert (
        len(parse_job_request(_body([{"id": str(i), "text": "x"} for i in range(MAX_DOCUMENTS)])).documents)
        == 25
    )


def test_too_many_characters_is_413_naming_the_limit() -> None:
    half = MAX_CHARACTERS // 2
    at_limit = [{"id": "1", "text": "a" * half}, {"id": "2", "text": "b" * (MAX_CHARACTERS - half)}]
    assert len(parse_job_request(_body(at_limit)).documents) == 2
    over = [{"id": "1", "text": "a" * half}, {"id": "2", "text": "b" * (MAX_CHARACTERS - half + 1)}]
    status, error = _error(_body(over))
    assert status == 413
    assert error["innererror"]["code"] == "InvalidDocumentBatch"
    assert "125,001" in error["message"] and "125,000" in error["message"]
    assert len(json.dumps(error)) < 1000  # the documents are not echoed


def test_duplicate_ids_name_the_id() -> None:
    status, error = _error(_body([{"id": "7", "text": "a"}, {"id": "7", "text": "b"}]))
    assert status == 400
    assert error["innererror"]["code"] == "InvalidDocument"
    assert "'7'" in error["message"] and error["target"] == "analysisInput.documents[1].id"


@pytest.mark.parametrize(
    ("body", "inner", "target"),
    [
        ({}, "EmptyRequest", "body"),
        ([1, 2], "InvalidRequestBodyFormat", "body"),
        ({"tasks": [_task()]}, "InvalidRequestBodyFormat", "analysisInput"),
        (_body(documents=[]), "MissingInputDocuments", "analysisInput.documents"),
        (_body(tasks=[]), "InvalidRequestBodyFormat", "tasks"),
        (_body([{"text": "no id"}]), "InvalidRequestBodyFormat", "analysisInput.documents[0].id"),
        (_body([{"id": "1"}]), "InvalidRequestBodyFormat", "analysisInput.documents[0].text"),
        (
            _body([{"id": "1", "text": "x", "language": 5}]),
            "InvalidParameterValue",
            "analysisInput.documents[0].language",
        ),
    ],
)
def test_malformed_bodies_name_the_field(body: object, inner: str, target: str) -> None:
    status, error = _error(body)
    assert status == 400
    assert error["innererror"]["code"] == inner
    assert error["target"] == target
    assert set(error) == {"code", "message", "target", "details", "innererror"}


@pytest.mark.parametrize(
    ("task", "target"),
    [
        (_task(projectName=""), "tasks[0].parameters.projectName"),
        (
            {"kind": "CustomEntityRecognition", "parameters": {"projectName": "p"}},
            "tasks[0].parameters.deploymentName",
        ),
        ({"kind": "CustomEntityRecognition"}, "tasks[0].parameters"),
        (_task(stringIndexType="Bytes"), "tasks[0].parameters.stringIndexType"),
        (_task(loggingOptOut="yes"), "tasks[0].parameters.loggingOptOut"),
        ({"kind": "Astrology", "parameters": {}}, "tasks[0].kind"),
    ],
)
def test_bad_tasks_name_the_parameter(task: dict[str, Any], target: str) -> None:
    status, error = _error(_body(tasks=[task]))
    assert status == 400
    assert error["target"] == target
    assert error["code"] in {"InvalidArgument", "InvalidRequest"}


def test_a_task_kind_this_service_does_not_run_is_kept_as_an_unsupported_task() -> None:
    request = parse_job_request(_body(tasks=[{"kind": "EntityRecognition", "taskName": "ner"}, _task()]))
    unsupported, custom = request.tasks
    assert unsupported == UnsupportedTask(0, "ner", "EntityRecognition")
    assert "EntityRecognition" in unsupported.message and "CustomEntityRecognition" in unsupported.message
    assert isinstance(custom, CustomEntityTask) and custom.index == 1


def test_user_values_are_echoed_shortened() -> None:
    long_id = "x" * 10_000
    _, error = _error(_body([{"id": long_id, "text": "a"}, {"id": long_id, "text": "b"}]))
    assert len(error["message"]) < 2 * ECHO_LIMIT + 200
    _, error = _error(_body(tasks=[{"kind": "k" * 5000}]))
    assert len(error["message"]) < 1000


def test_document_problems_are_per_document() -> None:
    assert document_problem(InputDocument("1", "fine", "en")) is None
    assert document_problem(InputDocument("1", "fine", None)) is None
    assert document_problem(InputDocument("1", "fine", "EN-us")) is None
    empty = document_problem(InputDocument("1", "   ", "en"))
    assert (
        empty is not None
        and empty.inner_code == "InvalidDocument"
        and empty.message == "Document text is empty."
    )
    language = document_problem(InputDocument("1", "Hola", "klingon"))
    assert language is not None and language.inner_code == "UnsupportedLanguageCode"
    assert "klingon" in language.message


def test_request_round_trips_through_json() -> None:
    request = parse_job_request(
        _body(
            [{"id": "a", "text": "Zoe\u0301 \U0001f44d", "language": "en"}, {"id": "b", "text": "x"}],
            [_task(stringIndexType="UnicodeCodePoint"), {"kind": "Healthcare"}],
        )
    )
    assert type(request).from_dict(json.loads(json.dumps(request.to_dict()))) == request
