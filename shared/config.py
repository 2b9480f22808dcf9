"""The one settings object. App settings (Azure) or ``local.settings.json`` Values (locally) arrive
as environment variables; this is the only module that reads them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_STORAGE = "UseDevelopmentStorage=true"
MAX_TRAIN_CANDIDATES = 8
"""Each candidate holds a checkpoint in the job's scratch and one activity per chunk round: keep it small."""


@dataclass(frozen=True)
class Settings:
    """Typed view of every setting the app reads. ``local.settings.sample.json`` documents each key."""

    storage_connection: str
    """Connection string of the storage account holding the app's tables, blobs and queues."""
    app_container: str
    """Blob container for imported assets, job scratch data, models and evaluation results."""
    table_prefix: str
    """Prefix of the app's table names (letters and digits only)."""
    api_keys: tuple[str, ...]
    """Accepted ``Ocp-Apim-Subscription-Key`` values."""
    events_queue: str
    """Queue that receives a CloudEvents message on every job state change."""
    train_requests_queue: str
    """Queue from which training requests are accepted (queue-triggered ``:train``)."""
    job_ttl_days: int
    """Days a job record lives before the purge timer removes it (Azure: 7)."""
    heartbeat_timeout_seconds: int
    """A running job whose heartbeat is older than this is failed by the watchdog."""
    train_max_steps: int
    """Upper bound of training steps per job."""
    train_chunk_seconds: float
    """Wall-clock budget of one ``train_chunk`` activity."""
    train_patience: int
    """Early stopping: steps without dev-score improvement before training stops."""
    train_eval_frequency: int
    """Steps between dev-set evaluations (and early-stopping checks)."""
    model_cache_size: int = 4
    """Loaded models a worker keeps (least recently used dropped): one per deployed model version served."""
    extraction_batch_documents: int = 5
    """Documents per prediction activity of an extraction job."""
    extraction_batch_characters: int = 25_000
    """Characters per prediction activity of an extraction job (a longer document is a batch of its own)."""
    transfer_base_path: str | None = None
    """Folder of a pretrained spaCy pipeline for the transfer ``trainingConfigVersion`` (None: not offered)."""
    transfer_base_sha256: str | None = None
    """sha256 of that folder's file manifest (``shared/ner/transfer.py``); checked before it is used."""
    appinsights_connection: str = ""
    """Application Insights connection string; empty: no telemetry export (see shared/telemetry.py)."""
    train_candidates: int = 1
    """Candidates (seeds) a training job trains in parallel activities; the best on the dev set is kept."""

    @property
    def projects_table(self) -> str:
        return f"{self.table_prefix}Projects"

    @property
    def jobs_table(self) -> str:
        return f"{self.table_prefix}Jobs"

    @property
    def models_table(self) -> str:
        return f"{self.table_prefix}Models"

    @property
    def operations_table(self) -> str:
        return f"{self.table_prefix}Operations"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message lists every problem at once."""


def _int(env: Mapping[str, str], key: str, default: int, problems: list[str]) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        problems.append(f"{key} must be an integer, got {raw!r}")
        return default
    if value <= 0:
        problems.append(f"{key} must be positive, got {value}")
    return value


def _float(env: Mapping[str, str], key: str, default: float, problems: list[str]) -> float:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        problems.append(f"{key} must be a number, got {raw!r}")
        return default
    if value <= 0:
        problems.append(f"{key} must be positive, got {value}")
    return value


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build :class:`Settings` from a mapping (normally ``os.environ``).

    Raises:
        SettingsError: listing every missing or malformed key.
    """
    problems: list[str] = []
    storage = env.get("NER_STORAGE_CONNECTION") or env.get("AzureWebJobsStorage") or DEFAULT_STORAGE
    keys = tuple(k.strip() for k in env.get("LANGUAGE_API_KEYS", "").split(",") if k.strip())
    if not keys:
        problems.append("LANGUAGE_API_KEYS is empty: set at least one subscription key (comma-separated)")
    prefix = env.get("NER_TABLE_PREFIX", "ner")
    if not prefix.isalnum() or not prefix[:1].isalpha():
        problems.append(f"NER_TABLE_PREFIX must be letters and digits starting with a letter, got {prefix!r}")
    settings = Settings(
        storage_connection=storage,
        app_container=env.get("NER_APP_CONTAINER", "ner-app"),
        table_prefix=prefix,
        api_keys=keys,
        events_queue=env.get("NER_EVENTS_QUEUE", "ner-job-events"),
        train_requests_queue=env.get("NER_TRAIN_REQUESTS_QUEUE", "ner-train-requests"),
        job_ttl_days=_int(env, "NER_JOB_TTL_DAYS", 7, problems),
        heartbeat_timeout_seconds=_int(env, "NER_HEARTBEAT_TIMEOUT_SECONDS", 900, problems),
        train_max_steps=_int(env, "NER_TRAIN_MAX_STEPS", 2000, problems),
        train_chunk_seconds=_float(env, "NER_TRAIN_CHUNK_SECONDS", 30.0, problems),
        train_patience=_int(env, "NER_TRAIN_PATIENCE", 400, problems),
        train_eval_frequency=_int(env, "NER_TRAIN_EVAL_FREQUENCY", 100, problems),
        model_cache_size=_int(env, "NER_MODEL_CACHE_SIZE", 4, problems),
        extraction_batch_documents=_int(env, "NER_EXTRACTION_BATCH_DOCUMENTS", 5, problems),
        extraction_batch_characters=_int(env, "NER_EXTRACTION_BATCH_CHARACTERS", 25_000, problems),
        transfer_base_path=env.get("NER_TRANSFER_BASE_PATH", "").strip() or None,
        transfer_base_sha256=env.get("NER_TRANSFER_BASE_SHA256", "").strip().lower() or None,
        appinsights_connection=env.get("APPLICATIONINSIGHTS_CONNECTION_STRING", ""),
        train_candidates=_int(env, "NER_TRAIN_CANDIDATES", 1, problems),
    )
    if settings.train_candidates > MAX_TRAIN_CANDIDATES:
        problems.append(f"NER_TRAIN_CANDIDATES must be at most {MAX_TRAIN_CANDIDATES}, got {settings.train_candidates}")
    if bool(settings.transfer_base_path) != bool(settings.transfer_base_sha256):
        problems.append("NER_TRANSFER_BASE_PATH and NER_TRANSFER_BASE_SHA256 must be set together")
    sha = settings.transfer_base_sha256
    if sha and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
        problems.append("NER_TRANSFER_BASE_SHA256 must be 64 hexadecimal digits")
    if problems:
        raise SettingsError("Invalid app settings: " + "; ".join(problems))
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return load_settings(os.environ)
