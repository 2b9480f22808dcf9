"""Application Insights wiring (shared/telemetry.py), offline.

The real distro (``azure-monitor-opentelemetry``) is configured in a child process (it sets global
OpenTelemetry providers) with a well-formed connection string whose ingestion endpoint is a closed local
port: its Azure Monitor exporters are built and run but cannot deliver. In-memory exporters added beside
them read what would be sent: the log records, the exception and the span, with their attributes. What
this cannot show: that Application Insights files those attributes as customDimensions (the exporter's
documented mapping) — that needs a real Application Insights resource.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

from shared import telemetry
from shared.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
CHILD = textwrap.dedent(
    """
    import json, logging, sys
    from opentelemetry import trace
    from opentelemetry.sdk._logs.export import InMemoryLogExporter, SimpleLogRecordProcessor
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from shared import telemetry

    logs, spans = InMemoryLogExporter(), InMemorySpanExporter()
    assert "azure.monitor.opentelemetry" not in sys.modules
    assert telemetry.configure(
        "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/",
        log_record_processors=[SimpleLogRecordProcessor(logs)],
        span_processors=[SimpleSpanProcessor(spans)],
    )
    assert "azure.monitor.opentelemetry" in sys.modules
    logging.getLogger().setLevel(logging.INFO)
    log = logging.getLogger("shared.service.training")
    log.info("job state changed", extra={"project": "p1", "jobId": "j1", "phase": "training"})
    with telemetry.bind_job("p2", "j2", "evaluating"):
        log.warning("inside a bound job")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
        with trace.get_tracer("test").start_as_current_span("evaluate shard"):
            pass
    out = {
        "logs": [{"body": str(item.log_record.body), "attributes": dict(item.log_record.attributes or {})}
                 for item in logs.get_finished_logs()],
        "spans": [{"name": span.name, "attributes": dict(span.attributes or {})} for span in spans.get_finished_spans()],
    }
    print("RESULT " + json.dumps(out, default=str))
    """
)


def _child_result() -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, timeout=120,
        # The distro's default sampler is rate-limited (5 traces/s) and may drop the first span of a fresh
        # process; sampling every trace makes what the test reads deterministic.
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "OTEL_TRACES_SAMPLER": "always_on"},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    line = next(line for line in completed.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def test_the_distro_exports_logs_exceptions_and_spans_with_the_job_dimensions() -> None:
    result = _child_result()
    by_body = {item["body"]: item["attributes"] for item in result["logs"]}
    assert {k: by_body["job state changed"][k] for k in telemetry.DIMENSIONS} == {
        "project": "p1", "jobId": "j1", "phase": "training"
    }
    for body in ("inside a bound job", "failed"):
        assert {k: by_body[body][k] for k in telemetry.DIMENSIONS} == {
            "project": "p2", "jobId": "j2", "phase": "evaluating"
        }
    assert by_body["failed"]["exception.type"] == "ValueError"
    assert by_body["failed"]["exception.message"] == "boom"
    span = next(span for span in result["spans"] if span["name"] == "evaluate shard")
    assert {k: span["attributes"][k] for k in telemetry.DIMENSIONS} == {
        "project": "p2", "jobId": "j2", "phase": "evaluating"
    }


def test_without_a_connection_string_nothing_changes() -> None:
    handlers = list(logging.getLogger().handlers)
    assert telemetry.configure("") is False
    assert telemetry.configure(None) is False
    assert logging.getLogger().handlers == handlers
    assert load_settings({"LANGUAGE_API_KEYS": "k"}).appinsights_connection == ""
    conn = "InstrumentationKey=x"
    assert load_settings({"LANGUAGE_API_KEYS": "k", "APPLICATIONINSIGHTS_CONNECTION_STRING": conn}).appinsights_connection == conn


def test_the_distro_is_called_with_the_connection_string_and_the_root_logger() -> None:
    calls: list[dict] = []
    telemetry._configured = False
    try:
        assert telemetry.configure("InstrumentationKey=abc", configure_monitor=lambda **kw: calls.append(kw))
        assert telemetry.configure("InstrumentationKey=abc", configure_monitor=lambda **kw: calls.append(kw))
    finally:
        telemetry._configured = False
    assert len(calls) == 1  # once per process
    assert calls[0]["connection_string"] == "InstrumentationKey=abc" and calls[0]["logger_name"] == ""


def test_bound_dimensions_reach_records_without_extra() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    with telemetry.bind_job("p", "j"):
        with telemetry.bind_job("p", phase="training"):
            telemetry.JobDimensionsFilter().filter(record)
            assert telemetry.current_dimensions() == {"project": "p", "jobId": "j", "phase": "training"}
    assert (record.project, record.jobId, record.phase) == ("p", "j", "training")
    assert telemetry.current_dimensions() == {}


def test_activities_run_inside_their_job_dimensions() -> None:
    from functions.activities import _reporting_errors

    seen: dict[str, str] = {}

    def train_chunk(payload: dict) -> None:
        seen.update(telemetry.current_dimensions())

    _reporting_errors(train_chunk)({"projectName": "p", "jobId": "j"})
    assert seen == {"project": "p", "jobId": "j", "phase": "training"}
    assert telemetry.current_dimensions() == {}
