"""Job statuses and the one table of allowed status changes, for every job kind.

Kept apart from :mod:`shared.jobs.lifecycle` (which works on records) so :mod:`shared.models` can use
:class:`JobStatus` without importing the records it defines.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    """Azure's ``JobStatus`` values (spelled as the API spells them, e.g. ``cancelled``)."""

    NOT_STARTED = "notStarted"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    CANCELLING = "cancelling"


TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})
"""Final statuses: the row never changes again, the slot is free, scratch data is gone."""
ACTIVE = frozenset({JobStatus.NOT_STARTED, JobStatus.RUNNING, JobStatus.CANCELLING})
"""Statuses of a job whose orchestration should still exist (watchdog and reconciliation look at these)."""
RUNNABLE = frozenset({JobStatus.NOT_STARTED, JobStatus.RUNNING})
"""Statuses in which a pipeline step may still change the job (``cancelling`` stops the pipeline)."""

ALLOWED: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.NOT_STARTED: frozenset(
        {JobStatus.RUNNING, JobStatus.CANCELLING, JobStatus.FAILED, JobStatus.CANCELLED}
    ),
    JobStatus.RUNNING: frozenset(
        {JobStatus.CANCELLING, JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}
    ),
    # A cancel always wins: whatever ends a cancelling job (failure, watchdog, reconciliation) ends it
    # cancelled.
    JobStatus.CANCELLING: frozenset({JobStatus.CANCELLED}),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}
"""Every status change a job may make (staying in a non-terminal status is always allowed)."""


def can_change(current: str, new: str) -> bool:
    """True when a job in ``current`` may move to ``new`` (a non-terminal job may also stay put)."""
    before, after = JobStatus(current), JobStatus(new)
    if before == after:
        return before not in TERMINAL
    return after in ALLOWED[before]
