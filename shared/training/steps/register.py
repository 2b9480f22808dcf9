"""Step 5, ``finalize_training``: fit the model's confidence calibrator, register the model and end the job;
and the two other ways a job ends from inside its orchestration (``fail_training``, ``cancel_training``).
"""

from __future__ import annotations

import uuid
from typing import Any

from shared.config import Settings
from shared.jobs.lifecycle import JobNotActive, is_stop_requested
from shared.jobs.workspace import ModelFolder
from shared.models import NO_EXPIRATION_DATE, EvaluationOptions, TrainedModelRecord, utc_now
from shared.ner import transfer
from shared.ner.evaluation import DocumentEvaluation, EvaluationCounts, summarize
from shared.service.model_versions import release_model_version
from shared.storage.blobs import BlobStore
from shared.storage.projects import ProjectStore
from shared.storage.trained_models import ModelStore
from shared.training import jobs
from shared.training.caches import forget_job, model_cache
from shared.training.calibration import fit_on_dev_set
from shared.training.payloads import FailureReport, FinalizeRequest, FinalizeResult, JobRef
from shared.training.requests import check_model_quota
from shared.training.shards import load_manifest


def _calibrate(settings: Settings, blobs: BlobStore, ref: JobRef) -> dict[str, Any]:
    """The model's confidence calibrator, fitted on the job's dev documents (``shared.training.calibration``)."""
    transfer.configure_from_settings(settings)  # a transfer model loads with the base's vectors
    manifest = load_manifest(blobs, ref.workspace)
    dev_bins = [blobs.get_bytes(ref.workspace.shard_bin(s)) for s in sorted(manifest["shards"]) if s.startswith("dev-")]
    nlp, lock = model_cache.get(blobs, ref.workspace.model)
    return fit_on_dev_set(nlp, lock, dev_bins, int(manifest["seed"])).to_dict()


def finalize_training(settings: Settings, request: FinalizeRequest) -> FinalizeResult:
    """Summarise the evaluation, fit the confidence calibrator, register the model under its label and mark
    the job succeeded.

    Raises:
        Conflict: the project reached its model limit meanwhile, or the job was cancelled.
    """
    ref = JobRef(request.projectName, request.jobId)
    job = jobs.mark_phase(settings, ref.projectName, ref.jobId, "registering")
    blobs = BlobStore(settings)
    counts = EvaluationCounts()
    for shard_counts in request.shard_counts:
        counts = counts.merge(EvaluationCounts.from_dict(shard_counts))
    options: EvaluationOptions = job.evaluation_options
    summary = summarize(counts, options)
    # Azure's evaluationOptions echo the request; this says what the split really was, and why.
    effective = blobs.get_json(ref.workspace.split).get("effective")
    if effective:
        summary["effectiveSplit"] = effective
    documents: list[dict[str, Any]] = []
    for shard in request.eval_shards:
        for item in blobs.get_json(ref.workspace.evaluation(shard)):
            documents.append(DocumentEvaluation.from_dict(item).to_public())

    calibration = _calibrate(settings, blobs, ref)

    check_model_quota(settings, ref.projectName, job.model_label)
    now = utc_now()
    folder = ModelFolder(ref.projectName, job.model_label, ref.jobId)
    blobs.put_bytes(folder.model, blobs.get_bytes(ref.workspace.model))
    blobs.put_json(folder.evaluation_summary, summary)
    blobs.put_json(folder.evaluation_documents, documents)
    blobs.put_json(folder.snapshot, blobs.get_json(ref.workspace.snapshot))
    blobs.put_json(folder.calibration, calibration)  # next to model.bin: a deployment pins both
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
        model_blob=folder.model,
        evaluation_summary_blob=folder.evaluation_summary,
        evaluation_documents_blob=folder.evaluation_documents,
        snapshot_blob=folder.snapshot,
    )
    # Last check before the model becomes visible: a cancel that landed during evaluation wins.
    if is_stop_requested(jobs.get_job(settings, ref.projectName, ref.jobId)):
        blobs.delete_prefix(folder.prefix)
        raise JobNotActive(
            f"Training job '{ref.jobId}' was cancelled; no model was registered."
        )
    models = ModelStore(settings)
    previous = next((m for m in models.list(ref.projectName) if m.label == job.model_label), None)
    models.upsert(model)
    if previous is not None and previous.model_blob != model.model_blob:
        # The label's old version stays only while a deployment still serves it.
        release_model_version(settings, ref.projectName, previous.model_blob)
    projects = ProjectStore(settings)
    project = projects.get(ref.projectName)
    project.last_trained = now
    projects.upsert(project)
    jobs.succeed_job(settings, ref.projectName, ref.jobId)  # also drops the scratch data
    forget_job(ref.workspace)
    micro = summary.get("customEntityRecognitionEvaluation", {}).get("microF1")
    return FinalizeResult(
        model_label=job.model_label,
        model_id=model.model_id,
        micro_f1=float(micro) if micro is not None else None,
        test_documents=len(documents),
    )


def fail_training(settings: Settings, report: FailureReport) -> None:
    """Record a failed job with actionable ``errors[]``, release the slot and drop scratch data."""
    jobs.fail_training(settings, report.projectName, report.jobId, report.errors, phase=report.phase)
    forget_job(JobRef(report.projectName, report.jobId).workspace)


def cancel_training(settings: Settings, ref: JobRef) -> None:
    """The orchestration noticed the cancel itself (training returned ``cancelled``): finish it."""
    jobs.cancel_training(settings, ref.projectName, ref.jobId)
    forget_job(ref.workspace)
