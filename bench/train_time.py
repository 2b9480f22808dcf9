"""Wall time of a whole training job as a user runs it: ``:train`` -> succeeded, service defaults.

A private stack (Azurite + the local host, settings of local.settings.sample.json) gets the dataset's
documents and its own project file (imported as it is, so documents marked ``Test`` stay in test); then
``--repeats`` jobs train it with the default evaluation options (percentage 80/20) and ``--config``
(default ``latest``), one after another, each to a new model label. Reported per job: seconds from the
``:train`` request to the first status read that says ``succeeded`` (polled every 0.25 s), the job's steps
and the evaluation's micro-F1; median and range over the repeats. Issue 11's target for
loan-agreements: <= 120 s on the 2-core machine.

Usage: ``.venv/bin/python -m bench.train_time [--repeats 3] [--config latest] [folder]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from bench.client import ServiceClient, upload_documents
from bench.datasets import load_dataset
from bench.machine import DATA_ROOT, machine_info, median, write_result
from bench.stack import Stack

PERCENTAGE_SPLIT = {"kind": "percentage", "trainingSplitPercentage": 80, "testingSplitPercentage": 20}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DATA_ROOT / "loan-agreements")
    parser.add_argument("--project-file", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--config", default="latest", help="trainingConfigVersion")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    machine_at_start = machine_info()  # its load average is the one at the start

    ds = load_dataset(args.folder, args.project_file)
    project = "traintime"
    runs: list[dict[str, Any]] = []
    with Stack(workers=args.workers, log_name="train_time") as stack:
        client = ServiceClient(stack.endpoint)
        container = str(ds.raw["metadata"].get("storageInputContainerName") or project)
        upload_documents(stack.connection, container, ds.data)
        body = dict(ds.raw)
        body["metadata"] = {
            **ds.raw["metadata"],
            "projectName": project,
            "storageInputContainerName": container,
        }
        client.import_project(project, body)
        for repeat in range(args.repeats):
            t0 = time.perf_counter()
            _, url = client.start_training(project, f"m{repeat}", PERCENTAGE_SPLIT, args.config)
            job = client.wait(url)
            seconds = time.perf_counter() - t0
            if job.get("status") != "succeeded":
                raise RuntimeError(f"job {repeat} ended {job.get('status')}: {job.get('errors')}")
            summary = client.evaluation_summary(project, f"m{repeat}")
            f1 = summary["customEntityRecognitionEvaluation"]["microF1"]
            result = job.get("result") or {}
            version = result.get("trainingConfigVersion")  # what "latest" resolved to
            runs.append(
                {
                    "seconds": round(seconds, 2),
                    "microF1": f1,
                    "trainingConfigVersion": version,
                    "trainingStatus": result.get("trainingStatus", {}),
                }
            )
            print(f"job {repeat}: {seconds:.1f} s, micro-F1 {f1:.3f}, trainingConfigVersion {version}")
    times = [run["seconds"] for run in runs]
    print(
        f"{ds.name} ({args.config}): median {median(times):.1f} s, range {min(times):.1f}-{max(times):.1f} s"
    )
    write_result(
        "train_time",
        {
            "benchmark": "train_time",
            "machine": machine_at_start,
            "args": vars(args),
            "dataset": ds.name,
            "runs": runs,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
