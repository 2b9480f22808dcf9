"""The project operation orchestrator (import, export, deletion, load-snapshot), replayed by the real SDK.

Its failure path runs through ``call_activity_with_retry``, whose retries the Durable extension performs
(not the SDK); the driver does not emulate them, so that path is not driven here.
"""

from __future__ import annotations

from typing import Any

from functions import operations
from tests.durable_driver import drive

REQUEST = {"kind": "import", "projectName": "loans", "jobId": "job-1", "params": {"stagedBlob": "x.json"}}


def test_operation_that_succeeds_returns_its_status() -> None:
    def activity(name: str, payload: Any) -> Any:
        assert name == operations.RUN_OPERATION_ACTIVITY
        return {"status": "succeeded"}

    run = drive(operations.bp, "project_operation_orchestrator", REQUEST, activity)

    assert run.names() == [operations.RUN_OPERATION_ACTIVITY]
    assert run.payloads(operations.RUN_OPERATION_ACTIVITY) == [REQUEST]
    assert run.result is not None and run.result.output == {"status": "succeeded"}

