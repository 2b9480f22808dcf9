"""Which store failures are worth waiting out, and how long to wait between tries.

The engine retries every write of an event, result or timer (and the reads an episode needs) until
storage answers again: a storage outage delays an orchestration, it never drops a message. Only
transient failures are retried (no connection, timeouts, 408/429/5xx); anything else is a bug or a
permanent refusal and is raised at once.
"""

from __future__ import annotations

from dataclasses import dataclass

TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def is_transient(exc: BaseException) -> bool:
    """A failure that storage coming back would cure."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if isinstance(exc, (ServiceRequestError, ServiceResponseError, ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, HttpResponseError):
        return exc.status_code is None or exc.status_code in TRANSIENT_STATUS
    return False


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with a cap: short first retries, then a steady pace while storage is away.

    The cap bounds how long after storage returns the engine notices (at most ``cap`` seconds).
    """

    first: float = 0.25
    factor: float = 2.0
    cap: float = 2.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before try ``attempt + 1`` (``attempt`` counts from 1)."""
        return float(min(self.cap, self.first * self.factor ** (attempt - 1)))
