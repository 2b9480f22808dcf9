"""The typed payloads exchanged between the training orchestrator and its activities.

Both sides use these classes: an activity returns ``X.to_dict()`` and the orchestrator reads the result
with ``X.from_dict(...)``, so the keys are written down once. Bulky data never travels here; it lives in
the job's workspace (:mod:`shared.jobs.workspace`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

from shared.jobs.workspace import JobWorkspace

_P = TypeVar("_P", bound="Payload")


class Payload:
    """JSON round trip for the small dataclasses exchanged with the orchestrator."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload,no-any-return]

    @classmethod
    def from_dict(cls: type[_P], data: dict[str, Any]) -> _P:
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{key: value for key, value in data.items() if key in names})


@dataclass
class JobRef(Payload):
    """Which job a step works on. Same keys as the orchestration input."""

    projectName: str  # noqa: N815 - the orchestration input's wire names
    jobId: str  # noqa: N815

    @property
    def project(self) -> str:
        return self.projectName

    @property
    def job_id(self) -> str:
        return self.jobId

    @property
    def workspace(self) -> JobWorkspace:
        return JobWorkspace(self.projectName, self.jobId)


@dataclass
class PreparedTraining(Payload):
    language: str
    spacy_lang: str
    labels: list[str]
    train_shards: list[str]
    dev_shards: list[str]
    test_shards: list[str]
    train_documents: int
    dev_documents: int
    test_documents: int
    warnings: int
    seed: int

    @property
    def all_shards(self) -> list[str]:
        return self.train_shards + self.dev_shards + self.test_shards


@dataclass
class ShardTask(Payload):
    projectName: str  # noqa: N815
    jobId: str  # noqa: N815
    shard: str

    @property
    def ref(self) -> JobRef:
        return JobRef(self.projectName, self.jobId)


@dataclass
class ShardSummary(Payload):
    shard: str
    documents: int
    warnings: int


@dataclass
class TrainingPlan(Payload):
    max_steps: int


@dataclass
class ChunkSummary(Payload):
    step: int
    max_steps: int
    steps_run: int
    seconds: float
    loss: float
    dev_score: float | None
    best_score: float | None
    finished: bool
    stop_reason: str | None
    # The chunk records the job's progress itself; None when it stopped for a cancel and recorded nothing.
    percent_complete: int | None = None
    estimated_end: str | None = None

    def describe(self) -> str:
        """One console line: ``step 120/300 (40%), loss 12.34, dev F1 0.812, ETA 2026-...Z``."""
        parts = [f"step {self.step}/{self.max_steps}"]
        if self.percent_complete is not None:
            parts[0] += f" ({self.percent_complete}%)"
        parts.append(f"loss {self.loss:.2f}")
        parts.append("dev F1 -" if self.dev_score is None else f"dev F1 {self.dev_score:.3f}")
        if self.estimated_end and not self.finished:
            parts.append(f"ETA {self.estimated_end.replace('+00:00', 'Z')}")
        return "chunk: " + ", ".join(parts)


@dataclass
class ShardEvaluation(Payload):
    shard: str
    documents: int
    counts: dict[str, Any]


@dataclass
class FinalizeRequest(Payload):
    projectName: str  # noqa: N815
    jobId: str  # noqa: N815
    shard_counts: list[dict[str, Any]] = field(default_factory=list)
    eval_shards: list[str] = field(default_factory=list)


@dataclass
class FinalizeResult(Payload):
    model_label: str
    model_id: str
    micro_f1: float | None
    test_documents: int


@dataclass
class FailureReport(Payload):
    projectName: str  # noqa: N815
    jobId: str  # noqa: N815
    phase: str
    errors: list[dict[str, Any]] = field(default_factory=list)
