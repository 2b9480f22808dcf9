"""Old import path of the benchmark helpers, kept for scripts not yet moved to the modules by concern.

New code imports from the module that owns the concern: ``bench.machine`` (machine record, results,
statistics), ``bench.datasets``, ``bench.scoring``, ``bench.baseline_cli`` (spaCy CLI), ``bench.direct``
(in-process run), ``bench.memory`` (``/proc`` sampling), ``bench.stack`` (Azurite + local host),
``bench.client`` (HTTP client) and ``bench.timeline`` (job timelines). Importing this module has no
side effects beyond importing those.
"""

from __future__ import annotations

from bench.baseline_cli import run_spacy_cli
from bench.client import API_VERSION, BENCH_KEY, PROJECTS_PATH, ServiceClient, upload_documents
from bench.datasets import (
    Dataset,
    choose_split,
    dev_carve,
    doc_bin,
    find_project_file,
    load_dataset,
    manual_project_json,
)
from bench.direct import direct_training_options, probe_steps_per_second, run_direct
from bench.machine import DATA_ROOT, RESULTS, ROOT, machine_info, median, percentile, ratio, write_result
from bench.memory import MemorySampler, proc_cmdline, proc_memory_kib, process_tree
from bench.scoring import micro, rescore_service_results, score_predictions
from bench.stack import Stack, default_service_settings
from bench.timeline import JobTimeline, durable_status_url, job_phase_seconds, service_train_and_evaluate

__all__ = [
    "API_VERSION", "BENCH_KEY", "DATA_ROOT", "PROJECTS_PATH", "RESULTS", "ROOT",
    "Dataset", "JobTimeline", "MemorySampler", "ServiceClient", "Stack",
    "choose_split", "default_service_settings", "dev_carve", "direct_training_options", "doc_bin",
    "durable_status_url", "find_project_file", "job_phase_seconds", "load_dataset", "machine_info",
    "manual_project_json", "median", "micro", "percentile", "probe_steps_per_second", "proc_cmdline",
    "proc_memory_kib", "process_tree", "ratio", "rescore_service_results", "run_direct", "run_spacy_cli",
    "score_predictions", "service_train_and_evaluate", "upload_documents", "write_result",
]
