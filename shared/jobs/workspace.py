"""Every blob name of a job, a trained model and a project, in the app container. Nothing else builds one.

The layout is drawn in the package docstring (:mod:`shared.jobs`).
"""

from __future__ import annotations

from dataclasses import dataclass

SCRATCH_ROOT = "jobs/"


def project_prefix(project_name: str) -> str:
    """Prefix of the project's own blobs (assets, staged imports, exports)."""
    return f"projects/{project_name}/"


def assets_blob(project_name: str) -> str:
    return f"{project_prefix(project_name)}assets.json"


def staged_import_blob(project_name: str, job_id: str) -> str:
    return f"{project_prefix(project_name)}imports/{job_id}.json"


def export_blob(project_name: str, job_id: str) -> str:
    return f"{project_prefix(project_name)}exports/{job_id}.json"


def scratch_prefix(project_name: str, job_id: str) -> str:
    """Prefix of a training job's scratch data."""
    return f"{SCRATCH_ROOT}{project_name}/{job_id}/"


def scratch_job_of(name: str) -> tuple[str, str] | None:
    """``(project, job)`` of a scratch blob name, or None for a name outside a job folder."""
    if not name.startswith(SCRATCH_ROOT) or name.count("/") < 3:
        return None
    project, job = name[len(SCRATCH_ROOT) :].split("/", 2)[:2]
    return project, job


def model_prefix(project_name: str, label: str, job_id: str) -> str:
    """Where a trained model's files live (one folder per job, so a redeploy can still find the old one)."""
    return f"models/{project_name}/{label}/{job_id}/"


MODEL_FILE = "model.bin"
CALIBRATION_FILE = "calibration.json"


def calibration_blob(model_blob: str) -> str:
    """The confidence calibrator stored next to a trained model version's ``model.bin`` (same folder)."""
    return model_blob.rsplit("/", 1)[0] + "/" + CALIBRATION_FILE if "/" in model_blob else CALIBRATION_FILE


def project_prefixes(project_name: str) -> tuple[str, ...]:
    """Every prefix holding data of one project (deleted with the project)."""
    return (project_prefix(project_name), f"{SCRATCH_ROOT}{project_name}/", f"models/{project_name}/")


@dataclass(frozen=True)
class JobWorkspace:
    """The scratch blobs of one training job."""

    project_name: str
    job_id: str

    @property
    def prefix(self) -> str:
        return scratch_prefix(self.project_name, self.job_id)

    def _blob(self, name: str) -> str:
        return self.prefix + name

    @property
    def manifest(self) -> str:
        return self._blob("manifest.json")

    @property
    def split(self) -> str:
        return self._blob("split.json")

    @property
    def snapshot(self) -> str:
        return self._blob("snapshot.json")

    @property
    def checkpoint(self) -> str:
        return self._blob("checkpoint.bin")

    def candidate_checkpoint(self, candidate: int) -> str:
        """Candidate 0 keeps the single-candidate name, so a job started before fan-out still resumes."""
        return self.checkpoint if candidate == 0 else self._blob(f"candidates/{candidate}/checkpoint.bin")

    def candidate_progress(self, candidate: int) -> str:
        """Steps and timing of one candidate's chunks so far (each candidate writes only its own)."""
        return self._blob(f"candidates/{candidate}/progress.json")

    @property
    def model(self) -> str:
        return self._blob("model.bin")

    def shard_bin(self, shard: str) -> str:
        return self._blob(f"shards/{shard}.spacy")

    def shard_documents(self, shard: str) -> str:
        return self._blob(f"shards/{shard}.docs.json")

    def evaluation(self, shard: str) -> str:
        return self._blob(f"eval/{shard}.json")


@dataclass(frozen=True)
class ModelFolder:
    """The blobs of one trained model."""

    project_name: str
    label: str
    job_id: str

    @property
    def prefix(self) -> str:
        return model_prefix(self.project_name, self.label, self.job_id)

    @property
    def model(self) -> str:
        return self.prefix + MODEL_FILE

    @property
    def evaluation_summary(self) -> str:
        return self.prefix + "evaluation-summary.json"

    @property
    def evaluation_documents(self) -> str:
        return self.prefix + "evaluation-documents.json"

    @property
    def snapshot(self) -> str:
        return self.prefix + "snapshot.json"

    @property
    def calibration(self) -> str:
        return calibration_blob(self.model)


EXTRACTION_ROOT = "analyze-text/jobs/"


@dataclass(frozen=True)
class ExtractionWorkspace:
    """The blobs of one entity-extraction job (deleted when the job expires)."""

    job_id: str

    @property
    def prefix(self) -> str:
        return f"{EXTRACTION_ROOT}{self.job_id}/"

    @property
    def request(self) -> str:
        return self.prefix + "request.json"

    def batch(self, task_index: int, batch_number: int) -> str:
        return self.prefix + f"tasks/{task_index}/batch-{batch_number:04d}.json"

    @property
    def results(self) -> str:
        return self.prefix + "results.json"
