"""Runs Microsoft's ``azure-ai-textanalytics`` 5.x in a subprocess and prints what it returned, as JSON.

``tests/conformance/test_runtime_client.py`` starts it with ``.venv/textanalytics5`` first on
``PYTHONPATH`` (the 5.x client cannot be installed next to the authoring client, see
requirements-textanalytics5.txt). Usage: ``python textanalytics5_client.py '<json command>'`` with
``{"call": "recognize" | "actions" | "cancel", "endpoint", "key", "project", "deployment",
"documents": [...], "polling_interval"?}``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from azure.ai.textanalytics import RecognizeCustomEntitiesAction, TextAnalyticsClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError


def _result(item: Any) -> dict[str, Any]:
    if item.is_error:
        return {"id": item.id, "error": {"code": item.error.code, "message": item.error.message}}
    return {
        "id": item.id,
        "kind": item.kind,
        "entities": [
            {
                "text": e.text,
                "category": e.category,
                "offset": e.offset,
                "length": e.length,
                "confidence_score": e.confidence_score,
            }
            for e in item.entities
        ],
    }


def main(command: dict[str, Any]) -> dict[str, Any]:
    client = TextAnalyticsClient(command["endpoint"], AzureKeyCredential(command["key"]))
    interval = command.get("polling_interval", 1)
    try:
        if command["call"] == "recognize":
            poller = client.begin_recognize_custom_entities(
                command["documents"],
                project_name=command["project"],
                deployment_name=command["deployment"],
                polling_interval=interval,
                display_name=command.get("display_name"),
            )
            results = [_result(item) for item in poller.result()]
            return {"results": results, "status": poller.status(), "details": _details(poller)}
        if command["call"] == "actions":
            poller = client.begin_analyze_actions(
                command["documents"],
                actions=[
                    RecognizeCustomEntitiesAction(command["project"], command["deployment"]),
                    RecognizeCustomEntitiesAction(command["project"], command["deployment"], string_index_type="Utf16CodeUnit"),
                ],
                polling_interval=interval,
            )
            pages = [[_result(item) for item in per_document] for per_document in poller.result()]
            return {"results": pages, "status": poller.status(), "details": _details(poller)}
        raise ValueError(f"unknown call {command['call']!r}")
    except HttpResponseError as exc:
        return {"http_error": {"status": exc.status_code, "code": exc.error.code if exc.error else None, "message": exc.message}}


def _details(poller: Any) -> dict[str, Any]:
    meta = poller.details
    return {key: str(value) for key, value in meta.items()} if isinstance(meta, dict) else {}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
