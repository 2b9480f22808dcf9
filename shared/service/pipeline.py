"""The training pipeline's steps, one function per Durable activity.

Each step takes and returns a small JSON-able dataclass (ids, blob names, counts and metrics). Bulky
data (DocBins, checkpoints, models, per-document evaluations) lives in blobs under the job's scratch
prefix ``jobs/{project}/{jobId}/``; the step that needs it reads it from there.

Blob layout of a job's scratch data::

    manifest.json          language, labels, options, seed and the shard plan (documents per shard)
    split.json             the recorded split (train / dev / test document locations, seed)
    snapshot.json          the project file as trained
    shards/<shard>.docs.json  the labels of one shard's documents (so a shard step reads only its slice)
    shards/<shard>.spacy   DocBin per shard (shard ids: train-0000, dev-0000, test-0000, ...)
    checkpoint.bin         the resumable training state
    model.bin              the best model, extracted when training finished
    eval/<shard>.json      per-document evaluation of a test shard

Errors: steps raise :mod:`shared.errors` types. The activity adapters encode an ``AppError`` into the
exception message with :func:`encode_error`, so the orchestrator can recover the Azure error object
(:func:`error_from_failure`) and tell user errors (not worth retrying) from transient ones.

Reading the user's documents: ``prepare_training`` checks that every document exists and has a usable
size from one listing of the input container (nothing is downloaded); each conversion step then
downloads its shard's documents (a few concurrently, streamed), decodes them, checks their labels and
converts them, failing the job with one detail per unusable document. Evaluation downloads the test
documents once more (it needs the original text and offsets, which a DocBin does not keep).

Per-process caches (a Functions worker runs many activities of a job): the training DocBins (immutable
once converted), the last checkpoint this process wrote (reused only while the blob's ETag still
matches) and the evaluation model. All are bounded and keyed by blob name, which includes the job id.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

from azure.core.exceptions import ResourceNotFoundError
from spacy.language import Language

from shared.config import Settings
from shared.errors import AppError, ErrorDetail, StorageError, invalid_with_details
from shared.models import NO_EXPIRATION_DATE, EvaluationOptions, TrainedModelRecord, utc_now
from shared.ner.corpus import build_doc_bin, spacy_language
from shared.ner.documents import check_labels_fit, region_texts
from shared.ner.evaluation import DocumentEvaluation, Entity, EvaluationCounts, RegionEvaluation, summarize
from shared.ner.project_file import DocumentAsset, Label, ProjectFile, Region, parse_project_file
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
from shared.storage.blobs import BlobStore, blob_not_found
from shared.storage.clients import blob_container, storage_call
from shared.storage.documents import DOWNLOAD_WORKERS, check_documents, iter_document_results
from shared.storage.projects import ProjectStore
from shared.storage.trained_models import ModelStore

logger = logging.getLogger(__name__)

SHARD_SIZE = 200
"""Documents per conversion / evaluation shard (one activity each)."""
MAX_REPORTED_PROBLEMS = 20
"""Label problems listed in one error before the rest are only counted."""
STOP_CHECK_SECONDS = 2.0
"""How often a training chunk re-reads the job row to notice a cancel."""
DEV_FRACTION = 0.1
"""Share of the training documents held out as the dev set (early stopping and best-model choice)."""
MAX_DEV_DOCUMENTS = 500
"""Cap on the dev set: beyond a few hundred documents a larger dev set barely steadies the score, but
every dev evaluation (each ``eval_frequency`` steps) costs time in proportion, and the documents are
worth more as training data."""
EVAL_BATCH_DOCUMENTS = 64
"""Test documents predicted per ``nlp.pipe`` call during evaluation."""
SHARD_CACHE_BYTES = 128 * 1024 * 1024
"""Training DocBin bytes kept per process between chunks (least recently used dropped first)."""

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
    # The chunk records the job's progress itself (no separate activity per chunk); None when the
    # chunk stopped for a cancel and recorded nothing.
    percent_complete: int | None = None
    estimated_end: str | None = None


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


def _documents_by_location(project_file: ProjectFile) -> dict[str, DocumentAsset]:
    return _documents_by_location_list(project_file.documents)


def _documents_by_location_list(documents: Sequence[DocumentAsset]) -> dict[str, DocumentAsset]:
    return {doc.location: doc for doc in documents}


def _shard_documents_blob(ref: JobRef, shard: str) -> str:
    return _blob(ref, f"shards/{shard}.docs.json")


def _document_from_dict(data: dict[str, Any]) -> DocumentAsset:
    """Inverse of ``DocumentAsset.to_dict`` for the validated slices this module writes."""
    return DocumentAsset(
        location=str(data["location"]),
        language=str(data["language"]),
        dataset=data.get("dataset"),
        regions=[
            Region(
                offset=int(region["regionOffset"]),
                length=int(region["regionLength"]),
                labels=[
                    Label(str(label["category"]), int(label["offset"]), int(label["length"]))
                    for label in region["labels"]
                ],
            )
            for region in data["entities"]
        ],
    )


def _shard_documents(blobs: BlobStore, ref: JobRef, shard: str) -> list[DocumentAsset]:
    return [_document_from_dict(item) for item in blobs.get_json(_shard_documents_blob(ref, shard))]


def _write_shard_documents(
    blobs: BlobStore, ref: JobRef, shards: dict[str, list[str]], by_location: dict[str, DocumentAsset]
) -> None:
    """One small blob per shard with its documents' labels, written a few at a time."""

    def write(item: tuple[str, list[str]]) -> None:
        shard, locations = item
        blobs.put_json(
            _shard_documents_blob(ref, shard), [by_location[location].to_dict() for location in locations]
        )

    with ThreadPoolExecutor(max_workers=DOWNLOAD_WORKERS, thread_name_prefix="shard-plan") as pool:
        list(pool.map(write, shards.items()))


class _DocumentProblems:
    """Collects the unusable documents of a step, to fail once naming all of them (up to a limit)."""

    def __init__(self) -> None:
        self.failing = 0
        self.label_failures = 0
        self.first: AppError | None = None
        self.details: list[ErrorDetail] = []

    def add(self, error: AppError, location: str, *, label: bool) -> None:
        self.failing += 1
        self.label_failures += int(label)
        self.first = self.first or error
        if len(self.details) < MAX_REPORTED_PROBLEMS:
            remaining = MAX_REPORTED_PROBLEMS - len(self.details)
            self.details.extend(
                (error.details or [ErrorDetail(error.code, error.message, location)])[:remaining]
            )

    def accept(self, document: DocumentAsset, result: str | AppError) -> bool:
        """Record ``result`` if the document is unusable; True if it may be converted."""
        if isinstance(result, AppError):
            self.add(result, document.location, label=False)
            return False
        try:
            check_labels_fit(document, result)
        except AppError as error:
            self.add(error, document.location, label=True)
            return False
        # Once something failed the step will fail: keep checking, stop converting.
        return self.failing == 0

    def raise_if_any(self) -> None:
        """Raise one ``InvalidArgument`` for everything collected (a lone document error unchanged)."""
        if not self.failing or self.first is None:
            return
        if self.failing == 1 and not self.label_failures:
            raise self.first
        first = self.details[0].message if self.details else self.first.message
        if self.label_failures == self.failing:
            message = (
                f"{self.failing} document(s) have labels that do not fit their text; fix the labels and "
                f"train again. First problem: {first}"
            )
        else:
            message = (
                f"{self.failing} document(s) cannot be used for training (missing, unreadable, or with "
                f"labels that do not fit their text); fix them and train again. First problem: {first}"
            )
        raise invalid_with_details(message, self.details, "assets")


class _BlobBytesCache:
    """Process-wide LRU of immutable blobs' bytes, bounded by total size."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, blobs: BlobStore, name: str) -> bytes:
        with self._lock:
            data = self._items.get(name)
            if data is not None:
                self._items.move_to_end(name)
                return data
        data = blobs.get_bytes(name)
        with self._lock:
            if name not in self._items and len(data) <= self._max_bytes:
                self._items[name] = data
                self._size += len(data)
                while self._size > self._max_bytes:
                    _, dropped = self._items.popitem(last=False)
                    self._size -= len(dropped)
        return data

    def forget_prefix(self, prefix: str) -> None:
        with self._lock:
            for name in [name for name in self._items if name.startswith(prefix)]:
                self._size -= len(self._items.pop(name))


_shard_cache = _BlobBytesCache(SHARD_CACHE_BYTES)


class _CheckpointCache:
    """The last checkpoint this process wrote, with its ETag, so the next chunk here skips the download.

    A chunk first asks for the blob's current ETag (a HEAD request); only if another process wrote the
    checkpoint since does it download it. One entry: a worker trains one chunk at a time.
    """

    def __init__(self) -> None:
        self._entry: tuple[str, str, bytes] | None = None
        self._lock = threading.Lock()

    def read(self, settings: Settings, name: str) -> bytes:
        client = blob_container(settings.storage_connection, settings.app_container).get_blob_client(name)
        with self._lock:
            entry = self._entry
        try:
            if entry is not None and entry[0] == name:
                with storage_call(f"read properties of blob '{name}'"):
                    etag = client.get_blob_properties().etag
                if etag == entry[1]:
                    return entry[2]
            with storage_call(f"read blob '{name}'"):
                downloader = client.download_blob()
                data = downloader.readall()
                etag = downloader.properties.etag
        except ResourceNotFoundError:
            raise blob_not_found(settings.app_container, name) from None
        self._remember(name, etag, data)
        return data

    def write(self, settings: Settings, name: str, data: bytes) -> None:
        client = blob_container(settings.storage_connection, settings.app_container).get_blob_client(name)
        with storage_call(f"write blob '{name}'"):
            result = client.upload_blob(data, overwrite=True)
        self._remember(name, str(result.get("etag")), data)

    def forget_prefix(self, prefix: str) -> None:
        with self._lock:
            if self._entry is not None and self._entry[0].startswith(prefix):
                self._entry = None

    def _remember(self, name: str, etag: str | None, data: bytes) -> None:
        with self._lock:
            self._entry = (name, etag, data) if etag else None


_checkpoint_cache = _CheckpointCache()


class _ModelCache:
    """The evaluation model of the latest job this process evaluated, loaded once for all its shards.

    ``nlp.pipe`` is not documented as thread-safe, so shards evaluated concurrently in one process
    take turns on the shared model (prediction is CPU-bound: the GIL serialises it anyway).
    """

    def __init__(self) -> None:
        self._entry: tuple[str, Language, threading.Lock] | None = None
        self._lock = threading.Lock()

    def get(self, blobs: BlobStore, name: str) -> tuple[Language, threading.Lock]:
        with self._lock:
            if self._entry is None or self._entry[0] != name:
                self._entry = (name, load_model(blobs.get_bytes(name)), threading.Lock())
            return self._entry[1], self._entry[2]

    def forget_prefix(self, prefix: str) -> None:
        with self._lock:
            if self._entry is not None and self._entry[0].startswith(prefix):
                self._entry = None


_model_cache = _ModelCache()


def _forget_cached(ref: JobRef) -> None:
    prefix = training_jobs.scratch_prefix(ref.projectName, ref.jobId)
    _shard_cache.forget_prefix(prefix)
    _checkpoint_cache.forget_prefix(prefix)
    _model_cache.forget_prefix(prefix)


# ----------------------------------------------------------------------------------------------
# Steps


def prepare_training(settings: Settings, ref: JobRef, *, shard_size: int = SHARD_SIZE) -> PreparedTraining:
    """Mark the job running, check the documents exist, split and plan shards.

    Existence and size of every document come from one listing of the input container; nothing is
    downloaded here. Decoding and label checks happen when a shard is converted (:func:`convert_shard`).

    Raises:
        InvalidArgument: the input container is missing, a document is missing, empty or too large (one
            detail per document, up to :data:`MAX_REPORTED_PROBLEMS`); the split is impossible.
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

    problems = _DocumentProblems()
    for error in check_documents(settings, container, [doc.location for doc in documents]):
        problems.add(error, error.target or "", label=False)
    problems.raise_if_any()

    split = split_documents(
        documents, job.evaluation_options, seed=job.seed, categories=project_file.entity_categories
    )
    train_docs = [by_location[location] for location in split.train]
    train_locations, dev_locations = carve_dev_set(
        train_docs, fraction=dev_fraction(len(train_docs)), seed=job.seed
    )
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
    _write_shard_documents(blobs, ref, shards, by_location)
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


def dev_fraction(train_documents: int) -> float:
    """The share of ``train_documents`` to carve as dev set: :data:`DEV_FRACTION`, at most
    :data:`MAX_DEV_DOCUMENTS` documents."""
    if train_documents <= 0:
        return DEV_FRACTION
    return min(DEV_FRACTION, MAX_DEV_DOCUMENTS / train_documents)


def convert_shard(settings: Settings, task: ShardTask) -> ShardSummary:
    """Read, check and convert one shard's documents into its DocBin.

    Each document is downloaded once (a few concurrently), decoded and its labels checked before it is
    converted; label alignment problems become job warnings.

    Raises:
        InvalidArgument: documents of the shard are missing, unreadable or have labels that do not fit
            their text (one detail per problem naming document, label and offset, up to
            :data:`MAX_REPORTED_PROBLEMS`; a single unreadable document is reported with its own error).
    """
    ref = task.ref
    blobs = BlobStore(settings)
    manifest = _load_manifest(blobs, ref)
    documents = _shard_documents(blobs, ref, task.shard)
    by_location = _documents_by_location_list(documents)
    problems = _DocumentProblems()

    def usable() -> Iterator[tuple[DocumentAsset, str]]:
        for location, result in iter_document_results(settings, manifest["container"], list(by_location)):
            document = by_location[location]
            if problems.accept(document, result):
                assert isinstance(result, str)
                yield document, result

    data, warnings = build_doc_bin(manifest["spacy_lang"], usable())
    problems.raise_if_any()
    blobs.put_bytes(shard_blob(ref, task.shard), data)
    training_jobs.add_warnings(settings, ref.projectName, ref.jobId, list(warnings))
    return ShardSummary(shard=task.shard, documents=len(documents), warnings=len(warnings))


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
    # Shards never change once converted: chunk after chunk in this process reuses the bytes.
    return [
        _shard_cache.get(blobs, shard_blob(ref, shard))
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
    _checkpoint_cache.write(settings, _blob(ref, "checkpoint.bin"), checkpoint)
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
    """Resume from the checkpoint, train for ``train_chunk_seconds``, save it and record the progress.

    The job's ``percentComplete`` and ``estimatedEndDateTime`` (from the time per step measured over
    every chunk so far) are written here and returned, so the orchestrator needs no activity of its own
    per chunk to report them.
    """
    record = training_jobs.heartbeat(settings, ref.projectName, ref.jobId)
    if training_jobs.is_stop_requested(record):
        return ChunkSummary(0, settings.train_max_steps, 0, 0.0, 0.0, None, None, True, "cancelled")
    blobs = BlobStore(settings)
    manifest = _load_manifest(blobs, ref)
    train_bins = _doc_bins(blobs, ref, manifest, "train")
    # Without dev documents (a one-document training set) training simply runs to max_steps.
    dev_bins = _doc_bins(blobs, ref, manifest, "dev")
    checkpoint_name = _blob(ref, "checkpoint.bin")
    checkpoint = _checkpoint_cache.read(settings, checkpoint_name)
    started = time.monotonic()
    result = run_train_chunk(
        checkpoint,
        train_bins,
        dev_bins,
        max_seconds=settings.train_chunk_seconds,
        should_stop=_StopCheck(settings, ref),
    )
    seconds = time.monotonic() - started
    _checkpoint_cache.write(settings, checkpoint_name, result.checkpoint)
    previous = int(manifest.get("step", 0))
    steps_run = max(0, result.step - previous)
    timed_seconds = float(manifest.get("timed_seconds", 0.0)) + seconds
    timed_steps = int(manifest.get("timed_steps", 0)) + steps_run
    # Remember where the checkpoint was so a retried or resumed chunk measures only its own steps.
    blobs.put_json(
        _blob(ref, "manifest.json"),
        {**manifest, "step": result.step, "timed_seconds": timed_seconds, "timed_steps": timed_steps},
    )
    summary = ChunkSummary(
        step=result.step,
        max_steps=settings.train_max_steps,
        steps_run=steps_run,
        seconds=round(seconds, 3),
        loss=float(result.loss),
        dev_score=result.dev_score,
        best_score=result.best_score,
        finished=result.finished,
        stop_reason=result.stop_reason,
    )
    if result.stop_reason == "cancelled":
        return summary
    try:
        progress = record_training_progress(
            settings,
            ProgressUpdate(
                ref.projectName,
                ref.jobId,
                step=result.step,
                max_steps=settings.train_max_steps,
                finished=result.finished,
                seconds_per_step=timed_seconds / timed_steps if timed_steps else None,
            ),
        )
    except training_jobs.JobNotActive:
        # A cancel landed after the last step: the orchestration finishes it as a cancel.
        summary.finished, summary.stop_reason = True, "cancelled"
        return summary
    summary.percent_complete = progress.percent_complete
    summary.estimated_end = progress.estimated_end
    return summary


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
    checkpoint = _checkpoint_cache.read(settings, _blob(ref, "checkpoint.bin"))
    blobs.put_bytes(_blob(ref, "model.bin"), best_model_bytes(checkpoint))
    training_jobs.start_evaluation(settings, ref.projectName, ref.jobId)
    # Training is over: this process no longer needs the job's shards or checkpoint.
    _shard_cache.forget_prefix(training_jobs.scratch_prefix(ref.projectName, ref.jobId))
    _checkpoint_cache.forget_prefix(training_jobs.scratch_prefix(ref.projectName, ref.jobId))


def _region_evaluations(
    document: DocumentAsset, text: str, predictions: list[list[tuple[int, int, str]]]
) -> list[RegionEvaluation]:
    regions = []
    for region, predicted in zip(region_texts(document, text), predictions, strict=True):
        expected = [Entity(label, *region.to_utf16_entity(start, end)) for start, end, label in region.spans]
        found = [Entity(label, *region.to_utf16_entity(start, end)) for start, end, label in predicted]
        regions.append(RegionEvaluation(region.region_offset, region.region_length, expected, found))
    return regions


def _evaluate_batch(
    nlp: Language, lock: threading.Lock, batch: list[tuple[DocumentAsset, str]]
) -> list[DocumentEvaluation]:
    """Predict every region of a batch of documents in one ``nlp.pipe`` call."""
    regions = [[region.text for region in region_texts(document, text)] for document, text in batch]
    with lock:
        predicted = predict_spans(nlp, [region for texts in regions for region in texts])
    evaluations = []
    start = 0
    for (document, text), texts in zip(batch, regions, strict=True):
        mine = predicted[start : start + len(texts)]
        start += len(texts)
        evaluations.append(
            DocumentEvaluation(
                document.location, document.language, _region_evaluations(document, text, mine)
            )
        )
    return evaluations


def evaluate_shard(settings: Settings, task: ShardTask) -> ShardEvaluation:
    """Predict the test shard's documents with the best model and count matches per entity.

    The documents are downloaded a few at a time concurrently and predicted in batches of
    :data:`EVAL_BATCH_DOCUMENTS`; the model is loaded once per process for all of the job's shards.
    """
    ref = task.ref
    training_jobs.heartbeat(settings, ref.projectName, ref.jobId)
    blobs = BlobStore(settings)
    manifest = _load_manifest(blobs, ref)
    documents = _shard_documents(blobs, ref, task.shard)
    by_location = _documents_by_location_list(documents)
    nlp, lock = _model_cache.get(blobs, _blob(ref, "model.bin"))
    counts = EvaluationCounts()
    results: list[dict[str, Any]] = []
    batch: list[tuple[DocumentAsset, str]] = []
    for location, result in iter_document_results(settings, manifest["container"], list(by_location)):
        if isinstance(result, AppError):
            raise result  # converted a moment ago: the document changed or vanished since
        batch.append((by_location[location], result))
        if len(batch) >= EVAL_BATCH_DOCUMENTS:
            for evaluation in _evaluate_batch(nlp, lock, batch):
                counts.add(evaluation)
                results.append(evaluation.to_dict())
            batch = []
    for evaluation in _evaluate_batch(nlp, lock, batch) if batch else []:
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
        model_expiration_date=NO_EXPIRATION_DATE,
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
    _forget_cached(ref)
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
    _forget_cached(JobRef(report.projectName, report.jobId))


def cancel_training(settings: Settings, ref: JobRef) -> None:
    """The orchestration noticed the cancel itself (training returned ``cancelled``): finish it."""
    training_jobs.complete_cancel(settings, ref.projectName, ref.jobId)
    _forget_cached(ref)
