"""The training pipeline's steps, one function per Durable activity.

Each step takes and returns a small JSON-able dataclass (ids, blob names, counts and metrics). Bulky
data (DocBins, checkpoints, models, per-document evaluations) lives in blobs under the job's scratch
prefix ``jobs/{project}/{jobId}/``; the step that needs it reads it from there.

Blob layout of a job's scratch data::

    manifest.json          language, labels, options, seed and the shard plan (documents per shard)
    split.json             the recorded split (train / dev / test document locations, seed)
    snapshot.json          the project file as trained
    shards/<shard>.spacy   DocBin per shard (shard ids: train-0000, dev-0000, test-0000, ...)
    checkpoint.bin         the resumable training state
    model.bin              the best model, extracted when training finished
    eval/<shard>.json      per-document evaluation of a test shard

Errors: steps raise :mod:`shared.errors` types. The activity adapters encode an ``AppError`` into the
exception message with :func:`encode_error`, so the orchestrator can recover the Azure error object
(:func:`error_from_failure`) and tell user errors (not worth retrying) from transient ones.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import timedelta
from typing import Any, TypeVar

from shared.config import Settings
from shared.errors import AppError, ErrorDetail, StorageError, invalid_with_details
from shared.models import EvaluationOptions, TrainedModelRecord, utc_now
from shared.ner.corpus import build_doc_bin, spacy_language
from shared.ner.documents import check_labels_fit, region_texts
from shared.ner.evaluation import DocumentEvaluation, Entity, EvaluationCounts, RegionEvaluation, summarize
from shared.ner.project_file import DocumentAsset, ProjectFile, parse_project_file
from shared.ner.splitting import carve_dev_set, split_documents
from shared.ner.training import (
    TrainingOptions,
    best_model_bytes,
    init_checkpoint,
    load_model,
    predict_spans,
)
from shared.ner.training import train_chunk as run_train_chunk
from shared.service import training_jobs
from shared.storage.blobs import BlobStore
from shared.storage.documents import iter_documents
from shared.storage.projects import ProjectStore
from shared.storage.trained_models import ModelStore

logger = logging.getLogger(__name__)

SHARD_SIZE = 200
"""Documents per conversion / evaluation shard (one activity each)."""
MAX_REPORTED_PROBLEMS = 20
"""Label problems listed in one error before the rest are only counted."""
STOP_CHECK_SECONDS = 2.0
"""How often a training chunk re-reads the job row to notice a cancel."""
MODEL_LIFETIME_DAYS = 182
"""A model's ``modelExpirationDate``: about six months, like a training config version's lifetime."""

ERROR_START = "[ner-error]"
ERROR_END = "[/ner-error]"
_ERROR_PATTERN = re.compile(re.escape(ERROR_START) + r"(.*?)" + re.escape(ERROR_END), re.DOTALL)

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


@dataclass
class ProgressUpdate(Payload):
    projectName: str  # noqa: N815
    jobId: str  # noqa: N815
    step: int
    max_steps: int
    finished: bool
    seconds_per_step: float | None = None


@dataclass
class ProgressSummary(Payload):
    percent_complete: int
    estimated_end: str | None


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


# ----------------------------------------------------------------------------------------------
# Errors across the activity boundary


def encode_error(error: AppError) -> str:
    """Exception text for an activity failure that keeps the Azure error object recoverable."""
    body = {"error": error.to_dict(), "transient": isinstance(error, StorageError)}
    return f"{error.code}: {error.message} {ERROR_START}{json.dumps(body)}{ERROR_END}"


def error_from_failure(text: str, *, phase: str) -> tuple[dict[str, Any], bool]:
    """Recover ``(azure_error, transient)`` from an activity failure's text.

    Text without an encoded error (a crash, a lost worker) is reported as an internal error of the
    phase and treated as transient.
    """
    match = _ERROR_PATTERN.search(text)
    if match:
        try:
            body = json.loads(match.group(1))
            return dict(body["error"]), bool(body.get("transient"))
        except (ValueError, KeyError, TypeError):
            pass
    first_line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return (
        {
            "code": "InternalServerError",
            "message": f"Training failed during phase '{phase}': {first_line[:500]}",
        },
        True,
    )


# ----------------------------------------------------------------------------------------------
# Blob names


def _blob(ref: JobRef, name: str) -> str:
    return training_jobs.scratch_prefix(ref.projectName, ref.jobId) + name


def shard_blob(ref: JobRef, shard: str) -> str:
    return _blob(ref, f"shards/{shard}.spacy")


def model_prefix(project_name: str, label: str, job_id: str) -> str:
    """Where a trained model's files live (one folder per job, so a redeploy can still find the old one)."""
    return f"models/{project_name}/{label}/{job_id}/"


def _shard_ids(kind: str, locations: Sequence[str], shard_size: int) -> dict[str, list[str]]:
    return {
        f"{kind}-{index // shard_size:04d}": list(locations[index : index + shard_size])
        for index in range(0, len(locations), shard_size)
    }


def _load_manifest(blobs: BlobStore, ref: JobRef) -> dict[str, Any]:
    manifest: dict[str, Any] = blobs.get_json(_blob(ref, "manifest.json"))
    return manifest


def _load_snapshot(blobs: BlobStore, ref: JobRef) -> ProjectFile:
    return parse_project_file(
        blobs.get_json(_blob(ref, "snapshot.json")), expected_project_name=ref.projectName
    )


def _documents_by_location(project_file: ProjectFile) -> dict[str, DocumentAsset]:
    return {doc.location: doc for doc in project_file.documents}


# ----------------------------------------------------------------------------------------------
# Steps


def prepare_training(settings: Settings, ref: JobRef, *, shard_size: int = SHARD_SIZE) -> PreparedTraining:
    """Mark the job running, validate the documents against their labels, split and plan shards.

    Raises:
        InvalidArgument: a document is missing, unreadable, or a label does not fit its document
            (one detail per problem, naming document, label and offset); the split is impossible.
    """
    job = training_jobs.mark_phase(settings, ref.projectName, ref.jobId, "splitting")
    project = ProjectStore(settings).get(ref.projectName)
    blobs = BlobStore(settings)
    if not project.assets_blob:
        raise invalid_with_details(
            f"Project '{ref.projectName}' has no labelled data: import a project file first.",
            [],
            "projectName",
        )
    raw_assets = blobs.get_json(project.assets_blob)
    project_file = parse_project_file(raw_assets, expected_project_name=ref.projectName)
    documents = project_file.documents
    by_location = _documents_by_location(project_file)
    container = project_file.storage_input_container_name or project.storage_input_container_name

    problems: list[ErrorDetail] = []
    failing = 0
    for location, text in iter_documents(settings, container, [doc.location for doc in documents]):
        try:
            check_labels_fit(by_location[location], text)
        except AppError as error:
            failing += 1
            if len(problems) < MAX_REPORTED_PROBLEMS:
                problems.extend(error.details or [ErrorDetail(error.code, error.message, location)])
    if problems:
        raise invalid_with_details(
            f"{failing} document(s) have labels that do not fit their text; fix the labels and train again. "
            f"First problem: {problems[0].message}",
            problems[:MAX_REPORTED_PROBLEMS],
            "assets",
        )

    split = split_documents(
        documents, job.evaluation_options, seed=job.seed, categories=project_file.entity_categories
    )
    train_docs = [by_location[location] for location in split.train]
    train_locations, dev_locations = carve_dev_set(train_docs, seed=job.seed)
    shards = {
        **_shard_ids("train", train_locations, shard_size),
        **_shard_ids("dev", dev_locations, shard_size),
        **_shard_ids("test", split.test, shard_size),
    }
    labels = sorted(project_file.entity_categories)
    language = project_file.language
    manifest = {
        "language": language,
        "spacy_lang": spacy_language(language),
        "labels": labels,
        "seed": job.seed,
        "container": container,
        "shards": shards,
    }
    blobs.put_json(_blob(ref, "snapshot.json"), raw_assets)
    blobs.put_json(
        _blob(ref, "split.json"),
        {**split.to_dict(), "dev": dev_locations, "trainWithoutDev": train_locations},
    )
    blobs.put_json(_blob(ref, "manifest.json"), manifest)
    training_jobs.add_warnings(settings, ref.projectName, ref.jobId, list(split.warnings))
    prepared = PreparedTraining(
        language=language,
        spacy_lang=str(manifest["spacy_lang"]),
        labels=labels,
        train_shards=sorted(s for s in shards if s.startswith("train-")),
        dev_shards=sorted(s for s in shards if s.startswith("dev-")),
        test_shards=sorted(s for s in shards if s.startswith("test-")),
        train_documents=len(train_locations),
        dev_documents=len(dev_locations),
        test_documents=len(split.test),
        warnings=len(split.warnings),
        seed=job.seed,
    )
    logger.info(
        "[project=%s job=%s phase=splitting] split %d train / %d dev / %d test documents into %d shards",
        ref.projectName,
        ref.jobId,
        prepared.train_documents,
        prepared.dev_documents,
        prepared.test_documents,
        len(shards),
        extra={"project": ref.projectName, "jobId": ref.jobId, "phase": "splitting"},
    )
    return prepared


def convert_shard(settings: Settings, task: ShardTask) -> ShardSummary:
    """Build the DocBin of one shard; label alignment problems become job warnings."""
    ref = task.ref
    blobs = BlobStore(settings)
    manifest = _load_manifest(blobs, ref)
    by_location = _documents_by_location(_load_snapshot(blobs, ref))
    locations: list[str] = manifest["shards"][task.shard]
    items = (
        (by_location[location], text)
        for location, text in iter_documents(settings, manifest["container"], locations)
    )
    data, warnings = build_doc_bin(manifest["spacy_lang"], items)
    blobs.put_bytes(shard_blob(ref, task.shard), data)
    training_jobs.add_warnings(settings, ref.projectName, ref.jobId, list(warnings))
    return ShardSummary(shard=task.shard, documents=len(locations), warnings=len(warnings))


def _training_options(settings: Settings, manifest: dict[str, Any]) -> TrainingOptions:
    return TrainingOptions(
        lang=manifest["spacy_lang"],
        labels=list(manifest["labels"]),
        max_steps=settings.train_max_steps,
        patience=settings.train_patience,
        eval_frequency=settings.train_eval_frequency,
        seed=int(manifest["seed"]),
    )


def _doc_bins(blobs: BlobStore, ref: JobRef, manifest: dict[str, Any], kind: str) -> list[bytes]:
    return [
        blobs.get_bytes(shard_blob(ref, shard))
        for shard in sorted(manifest["shards"])
        if shard.startswith(kind + "-")
    ]


def init_training(settings: Settings, ref: JobRef) -> TrainingPlan:
    """Create the initial checkpoint (blank pipeline initialised on the training shards)."""
    training_jobs.mark_phase(settings, ref.projectName, ref.jobId, "training")
    blobs = BlobStore(settings)
    manifest = _load_manifest(blobs, ref)
    options = _training_options(settings, manifest)
    checkpoint = init_checkpoint(options, _doc_bins(blobs, ref, manifest, "train"))
    blobs.put_bytes(_blob(ref, "checkpoint.bin"), checkpoint)
    return TrainingPlan(max_steps=options.max_steps)


class _StopCheck:
    """``should_stop`` for a training chunk: re-reads the job row at most every few seconds."""

    def __init__(self, settings: Settings, ref: JobRef, interval: float = STOP_CHECK_SECONDS) -> None:
        self._settings = settings
        self._ref = ref
        self._interval = interval
        self._last = time.monotonic()
        self._stop = False

    def __call__(self) -> bool:
        now = time.monotonic()
        if not self._stop and now - self._last >= self._interval:
            self._last = now
            record = training_jobs.get_job(self._settings, self._ref.projectName, self._ref.jobId)
            self._stop = training_jobs.is_stop_requested(record)
        return self._stop


def train_chunk(settings: Settings, ref: JobRef) -> ChunkSummary:
    """Resume from the checkpoint, train for ``train_chunk_seconds``, save the checkpoint."""
    record = training_jobs.heartbeat(settings, ref.projectName, ref.jobId)
    if training_jobs.is_stop_requested(record):
        return ChunkSummary(0, settings.train_max_steps, 0, 0.0, 0.0, None, None, True, "cancelled")
    blobs = BlobStore(settings)
    manifest = _load_manifest(blobs, ref)
    train_bins = _doc_bins(blobs, ref, manifest, "train")
    # Without dev documents (a one-document training set) training simply runs to max_steps.
    dev_bins = _doc_bins(blobs, ref, manifest, "dev")
    checkpoint_name = _blob(ref, "checkpoint.bin")
    checkpoint = blobs.get_bytes(checkpoint_name)
    started = time.monotonic()
    result = run_train_chunk(
        checkpoint,
        train_bins,
        dev_bins,
        max_seconds=settings.train_chunk_seconds,
        should_stop=_StopCheck(settings, ref),
    )
    seconds = time.monotonic() - started
    blobs.put_bytes(checkpoint_name, result.checkpoint)
    previous = int(manifest.get("step", 0))
    # Remember where the checkpoint was so a retried or resumed chunk measures only its own steps.
    blobs.put_json(_blob(ref, "manifest.json"), {**manifest, "step": result.step})
    return ChunkSummary(
        step=result.step,
        max_steps=settings.train_max_steps,
        steps_run=max(0, result.step - previous),
        seconds=round(seconds, 3),
        loss=float(result.loss),
        dev_score=result.dev_score,
        best_score=result.best_score,
        finished=result.finished,
        stop_reason=result.stop_reason,
    )


def record_training_progress(settings: Settings, update: ProgressUpdate) -> ProgressSummary:
    """Write ``percentComplete`` and ``estimatedEndDateTime`` after a chunk."""
    record = training_jobs.record_progress(
        settings,
        update.projectName,
        update.jobId,
        step=update.step,
        max_steps=update.max_steps,
        finished=update.finished,
        seconds_per_step=update.seconds_per_step,
    )
    estimated = record.estimated_end.isoformat() if record.estimated_end else None
    return ProgressSummary(record.training_status.percent_complete, estimated)


def start_evaluation(settings: Settings, ref: JobRef) -> None:
    """Close training, open evaluation and extract the best model for the evaluation shards."""
    blobs = BlobStore(settings)
    checkpoint = blobs.get_bytes(_blob(ref, "checkpoint.bin"))
    blobs.put_bytes(_blob(ref, "model.bin"), best_model_bytes(checkpoint))
    training_jobs.start_evaluation(settings, ref.projectName, ref.jobId)


def _region_evaluations(
    document: DocumentAsset, text: str, predictions: list[list[tuple[int, int, str]]]
) -> list[RegionEvaluation]:
    regions = []
    for region, predicted in zip(region_texts(document, text), predictions, strict=True):
        expected = [Entity(label, *region.to_utf16_entity(start, end)) for start, end, label in region.spans]
        found = [Entity(label, *region.to_utf16_entity(start, end)) for start, end, label in predicted]
        regions.append(RegionEvaluation(region.region_offset, region.region_length, expected, found))
    return regions


def evaluate_shard(settings: Settings, task: ShardTask) -> ShardEvaluation:
    """Predict the test shard's documents with the best model and count matches per entity."""
    ref = task.ref
    training_jobs.heartbeat(settings, ref.projectName, ref.jobId)
    blobs = BlobStore(settings)
    manifest = _load_manifest(blobs, ref)
    by_location = _documents_by_location(_load_snapshot(blobs, ref))
    nlp = load_model(blobs.get_bytes(_blob(ref, "model.bin")))
    counts = EvaluationCounts()
    results: list[dict[str, Any]] = []
    locations: list[str] = manifest["shards"][task.shard]
    for location, text in iter_documents(settings, manifest["container"], locations):
        document = by_location[location]
        texts = [region.text for region in region_texts(document, text)]
        evaluation = DocumentEvaluation(
            location, document.language, _region_evaluations(document, text, predict_spans(nlp, texts))
        )
        counts.add(evaluation)
        results.append(evaluation.to_dict())
    blobs.put_json(_blob(ref, f"eval/{task.shard}.json"), results)
    return ShardEvaluation(shard=task.shard, documents=len(results), counts=counts.to_dict())


def finalize_training(settings: Settings, request: FinalizeRequest) -> FinalizeResult:
    """Summarise the evaluation, register the model under its label and mark the job succeeded.

    Raises:
        Conflict: the project reached its model limit meanwhile, or the job was cancelled.
    """
    ref = JobRef(request.projectName, request.jobId)
    job = training_jobs.mark_phase(settings, ref.projectName, ref.jobId, "registering")
    blobs = BlobStore(settings)
    counts = EvaluationCounts()
    for shard_counts in request.shard_counts:
        counts = counts.merge(EvaluationCounts.from_dict(shard_counts))
    options: EvaluationOptions = job.evaluation_options
    summary = summarize(counts, options)
    documents: list[dict[str, Any]] = []
    for shard in request.eval_shards:
        for item in blobs.get_json(_blob(ref, f"eval/{shard}.json")):
            documents.append(DocumentEvaluation.from_dict(item).to_public())

    training_jobs.check_model_quota(settings, ref.projectName, job.model_label)
    now = utc_now()
    prefix = model_prefix(ref.projectName, job.model_label, ref.jobId)
    blobs.put_bytes(prefix + "model.bin", blobs.get_bytes(_blob(ref, "model.bin")))
    blobs.put_json(prefix + "evaluation-summary.json", summary)
    blobs.put_json(prefix + "evaluation-documents.json", documents)
    blobs.put_json(prefix + "snapshot.json", blobs.get_json(_blob(ref, "snapshot.json")))
    started = job.training_status.start or job.created
    model = TrainedModelRecord(
        project_name=ref.projectName,
        label=job.model_label,
        model_id=f"{job.model_label}-{now.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex}",
        job_id=ref.jobId,
        last_trained=now,
        last_training_duration_seconds=int((now - started).total_seconds()),
        model_expiration_date=(now + timedelta(days=MODEL_LIFETIME_DAYS)).date(),
        training_config_version=job.training_config_version,
        evaluation_options=options,
        model_blob=prefix + "model.bin",
        evaluation_summary_blob=prefix + "evaluation-summary.json",
        evaluation_documents_blob=prefix + "evaluation-documents.json",
        snapshot_blob=prefix + "snapshot.json",
    )
    # Last check before the model becomes visible: a cancel that landed during evaluation wins.
    if training_jobs.is_stop_requested(training_jobs.get_job(settings, ref.projectName, ref.jobId)):
        blobs.delete_prefix(prefix)
        raise training_jobs.JobNotActive(
            f"Training job '{ref.jobId}' was cancelled; no model was registered."
        )
    ModelStore(settings).upsert(model)
    projects = ProjectStore(settings)
    project = projects.get(ref.projectName)
    project.last_trained = now
    projects.upsert(project)
    training_jobs.succeed_job(settings, ref.projectName, ref.jobId)
    blobs.delete_prefix(training_jobs.scratch_prefix(ref.projectName, ref.jobId))
    micro = summary.get("customEntityRecognitionEvaluation", {}).get("microF1")
    return FinalizeResult(
        model_label=job.model_label,
        model_id=model.model_id,
        micro_f1=float(micro) if micro is not None else None,
        test_documents=len(documents),
    )


def fail_training(settings: Settings, report: FailureReport) -> None:
    """Record a failed job with actionable ``errors[]``, release the slot and drop scratch data."""
    training_jobs.fail_job(settings, report.projectName, report.jobId, report.errors, phase=report.phase)


def cancel_training(settings: Settings, ref: JobRef) -> None:
    """The orchestration noticed the cancel itself (training returned ``cancelled``): finish it."""
    training_jobs.complete_cancel(settings, ref.projectName, ref.jobId)
