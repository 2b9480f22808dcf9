"""Parsing and validation of ``POST /language/analyze-text/jobs`` (``AnalyzeTextJobsInput``).

What is refused with a 4xx before any job exists (Azure's error JSON with an inner code):

- a body that is not a JSON object, no ``analysisInput.documents`` or no ``tasks`` (required in the spec);
- more than 25 documents (400 ``InvalidDocumentBatch``) or more than 125,000 characters together (413
  ``InvalidDocumentBatch``, like Azure's "payload too large"); duplicate document ids (400
  ``InvalidDocument``); a document without ``id`` or ``text``;
- a ``CustomEntityRecognition`` task without ``projectName``/``deploymentName`` or with an unknown
  ``stringIndexType``; a task ``kind`` that is not one of Azure's job task kinds; more than
  :data:`MAX_TASKS` tasks.

What is *not* refused, because Azure reports it inside the job instead:

- a document whose text is empty or whose ``language`` is not supported: a per-document entry in each
  task's ``results.errors`` (:func:`document_problem`);
- a task kind Azure offers but this service does not (``EntityRecognition``, ``Healthcare``...): a failed
  task with an error naming the kind (:class:`UnsupportedTask`), while the other tasks run.

Characters are counted as Unicode code points (Python ``len``). Messages echo user-supplied values
shortened to :data:`ECHO_LIMIT` characters, so an error stays small whatever the request holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.extraction.errors import (
    EMPTY_REQUEST,
    INVALID_DOCUMENT,
    INVALID_DOCUMENT_BATCH,
    INVALID_PARAMETER_VALUE,
    INVALID_REQUEST_BODY_FORMAT,
    MISSING_INPUT_DOCUMENTS,
    UNSUPPORTED_LANGUAGE_CODE,
    InvalidRuntimeArgument,
    InvalidRuntimeRequest,
    PayloadTooLarge,
)
from shared.extraction.text_elements import StringIndexType, parse_string_index_type
from shared.ner.languages import is_supported_language

MAX_DOCUMENTS = 25
MAX_CHARACTERS = 125_000
MAX_TASKS = 25  # Azure documents no number; a bound keeps one job's work finite
ECHO_LIMIT = 64

CUSTOM_ENTITY_RECOGNITION = "CustomEntityRecognition"
# Azure's job task kinds (AnalyzeTextLROTaskKind, 2023-04-01 and 2022-05-01); only the first runs here.
KNOWN_TASK_KINDS = (
    CUSTOM_ENTITY_RECOGNITION,
    "SentimentAnalysis",
    "EntityRecognition",
    "PiiEntityRecognition",
    "KeyPhraseExtraction",
    "EntityLinking",
    "Healthcare",
    "ExtractiveSummarization",
    "AbstractiveSummarization",
    "CustomSingleLabelClassification",
    "CustomMultiLabelClassification",
)


def echo(value: object) -> str:
    """A user-supplied value, shortened for an error message."""
    text = str(value)
    return text if len(text) <= ECHO_LIMIT else text[: ECHO_LIMIT - 1] + "…"


@dataclass(frozen=True)
class InputDocument:
    """One ``analysisInput.documents`` entry. ``language`` is None when neither it nor a default is given."""

    id: str
    text: str
    language: str | None


@dataclass(frozen=True)
class CustomEntityTask:
    """A ``CustomEntityRecognition`` task: which deployment predicts and how offsets are counted."""

    index: int
    task_name: str | None
    project_name: str
    deployment_name: str
    string_index_type: StringIndexType
    logging_opt_out: bool = False

    kind = CUSTOM_ENTITY_RECOGNITION


@dataclass(frozen=True)
class UnsupportedTask:
    """A task of a kind Azure offers and this service does not: it fails alone, with this message."""

    index: int
    task_name: str | None
    kind: str

    @property
    def message(self) -> str:
        return (
            f"Task kind '{self.kind}' is not supported by this service; only "
            f"'{CUSTOM_ENTITY_RECOGNITION}' tasks run here."
        )


Task = CustomEntityTask | UnsupportedTask


@dataclass(frozen=True)
class AnalyzeJobRequest:
    """A validated job request."""

    display_name: str | None
    documents: tuple[InputDocument, ...]
    tasks: tuple[Task, ...]

    @property
    def custom_tasks(self) -> list[CustomEntityTask]:
        return [task for task in self.tasks if isinstance(task, CustomEntityTask)]

    def to_dict(self) -> dict[str, Any]:
        """JSON form, for the job's stored input and activity payloads (:meth:`from_dict` reads it back)."""
        return {
            "displayName": self.display_name,
            "documents": [[doc.id, doc.text, doc.language] for doc in self.documents],
            "tasks": [_task_to_dict(task) for task in self.tasks],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnalyzeJobRequest:
        return cls(
            display_name=data.get("displayName"),
            documents=tuple(InputDocument(str(i), str(t), lang) for i, t, lang in data["documents"]),
            tasks=tuple(_task_from_dict(task) for task in data["tasks"]),
        )


def _task_to_dict(task: Task) -> dict[str, Any]:
    if isinstance(task, UnsupportedTask):
        return {"index": task.index, "taskName": task.task_name, "kind": task.kind}
    return {
        "index": task.index,
        "taskName": task.task_name,
        "kind": task.kind,
        "projectName": task.project_name,
        "deploymentName": task.deployment_name,
        "stringIndexType": task.string_index_type.value,
        "loggingOptOut": task.logging_opt_out,
    }


def _task_from_dict(data: Mapping[str, Any]) -> Task:
    if data["kind"] != CUSTOM_ENTITY_RECOGNITION:
        return UnsupportedTask(int(data["index"]), data.get("taskName"), str(data["kind"]))
    return CustomEntityTask(
        index=int(data["index"]),
        task_name=data.get("taskName"),
        project_name=str(data["projectName"]),
        deployment_name=str(data["deploymentName"]),
        string_index_type=StringIndexType(data["stringIndexType"]),
        logging_opt_out=bool(data.get("loggingOptOut", False)),
    )


@dataclass(frozen=True)
class DocumentProblem:
    """Why one document cannot be analysed (reported per document in ``results.errors``)."""

    inner_code: str
    message: str


def _bad_body(message: str, target: str, inner: str = INVALID_REQUEST_BODY_FORMAT) -> InvalidRuntimeRequest:
    return InvalidRuntimeRequest(message, target=target, inner_code=inner)


def _bad_value(message: str, target: str) -> InvalidRuntimeArgument:
    return InvalidRuntimeArgument(message, target=target, inner_code=INVALID_PARAMETER_VALUE)


def _optional_string(value: object, target: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad_value(f"'{target}' must be a string.", target)
    return value


def _parse_documents(analysis_input: object, default_language: str | None) -> tuple[InputDocument, ...]:
    if not isinstance(analysis_input, Mapping):
        raise _bad_body(
            "'analysisInput' is required and must be an object with 'documents'.", "analysisInput"
        )
    raw_documents = analysis_input.get("documents")
    if raw_documents is None or raw_documents == []:
        raise _bad_body(
            "'analysisInput.documents' is required and must hold at least one document.",
            "analysisInput.documents",
            MISSING_INPUT_DOCUMENTS,
        )
    if not isinstance(raw_documents, list):
        raise _bad_body("'analysisInput.documents' must be an array.", "analysisInput.documents")
    if len(raw_documents) > MAX_DOCUMENTS:
        raise InvalidRuntimeRequest(
            f"Batch request contains too many records: {len(raw_documents)}. "
            f"Max {MAX_DOCUMENTS} records are permitted.",
            target="analysisInput.documents",
            inner_code=INVALID_DOCUMENT_BATCH,
        )
    documents: list[InputDocument] = []
    seen: set[str] = set()
    characters = 0
    for position, raw in enumerate(raw_documents):
        target = f"analysisInput.documents[{position}]"
        if not isinstance(raw, Mapping):
            raise _bad_body(f"'{target}' must be an object with 'id' and 'text'.", target)
        doc_id = raw.get("id")
        if not isinstance(doc_id, str) or not doc_id:
            raise _bad_body(f"'{target}.id' is required and must be a non-empty string.", f"{target}.id")
        text = raw.get("text")
        if not isinstance(text, str):
            raise _bad_body(
                f"Document '{echo(doc_id)}': 'text' is required and must be a string.", f"{target}.text"
            )
        language = _optional_string(raw.get("language"), f"{target}.language") or default_language
        if doc_id in seen:
            raise InvalidRuntimeRequest(
                f"Request contains duplicated Ids ('{echo(doc_id)}'). Make sure each document has a unique Id.",
                target=f"{target}.id",
                inner_code=INVALID_DOCUMENT,
            )
        seen.add(doc_id)
        characters += len(text)
        documents.append(InputDocument(doc_id, text, language))
    if characters > MAX_CHARACTERS:
        raise PayloadTooLarge(
            f"Request Payload sent is too large to be processed: the documents hold {characters:,} "
            f"characters together; at most {MAX_CHARACTERS:,} are permitted per request.",
            target="analysisInput.documents",
            inner_code=INVALID_DOCUMENT_BATCH,
        )
    return tuple(documents)


def _parse_task(position: int, raw: object) -> Task:
    target = f"tasks[{position}]"
    if not isinstance(raw, Mapping):
        raise _bad_body(f"'{target}' must be an object with 'kind' and 'parameters'.", target)
    kind = raw.get("kind")
    task_name = _optional_string(raw.get("taskName"), f"{target}.taskName")
    if kind not in KNOWN_TASK_KINDS:
        raise _bad_value(
            f"'{target}.kind' is '{echo(kind)}'; expected one of: {', '.join(KNOWN_TASK_KINDS)}.",
            f"{target}.kind",
        )
    if kind != CUSTOM_ENTITY_RECOGNITION:
        return UnsupportedTask(position, task_name, str(kind))
    parameters = raw.get("parameters")
    if not isinstance(parameters, Mapping):
        raise _bad_body(
            f"'{target}.parameters' is required with 'projectName' and 'deploymentName'.",
            f"{target}.parameters",
        )
    names: dict[str, str] = {}
    for field in ("projectName", "deploymentName"):
        value = parameters.get(field)
        if not isinstance(value, str) or not value.strip():
            raise _bad_value(
                f"'{target}.parameters.{field}' is required and must be a non-empty string.",
                f"{target}.parameters.{field}",
            )
        names[field] = value
    raw_index_type = _optional_string(
        parameters.get("stringIndexType"), f"{target}.parameters.stringIndexType"
    )
    index_type = parse_string_index_type(raw_index_type)
    if index_type is None:
        raise _bad_value(
            f"'{target}.parameters.stringIndexType' is '{echo(raw_index_type)}'; expected one of: "
            + ", ".join(member.value for member in StringIndexType)
            + ".",
            f"{target}.parameters.stringIndexType",
        )
    opt_out = parameters.get("loggingOptOut", False)
    if not isinstance(opt_out, bool):
        raise _bad_value(
            f"'{target}.parameters.loggingOptOut' must be a boolean.", f"{target}.parameters.loggingOptOut"
        )
    return CustomEntityTask(
        index=position,
        task_name=task_name,
        project_name=names["projectName"],
        deployment_name=names["deploymentName"],
        string_index_type=index_type,
        logging_opt_out=opt_out,
    )


def parse_job_request(body: object) -> AnalyzeJobRequest:
    """Validate a job request body (already decoded from JSON).

    Raises:
        InvalidRuntimeRequest / InvalidRuntimeArgument / PayloadTooLarge: naming the field, document or
            task at fault, with Azure's inner error code.
    """
    if body is None or body == {}:
        raise _bad_body("The request body is empty.", "body", EMPTY_REQUEST)
    if not isinstance(body, Mapping):
        raise _bad_body("The request body must be a JSON object.", "body")
    display_name = _optional_string(body.get("displayName"), "displayName")
    default_language = _optional_string(body.get("defaultLanguage"), "defaultLanguage")
    raw_tasks = body.get("tasks")
    if not isinstance(raw_tasks, list) or not raw_tasks:
        raise _bad_body("'tasks' is required and must hold at least one task.", "tasks")
    if len(raw_tasks) > MAX_TASKS:
        raise _bad_value(
            f"The request has {len(raw_tasks)} tasks; at most {MAX_TASKS} are permitted.", "tasks"
        )
    documents = _parse_documents(body.get("analysisInput"), default_language)
    tasks = tuple(_parse_task(position, raw) for position, raw in enumerate(raw_tasks))
    return AnalyzeJobRequest(display_name=display_name, documents=documents, tasks=tasks)


def document_problem(document: InputDocument) -> DocumentProblem | None:
    """Why ``document`` cannot be analysed, or None. Reported in ``results.errors``, as Azure does."""
    if not document.text.strip():
        return DocumentProblem(INVALID_DOCUMENT, "Document text is empty.")
    if document.language is not None and not is_supported_language(document.language):
        return DocumentProblem(
            UNSUPPORTED_LANGUAGE_CODE,
            f"Invalid language code '{echo(document.language)}'. Custom entity recognition supports the "
            "languages listed for Custom NER (for example 'en', 'de', 'fr').",
        )
    return None
