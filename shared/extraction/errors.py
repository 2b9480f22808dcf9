"""Errors of the runtime API, with the ``innererror`` Azure's runtime adds to its error JSON.

Azure's runtime answers a bad request with an outer code (``InvalidRequest``/``InvalidArgument``) and an
``innererror`` whose code says what exactly is wrong (``InvalidDocumentBatch``, ``InvalidParameterValue``,
...). Microsoft's ``azure-ai-textanalytics`` 5.x raises ``HttpResponseError`` with the *inner* code as
``error.code`` (its ``CSODataV4Format``), so both levels matter. The HTTP layer renders any ``AppError``
with ``to_dict()`` and ``status``, so these need nothing special there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.errors import InvalidArgument, InvalidRequest

# Inner error codes used here (Azure's InnerErrorCode enum, common.json).
INVALID_PARAMETER_VALUE = "InvalidParameterValue"
INVALID_REQUEST_BODY_FORMAT = "InvalidRequestBodyFormat"
EMPTY_REQUEST = "EmptyRequest"
MISSING_INPUT_DOCUMENTS = "MissingInputDocuments"
INVALID_DOCUMENT = "InvalidDocument"
INVALID_DOCUMENT_BATCH = "InvalidDocumentBatch"
UNSUPPORTED_LANGUAGE_CODE = "UnsupportedLanguageCode"


def _with_inner(body: dict[str, Any], code: str, message: str) -> dict[str, Any]:
    body["innererror"] = {"code": code, "message": message}
    return body


@dataclass(eq=False)
class InvalidRuntimeArgument(InvalidArgument):
    """400 ``InvalidArgument`` with an inner code (a parameter or task that cannot be used)."""

    inner_code: str = INVALID_PARAMETER_VALUE

    def to_dict(self) -> dict[str, Any]:
        return _with_inner(super().to_dict(), self.inner_code, self.message)


@dataclass(eq=False)
class InvalidRuntimeRequest(InvalidRequest):
    """400 ``InvalidRequest`` with an inner code (the body or the document batch is unusable)."""

    inner_code: str = INVALID_REQUEST_BODY_FORMAT

    def to_dict(self) -> dict[str, Any]:
        return _with_inner(super().to_dict(), self.inner_code, self.message)


class PayloadTooLarge(InvalidRuntimeRequest):
    """413, as Azure answers a document batch over its size limit."""

    status = 413
