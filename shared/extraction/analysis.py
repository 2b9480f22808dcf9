"""One task's work on a batch of documents: per-document results and errors in Azure's shapes.

A document that cannot be analysed (empty text, unsupported language) becomes an entry of
``results.errors``; every other document a ``results.documents`` entry with its entities, whose
``offset``/``length`` are counted in the task's ``stringIndexType`` and whose ``text`` is exactly the
document's text at that span.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.extraction.prediction import PredictedEntity
from shared.extraction.request import DocumentProblem, InputDocument, document_problem
from shared.extraction.text_elements import IndexedText, StringIndexType

Predictor = Callable[[Sequence[str]], list[list[PredictedEntity]]]

CONFIDENCE_DIGITS = 4

# Azure's outer error for each per-document inner code.
_OUTER_MESSAGES = {
    "InvalidDocument": "Invalid document in request.",
    "UnsupportedLanguageCode": "Invalid Language Code.",
}


@dataclass
class BatchResult:
    """What a batch produced for one task: ``documents`` and ``errors`` entries, in input order."""

    documents: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


def document_error(doc_id: str, problem: DocumentProblem) -> dict[str, Any]:
    """A ``results.errors`` entry (``DocumentError``): Azure's generic outer error plus the exact reason."""
    return {
        "id": doc_id,
        "error": {
            "code": "InvalidArgument",
            "message": _OUTER_MESSAGES.get(problem.inner_code, "Invalid document in request."),
            "innererror": {"code": problem.inner_code, "message": problem.message},
        },
    }


def entity_json(text: IndexedText, entity: PredictedEntity, scheme: StringIndexType) -> dict[str, Any]:
    """An ``Entity``: the span snapped to whole grapheme clusters, counted in ``scheme``."""
    start, end = text.snap(entity.start, entity.end)
    offset, length = text.span(start, end, scheme)
    return {
        "text": text.text[start:end],
        "category": entity.category,
        "offset": offset,
        "length": length,
        "confidenceScore": round(entity.confidence, CONFIDENCE_DIGITS),
    }


def analyze_batch(
    documents: Sequence[InputDocument], predict: Predictor, scheme: StringIndexType
) -> BatchResult:
    """Run ``predict`` on the usable documents of a batch and shape every document's outcome."""
    result = BatchResult()
    usable = [doc for doc in documents if document_problem(doc) is None]
    predictions = dict(zip((doc.id for doc in usable), predict([doc.text for doc in usable]), strict=True))
    for doc in documents:
        problem = document_problem(doc)
        if problem is not None:
            result.errors.append(document_error(doc.id, problem))
            continue
        text = IndexedText(doc.text)
        result.documents.append(
            {
                "id": doc.id,
                "entities": [entity_json(text, entity, scheme) for entity in predictions[doc.id]],
                "warnings": [],
            }
        )
    return result
