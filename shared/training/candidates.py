"""Training fan-out: several candidates (seeds) of one job trained in parallel, the best on the dev set kept.

A job trains ``manifest["candidates"]`` candidates (``NER_TRAIN_CANDIDATES``); candidate ``n`` trains the
job's configuration with seed ``seed + n`` from its own checkpoint, so Durable can run the candidates' chunks
as parallel activities on different workers or instances. Each candidate records its own steps and timing
in its own blob (no shared read-modify-write); the job's progress is the slowest unfinished candidate's.
The orchestrator picks the winner with :func:`choose` from the chunks' best dev scores; at selection the
other candidates' scratch blobs are deleted (:func:`discard_others`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from shared.errors import NotFound
from shared.jobs.workspace import JobWorkspace
from shared.storage.blobs import BlobStore


def candidate_count(manifest: dict[str, Any]) -> int:
    """Manifests written before fan-out have one candidate."""
    return max(1, int(manifest.get("candidates", 1)))


def candidate_seed(seed: int, candidate: int) -> int:
    """Candidate 0 trains with the job's recorded seed, so a width-1 job trains exactly as before."""
    return seed + candidate


@dataclass
class CandidateProgress:
    step: int = 0
    timed_seconds: float = 0.0
    timed_steps: int = 0
    finished: bool = False

    @property
    def seconds_per_step(self) -> float | None:
        return self.timed_seconds / self.timed_steps if self.timed_steps else None


def read_progress(
    blobs: BlobStore, workspace: JobWorkspace, candidate: int, manifest: dict[str, Any]
) -> CandidateProgress:
    """A candidate's progress; none yet is step 0 (a job from before fan-out kept it in its manifest)."""
    try:
        data = blobs.get_json(workspace.candidate_progress(candidate))
    except NotFound:  # not written yet: no chunk of this candidate has finished
        if candidate != 0:
            return CandidateProgress()
        data = manifest
    return CandidateProgress(
        step=int(data.get("step", 0)),
        timed_seconds=float(data.get("timed_seconds", 0.0)),
        timed_steps=int(data.get("timed_steps", 0)),
        finished=bool(data.get("finished", False)),
    )


def write_progress(blobs: BlobStore, workspace: JobWorkspace, candidate: int, progress: CandidateProgress) -> None:
    blobs.put_json(workspace.candidate_progress(candidate), asdict(progress))


def job_progress(
    blobs: BlobStore, workspace: JobWorkspace, manifest: dict[str, Any], mine: tuple[int, CandidateProgress]
) -> CandidateProgress:
    """The job's progress over every candidate: the slowest unfinished one's step, the slowest pace.

    ``mine`` is the calling candidate's fresh progress (its blob may be a moment behind on other readers).
    """
    count = candidate_count(manifest)
    if count == 1:
        return mine[1]
    every = [mine[1] if n == mine[0] else read_progress(blobs, workspace, n, manifest) for n in range(count)]
    running = [p for p in every if not p.finished]
    paces = [p.seconds_per_step for p in every if p.seconds_per_step is not None]
    pace = max(paces) if paces else None
    return CandidateProgress(
        step=min(p.step for p in running) if running else max(p.step for p in every),
        # one pace for the whole job: ETA = remaining steps of the slowest x the slowest pace
        timed_seconds=pace or 0.0,
        timed_steps=1 if pace is not None else 0,
        finished=not running,
    )


def choose(best_scores: list[float | None]) -> int:
    """The candidate with the best dev score; ties and missing scores (no dev set) go to the lowest number.

    Pure and deterministic: the orchestrator calls it on its activities' results.
    """
    best = 0
    for candidate, score in enumerate(best_scores):
        current = best_scores[best]
        if score is not None and (current is None or score > current):
            best = candidate
    return best


def discard_others(blobs: BlobStore, workspace: JobWorkspace, count: int, chosen: int) -> None:
    """Delete the scratch blobs of every candidate except ``chosen`` (its model is the job's)."""
    for candidate in range(count):
        if candidate != chosen:
            blobs.delete(workspace.candidate_checkpoint(candidate))
        blobs.delete(workspace.candidate_progress(candidate))
