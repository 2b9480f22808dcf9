"""Step 1, ``prepare_training``: mark the job running, check the documents exist, split and plan shards."""

from __future__ import annotations

import logging

from shared.config import Settings
from shared.errors import ErrorDetail, invalid_with_details
from shared.models import utc_now
from shared.ner.corpus import spacy_language
from shared.ner.project_file import parse_project_file
from shared.ner.splitting import carve_dev_set, split_documents
from shared.storage.blobs import BlobStore
from shared.storage.documents import check_documents
from shared.storage.projects import ProjectStore
from shared.training import estimate, jobs
from shared.training.payloads import JobRef, PreparedTraining
from shared.training.problems import DocumentProblems
from shared.training.shards import SHARD_SIZE, by_location, shard_ids, write_shard_documents
from shared.training.split_summary import EFFECTIVE_SPLIT_WARNING, describe_split

logger = logging.getLogger(__name__)

DEV_FRACTION = 0.1
"""Share of the training documents held out as the dev set (early stopping and best-model choice)."""
MAX_DEV_DOCUMENTS = 500
"""Cap on the dev set: beyond a few hundred documents a larger dev set barely steadies the score, but
every dev evaluation (each ``eval_frequency`` steps) costs time in proportion, and the documents are
worth more as training data."""


def prepare_training(settings: Settings, ref: JobRef, *, shard_size: int = SHARD_SIZE) -> PreparedTraining:
    """Mark the job running, check the documents exist, split and plan shards.

    Existence and size of every document come from one listing of the input container; nothing is
    downloaded here. Decoding and label checks happen when a shard is converted (:func:`shared.training.steps.convert.convert_shard`).

    Raises:
        InvalidArgument: the input container is missing, a document is missing, empty or too large (one
            detail per document, up to :data:`~shared.training.problems.MAX_REPORTED_PROBLEMS`); the split is impossible.
    """
    job = jobs.mark_phase(settings, ref.projectName, ref.jobId, "splitting")
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
    documents_at = by_location(documents)
    container = project_file.storage_input_container_name or project.storage_input_container_name

    problems = DocumentProblems()
    for error in check_documents(settings, container, [doc.location for doc in documents]):
        problems.add(error, error.target or "", label=False)
    problems.raise_if_any()

    split = split_documents(
        documents, job.evaluation_options, seed=job.seed, categories=project_file.entity_categories
    )
    train_docs = [documents_at[location] for location in split.train]
    train_locations, dev_locations = carve_dev_set(
        train_docs, fraction=dev_fraction(len(train_docs)), seed=job.seed
    )
    shards = {
        **shard_ids("train", train_locations, shard_size),
        **shard_ids("dev", dev_locations, shard_size),
        **shard_ids("test", split.test, shard_size),
    }
    labels = sorted(project_file.entity_categories)
    language = project_file.language
    corpus = estimate.Corpus(
        documents=len(documents), training_documents=len(split.train), test_documents=len(split.test)
    )
    # From the first seconds: a few percent and an end time estimated from the corpus size.
    jobs.record_estimate(
        settings, ref.projectName, ref.jobId,
        percent=estimate.PHASE_PERCENT["converting"],
        estimated_end=estimate.estimated_end(utc_now(), "converting", corpus, settings.train_max_steps),
    )  # fmt: skip
    effective = describe_split(
        job.evaluation_options,
        training=len(split.train),
        dev=len(dev_locations),
        testing=len(split.test),
        preassigned_test=sum(1 for document in documents if document.is_test),
    )
    manifest = {
        "language": language,
        "spacy_lang": spacy_language(language),
        "labels": labels,
        "seed": job.seed,
        "config_version": job.training_config_version,
        "container": container,
        "shards": shards,
        "corpus": corpus.to_dict(),
    }
    blobs.put_json(ref.workspace.snapshot, raw_assets)
    write_shard_documents(blobs, ref.workspace, shards, documents_at)
    blobs.put_json(
        ref.workspace.split,
        {**split.to_dict(), "dev": dev_locations, "trainWithoutDev": train_locations, "effective": effective},
    )
    blobs.put_json(ref.workspace.manifest, manifest)
    # The effective split is reported on the job (Azure's warnings are the one free-text place there).
    split_note = ErrorDetail(EFFECTIVE_SPLIT_WARNING, effective["explanation"])
    jobs.add_warnings(settings, ref.projectName, ref.jobId, [split_note, *split.warnings])
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
