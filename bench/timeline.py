"""Job timelines: when each status and orchestration phase was first seen, and a timed train+evaluate."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from bench.client import ServiceClient
from bench.scoring import micro


@dataclass
class JobTimeline:
    """When (bench clock) each status of a training job was first seen by the poller, and, when a
    ``durable_url`` is given, each phase of the orchestration's custom status (splitting, converting,
    training, evaluating, registering) read from the Durable HTTP API of the local host."""

    t_start: float
    durable_url: str | None = None
    session: Any = None
    seen: dict[str, float] = field(default_factory=dict)
    polls: int = 0
    last_custom_status: Any = None

    def observe(self, body: dict[str, Any], t: float) -> None:
        self.polls += 1
        result = body.get("result") or {}
        keys = [
            f"job:{body.get('status')}",
            f"training:{(result.get('trainingStatus') or {}).get('status')}",
            f"evaluation:{(result.get('evaluationStatus') or {}).get('status')}",
        ]
        if self.durable_url and self.session is not None:
            try:
                response = self.session.get(self.durable_url, timeout=30)
                if response.status_code in (200, 202):
                    custom = response.json().get("customStatus")
                    if isinstance(custom, dict) and custom.get("phase"):
                        keys.append(f"phase:{custom['phase']}")
                        self.last_custom_status = custom
            except Exception:  # noqa: BLE001 - phase tracking is best effort; the job poll is what counts
                pass
        for key in keys:
            self.seen.setdefault(
                key, time.perf_counter() - self.t_start if key.startswith("phase:") else t - self.t_start
            )

    def phase_windows(self) -> dict[str, tuple[float, float]]:
        """(start, end) of each phase on the perf_counter clock (for joining with memory samples)."""
        phases = sorted((t, k[6:]) for k, t in self.seen.items() if k.startswith("phase:"))
        end = self.seen.get("job:succeeded") or self.seen.get("job:failed") or self.seen.get("job:cancelled")
        windows: dict[str, tuple[float, float]] = {}
        for i, (t, name) in enumerate(phases):
            nxt = phases[i + 1][0] if i + 1 < len(phases) else end
            if nxt is not None:
                windows[name] = (self.t_start + t, self.t_start + max(t, nxt))
        return windows

    def phase_seconds(self) -> dict[str, float]:
        """Duration of each orchestration phase, from first sighting to the next phase's first sighting."""
        phases = sorted((t, k[6:]) for k, t in self.seen.items() if k.startswith("phase:"))
        end = self.seen.get("job:succeeded") or self.seen.get("job:failed") or self.seen.get("job:cancelled")
        out: dict[str, float] = {}
        for i, (t, name) in enumerate(phases):
            nxt = phases[i + 1][0] if i + 1 < len(phases) else end
            if nxt is not None:
                out[name] = max(0.0, nxt - t)
        return out


def durable_status_url(endpoint: str, job_url: str) -> str:
    """The Durable HTTP API status URL of the job's orchestration (instance id = job id)."""
    job_id = job_url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[1]
    return f"{endpoint.rstrip('/')}/runtime/webhooks/durabletask/instances/{job_id}"


def job_phase_seconds(job: dict[str, Any]) -> dict[str, float | None]:
    """Training and evaluation durations from the job's own start/end timestamps (second resolution)."""
    from shared.models import parse_datetime

    out: dict[str, float | None] = {}
    result = job.get("result") or {}
    for name in ("trainingStatus", "evaluationStatus"):
        sub = result.get(name) or {}
        start, end = parse_datetime(sub.get("startDateTime")), parse_datetime(sub.get("endDateTime"))
        out[name] = (end - start).total_seconds() if start and end else None
    created, updated = (
        parse_datetime(job.get("createdDateTime")),
        parse_datetime(job.get("lastUpdatedDateTime")),
    )
    out["created_to_last_update"] = (updated - created).total_seconds() if created and updated else None
    return out


def service_train_and_evaluate(
    client: ServiceClient, project: str, label: str = "bench", timeout: float = 7200, phases: bool = True
) -> dict[str, Any]:
    """:train (manual split) -> poll to the end -> evaluation summary; times from the bench's clock.
    With ``phases`` every poll also reads the orchestration's custom status (one more loopback GET)."""
    t0 = time.perf_counter()
    latency, job_url = client.start_training(project, label, {"kind": "manual"})
    timeline = JobTimeline(
        t0, durable_status_url(client.endpoint, job_url) if phases else None, client.session
    )
    job = client.wait(job_url, timeout=timeout, on_poll=timeline.observe)
    wall = time.perf_counter() - t0
    out: dict[str, Any] = {
        "side": "service",
        "train_202_seconds": latency,
        "wall_seconds": wall,
        "status": job.get("status"),
        "errors": job.get("errors"),
        "warnings": job.get("warnings"),
        "first_seen": timeline.seen,
        "phase_seconds": timeline.phase_seconds(),
        "last_custom_status": timeline.last_custom_status,
        "polls": timeline.polls,
        "job_phases": job_phase_seconds(job),
        "job_url": job_url,
    }
    if job.get("status") == "succeeded":
        summary = client.evaluation_summary(project, label)
        out["scores"] = micro(summary)
        out["summary"] = summary
    return out
