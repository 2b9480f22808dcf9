"""Job ids: one formula for every job kind."""

from __future__ import annotations

import uuid
from datetime import date, datetime


def new_job_id(now: datetime) -> str:
    """Azure's job id shape: ``<guid>_<.NET ticks of the UTC day>`` (treated as opaque by clients)."""
    days = (now.date() - date(1, 1, 1)).days
    return f"{uuid.uuid4()}_{days * 864_000_000_000}"
