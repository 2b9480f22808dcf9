"""Application Insights through Microsoft's OpenTelemetry distro, only when a connection string is set.

With ``APPLICATIONINSIGHTS_CONNECTION_STRING`` (read by :mod:`shared.config`), :func:`configure` calls
``azure.monitor.opentelemetry.configure_azure_monitor`` once per process: Python log records (and
``log.exception`` as exceptions) and spans go to Application Insights. The job's ``project``, ``jobId``
and ``phase`` become custom dimensions: log records already carry them as ``extra`` fields (the
OpenTelemetry logging handler turns record attributes into log attributes, which the exporter files as
custom dimensions); code running for a job can also :func:`bind_job`, and every record and span made
inside gets the same three attributes. Without a connection string nothing is imported or changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

DIMENSIONS = ("project", "jobId", "phase")
"""Custom dimensions of every record and span made for a job."""

_job: ContextVar[Mapping[str, str]] = ContextVar("ner_job_dimensions", default=MappingProxyType({}))
_configured = False

log = logging.getLogger(__name__)


@contextmanager
def bind_job(project: str | None, job_id: str | None = None, phase: str | None = None) -> Iterator[None]:
    """Within the block, records and spans carry ``project``/``jobId``/``phase`` (those given)."""
    values = {"project": project, "jobId": job_id, "phase": phase}
    token = _job.set({**_job.get(), **{k: v for k, v in values.items() if v}})
    try:
        yield
    finally:
        _job.reset(token)


def current_dimensions() -> dict[str, str]:
    """The job dimensions bound in this context (empty outside :func:`bind_job`)."""
    return dict(_job.get())


class JobDimensionsFilter(logging.Filter):
    """Adds the bound job dimensions to records that do not name them already (a handler filter)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _job.get().items():
            if not getattr(record, name, None):
                setattr(record, name, value)
        return True


def _span_processor() -> Any:
    from opentelemetry.sdk.trace import SpanProcessor

    class JobSpanProcessor(SpanProcessor):  # type: ignore[misc]
        """Puts the bound job dimensions on every span started inside :func:`bind_job`."""

        def on_start(self, span: Any, parent_context: Any = None) -> None:
            for name, value in _job.get().items():
                span.set_attribute(name, value)

    return JobSpanProcessor()


def configure(
    connection_string: str | None,
    *,
    log_record_processors: Sequence[Any] = (),
    span_processors: Sequence[Any] = (),
    configure_monitor: Callable[..., None] | None = None,
) -> bool:
    """Send logs, traces and exceptions to Application Insights; returns whether it was configured.

    Args:
        connection_string: Application Insights connection string; empty or None: do nothing.
        log_record_processors: further OpenTelemetry log record processors (tests read the records).
        span_processors: further span processors, after the one adding the job dimensions.
        configure_monitor: stands in for ``configure_azure_monitor`` (default: the distro's own).
    """
    global _configured
    if not connection_string or _configured:
        return _configured
    if configure_monitor is None:
        from azure.monitor.opentelemetry import configure_azure_monitor

        configure_monitor = configure_azure_monitor
    configure_monitor(
        connection_string=connection_string,
        logger_name="",  # the root logger: every module's records propagate to it
        span_processors=[_span_processor(), *span_processors],
        log_record_processors=list(log_record_processors),
        enable_live_metrics=False,
    )
    for handler in logging.getLogger().handlers:
        if type(handler).__module__.startswith("opentelemetry"):
            handler.addFilter(JobDimensionsFilter())
    _configured = True
    log.info("Application Insights telemetry configured (custom dimensions: %s)", ", ".join(DIMENSIONS))
    return True
