"""Model quality and wall time of the service vs. ``python -m spacy train`` by hand, side by side.

For each dataset folder (Azure project format) the documents are split once (seeded) into train/test;
both sides use exactly that assignment:

(A) service: private Azurite + local host, upload, ``:import`` with every document's ``dataset`` set
    (evaluationOptions kind ``manual``), ``:train``, poll to succeeded, evaluation summary.
(B) CLI: the dev set is carved from train with the service's own ``carve_dev_set`` (same seed), DocBins
    built with the service's converter, ``spacy init config --lang <l> --pipeline ner --optimize
    efficiency`` (CPU), ``spacy train``; the model's predictions on the test documents are scored with
    the service's exact-match evaluation code (shared/ner/evaluation.py), so both sides are scored
    identically.

Same wall-clock budget, exactly:
  * service: it has no wall-clock setting, only a step cap, so NER_TRAIN_MAX_STEPS is calibrated to the
    nominal budget B (``--budget``): a probe (``--probe-seconds``) runs the service's trainer in-process
    on the same training documents and measures steps/s r (dev evaluations included); max_steps =
    r * B * ``--service-fraction`` (default 0.6, leaving the rest of B for the job's split, conversion,
    checkpoints and evaluation), rounded down to the evaluation frequency. Early stopping stays at the
    service default. Its wall time W = ``:train`` -> succeeded as seen by the poller (evaluation included).
  * CLI (``--cli-cap service``, the default): the CLI then gets that same W, measured on the service
    run just before it (A then B): W minus the time spent building its DocBins and config is the cap
    for the ``spacy train`` process (start-up, initialisation, training), which runs with the generated
    config (max_steps 20000, patience 1600) and is interrupted (SIGINT) at the cap; model-best is
    scored. Scoring the test documents (about 1-2 s) is not capped, a small advantage to the CLI.
    ``--cli-cap budget`` gives the CLI B instead (always so with ``--cli-only``).
Runs alternate A B A B ... and medians are reported for ``--repeats N``.

``--in-process`` compares training configurations instead of the whole service: the CLI and one arm per
``--arm [name:]trainingConfigVersion[,section.key=value...]`` (the service's trainer in this process; the
transfer version needs ``--transfer-base FOLDER --transfer-sha256 HEX``, as the app settings would), all
under the same wall-clock budget ``--budget``, rotated per repeat, with F1, words/s at prediction, CPU
seconds and model size as medians and ranges; ``--budget-kind cpu`` makes the budget CPU seconds, for a
loaded machine (see bench/side_by_side.py). ``--folds K`` cross-validates instead of using one split
(for small datasets, where a 4-document test set ranks nothing): the documents are dealt into K test
folds, every arm trains once per fold and repeat on the other documents (dev carved from them with the
repeat's seed, as the service does) under the same budget, and the micro-F1 of the entity counts summed
over all folds is reported with the per-fold spread. An arm override ``options.eval_frequency=200``
(or ``options.patience``/``options.max_steps``) changes the trainer's settings instead of the config.

Usage: ``.venv/bin/python -m bench.quality_vs_cli [--quick] [--repeats N] [--budget S] [folders...]``
       ``.venv/bin/python -m bench.quality_vs_cli --in-process --arm 2022-05-01 --arm 2026-11-29
       --repeats 3 --budget 75 FOLDER...``
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from bench.baseline_cli import run_spacy_cli
from bench.client import ServiceClient, upload_documents
from bench.datasets import choose_split, find_project_file, folds, load_dataset, manual_project_json
from bench.direct import probe_steps_per_second
from bench.machine import DATA_ROOT, RESULTS, machine_info, median, ratio, write_result
from bench.scoring import rescore_service_results
from bench.side_by_side import parse_arm, pooled, print_table, side_by_side, summarize
from bench.stack import Stack, default_service_settings
from bench.timeline import service_train_and_evaluate


def default_datasets() -> list[Path]:
    found = []
    for folder in sorted(DATA_ROOT.iterdir()) if DATA_ROOT.exists() else []:
        if folder.is_dir():
            try:
                find_project_file(folder)
            except SystemExit:
                continue
            found.append(folder)
    return found


def calibrate_steps(
    ds: Any, train: list[str], args: argparse.Namespace, eval_frequency: int
) -> dict[str, Any]:
    if args.service_max_steps:
        return {"max_steps": args.service_max_steps, "probe": None}
    probe = probe_steps_per_second(
        ds, train, seconds=args.probe_seconds, eval_frequency=eval_frequency, seed=args.seed
    )
    steps = int(probe["steps_per_second"] * args.budget * args.service_fraction)
    steps = max(eval_frequency, steps // eval_frequency * eval_frequency)
    return {"max_steps": steps, "probe": probe}


def run_in_process(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    ds = load_dataset(folder, args.project_file)
    if args.folds:
        return run_cross_validation(ds, args)
    train, test, split_desc = choose_split(ds, args.split, args.seed)
    print(f"\n== {ds.name}: {len(train)} train / {len(test)} test documents, split {split_desc}")
    result = side_by_side(
        ds,
        train,
        test,
        arms=args.arm if args.skip_cli else ["cli", *args.arm],
        repeats=args.repeats,
        budget=args.budget,
        seed=args.seed,
        settings=default_service_settings(),
        budget_kind=args.budget_kind,
    )
    print_table(ds.name, result["summary"])
    return {
        "dataset": ds.name,
        "split": split_desc,
        "train_docs": len(train),
        "test_docs": len(test),
        **result,
    }


def run_cross_validation(ds: Any, args: argparse.Namespace) -> dict[str, Any]:
    """``--folds K``: every arm on every fold (its dev set carved from the fold's train part, as the
    service does), the same budget per fold; pooled micro-F1 over all folds plus the per-fold spread."""
    arms = args.arm if args.skip_cli else ["cli", *args.arm]
    runs: list[dict[str, Any]] = []
    for fold, (train, test) in enumerate(folds(ds, args.folds, args.seed)):
        if args.only_folds and fold not in args.only_folds:
            continue  # another process runs it (merge the result files' runs with bench.side_by_side.pooled)
        print(f"\n== {ds.name} fold {fold + 1}/{args.folds}: {len(train)} train / {len(test)} test documents")
        result = side_by_side(
            ds,
            train,
            test,
            arms=arms,
            repeats=args.repeats,
            budget=args.budget,
            seed=args.seed,
            settings=default_service_settings(),
            budget_kind=args.budget_kind,
            rotate=fold,
        )
        runs.extend({**run, "fold": fold, "test_documents": test} for run in result["runs"])
    names = [name for name, _, _ in (("cli", "", {}) if a == "cli" else parse_arm(a) for a in arms)]
    summary, cv = summarize(runs, names), pooled(runs, names)
    print_cross_validation(ds.name, summary, cv)
    return {
        "dataset": ds.name,
        "split": f"{args.folds}-fold(seed={args.seed})",
        "folds": args.folds,
        "runs": runs,
        "summary": summary,
        "cross_validation": cv,
    }


def merge_folds(paths: list[Path]) -> dict[str, Any]:
    """``--merge-folds``: pool the runs of result files written by ``--only-folds`` processes."""
    datasets = [d for path in paths for d in json.loads(path.read_text())["datasets"]]
    runs = [run for d in datasets for run in d["runs"]]
    names = list(dict.fromkeys(["cli", *(run["arm"] for run in runs)]))
    folds_seen = sorted({run["fold"] for run in runs})
    summary, cv = summarize(runs, names), pooled(runs, names)
    print_cross_validation(" + ".join(sorted({d["dataset"] for d in datasets})), summary, cv)
    print(f"\nfolds: {folds_seen}; runs per arm: {[sum(r['arm'] == n for r in runs) for n in names]}")
    return {"merged_from": [p.name for p in paths], "folds": folds_seen, "summary": summary, "cross_validation": cv}


def print_cross_validation(name: str, summary: dict[str, Any], cv: dict[str, Any]) -> None:
    print_table(f"{name} (all folds' runs)", summary)
    print(f"\n| {name} arm | pooled micro-F1 median (range over repeats) | × CLI | per-fold F1 median (range) |")
    print("|---|---|---|---|")
    for arm, p in cv.items():
        pf, ff, ratio_cli = p["pooled_microF1"], p["fold_microF1"], p["pooled_ratio_to_cli"]
        print(
            f"| {arm} | {pf['median']:.3f} ({pf['min']:.3f}–{pf['max']:.3f}) | "
            f"{'–' if ratio_cli is None else format(ratio_cli, '.3f')} | "
            f"{ff['median']:.3f} ({ff['min']:.3f}–{ff['max']:.3f}) |"
            if pf
            else f"| {arm} | – | – | {ff['median']:.3f} |"
        )


def run_dataset(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    ds = load_dataset(folder, args.project_file)
    train, test, split_desc = choose_split(ds, args.split, args.seed)
    print(f"\n== {ds.name}: {len(train)} train / {len(test)} test documents, split {split_desc}")
    settings = default_service_settings()
    eval_frequency = int(args.eval_frequency or settings["NER_TRAIN_EVAL_FREQUENCY"])
    out: dict[str, Any] = {
        "dataset": ds.name,
        "folder": str(folder),
        "split": split_desc,
        "train_docs": len(train),
        "test_docs": len(test),
        "budget_seconds": args.budget,
        "runs": [],
    }
    stack = None
    client = None
    if not args.cli_only:
        calibration = calibrate_steps(ds, train, args, eval_frequency)
        out["service_calibration"] = calibration
        print(f"   service max_steps {calibration['max_steps']} (probe: {calibration['probe']})")
        overrides = {
            "NER_TRAIN_MAX_STEPS": str(calibration["max_steps"]),
            "NER_TRAIN_EVAL_FREQUENCY": str(eval_frequency),
        }
        if args.patience:
            overrides["NER_TRAIN_PATIENCE"] = str(args.patience)
        if args.chunk_seconds:
            overrides["NER_TRAIN_CHUNK_SECONDS"] = str(args.chunk_seconds)
        out["service_settings"] = {**settings, **overrides}
        stack = Stack(overrides, workers=args.workers, log_name=f"quality-{ds.name}").start()
        client = ServiceClient(stack.endpoint)
    try:
        container = f"bench-{uuid.uuid4().hex[:10]}"
        if stack is not None:
            out["upload_seconds"] = upload_documents(stack.connection, container, ds.data)
        for repeat in range(args.repeats):
            if stack is not None and client is not None:
                project = f"bench-{ds.name[:20]}-{repeat}"
                body = manual_project_json(ds, project, container, train, test)
                import_seconds, _ = client.import_project(project, body)
                run = service_train_and_evaluate(client, project)
                run["import_seconds"] = import_seconds
                run["repeat"] = repeat
                if run["status"] == "succeeded":
                    items = client.evaluation_results(project, "bench")
                    rescored = rescore_service_results(ds, items)["customEntityRecognitionEvaluation"][
                        "microF1"
                    ]
                    run["check_test_set_identical"] = sorted(i["location"] for i in items) == sorted(test)
                    run["check_rescored_microF1"] = rescored
                run.pop("summary", None)
                out["runs"].append(run)
                print(
                    f"   [A{repeat}] service: {run['status']} F1={run.get('scores', {}).get('microF1')} "
                    f"wall={run['wall_seconds']:.1f}s (import {import_seconds:.1f}s)"
                )
            if not args.service_only:
                workdir = RESULTS / "work" / f"quality-{ds.name}-{uuid.uuid4().hex[:6]}"
                paired = [r for r in out["runs"] if r["side"] == "service" and r["repeat"] == repeat]
                if args.cli_cap == "service" and paired:
                    cap, covers_prep = paired[-1]["wall_seconds"], True
                else:
                    cap, covers_prep = args.budget, False
                run = run_spacy_cli(
                    ds,
                    train,
                    test,
                    budget_seconds=cap,
                    seed=args.seed,
                    workdir=workdir,
                    max_steps=args.cli_max_steps,
                    budget_covers_prep=covers_prep,
                )
                run["repeat"] = repeat
                out["runs"].append(run)
                print(
                    f"   [B{repeat}] cli: F1={run['scores']['microF1']:.4f} wall={run['wall_seconds']:.1f}s "
                    f"(train {run['train_seconds']:.1f}s of cap {run['train_cap_seconds']:.1f}s, "
                    f"{run['seconds_past_cap']:.1f}s past it, "
                    f"last eval step {run['last_evaluated_step']}, "
                    f"interrupted={run['interrupted_at_budget']}, {run['model_used']})"
                )
    finally:
        if stack is not None:
            stack.stop()

    def med(side: str, key: str) -> float | None:
        # failed service runs have no model: they are listed in "runs" but kept out of the medians
        runs = [r for r in out["runs"] if r["side"] == side and r.get("scores")]
        values = [r["scores"][key] if key.startswith("micro") else r[key] for r in runs]
        return median(values) if values else None

    out["median"] = {
        side: {"microF1": med(side, "microF1"), "wall_seconds": med(side, "wall_seconds")}
        for side in ("service", "cli")
    }
    m = out["median"]
    out["quality_ratio"] = ratio(m["service"]["microF1"], m["cli"]["microF1"])
    out["time_ratio"] = ratio(m["service"]["wall_seconds"], m["cli"]["wall_seconds"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "folders", nargs="*", type=Path, help=f"dataset folders (default: every dataset in {DATA_ROOT})"
    )
    parser.add_argument("--project-file", type=Path, help="project file (only with one folder)")
    parser.add_argument(
        "--budget", type=float, default=120.0, help="wall-clock budget per training run, seconds"
    )
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", choices=["auto", "keep", "seeded"], default="auto")
    parser.add_argument("--probe-seconds", type=float, default=15.0)
    parser.add_argument("--service-fraction", type=float, default=0.6)
    parser.add_argument(
        "--cli-cap",
        choices=["service", "budget"],
        default="service",
        help="CLI wall-clock cap: the paired service run's wall time (default) or --budget",
    )
    parser.add_argument("--service-max-steps", type=int, help="skip the probe and use this step cap")
    parser.add_argument("--cli-max-steps", type=int, help="override the generated config's max_steps")
    parser.add_argument("--eval-frequency", type=int)
    parser.add_argument("--patience", type=int)
    parser.add_argument("--chunk-seconds", type=float)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cli-only", action="store_true")
    parser.add_argument("--service-only", action="store_true")
    parser.add_argument("--quick", action="store_true", help="budget 30 s, probe 6 s (a few minutes in all)")
    parser.add_argument("--in-process", action="store_true", help="config versions vs the CLI, no service")
    parser.add_argument(
        "--budget-kind",
        choices=["wall", "cpu"],
        default="wall",
        help="--in-process: --budget in wall or CPU s",
    )
    parser.add_argument(
        "--folds",
        type=int,
        help="--in-process: K-fold cross-validation over every document instead of one train/test split",
    )
    parser.add_argument(
        "--only-folds", type=lambda v: [int(x) for x in v.split(",")], help="--folds: run only these (0-based)"
    )
    parser.add_argument(
        "--arm", action="append", default=[], help="[name:]trainingConfigVersion[,section.key=value...]"
    )
    parser.add_argument(
        "--merge-folds", nargs="+", type=Path, help="pool the runs of these --only-folds result files; nothing runs"
    )
    parser.add_argument(
        "--skip-cli", action="store_true", help="--in-process: only the arms (compare with the CLI runs of another result file, e.g. with --merge-folds)"
    )
    parser.add_argument("--transfer-base", type=Path, help="pipeline folder for the transfer version's arm")
    parser.add_argument("--transfer-sha256", help="sha256 of that folder's manifest (shared/ner/transfer.py)")
    args = parser.parse_args(argv)
    if args.merge_folds:
        write_result("quality_vs_cli_merged", merge_folds(args.merge_folds))
        return 0
    if args.transfer_base:
        from shared.ner import transfer

        transfer.configure_base(args.transfer_base, args.transfer_sha256)  # verified before the runs
    if args.quick:
        args.budget, args.probe_seconds = 30.0, 6.0
    folders = args.folders or default_datasets()
    if args.project_file and len(folders) != 1:
        parser.error("--project-file needs exactly one folder")
    results = {"benchmark": "quality_vs_cli", "machine": machine_info(), "args": vars(args), "datasets": []}
    if args.in_process:
        if not args.arm:
            parser.error("--in-process needs at least one --arm")
        for folder in folders:
            results["datasets"].append(run_in_process(folder, args))
        write_result("quality_vs_cli", results)
        return 0
    for folder in folders:
        results["datasets"].append(run_dataset(folder, args))
    print("\n dataset            service F1  cli F1   ratio | service s  cli s   ratio")
    for d in results["datasets"]:
        m = d["median"]

        def fmt(v: float | None, spec: str) -> str:
            return format(v, spec) if v is not None else "-"

        print(
            f" {d['dataset']:<18} {fmt(m['service']['microF1'], '10.4f')} {fmt(m['cli']['microF1'], '7.4f')} "
            f"{fmt(d['quality_ratio'], '7.3f')} | {fmt(m['service']['wall_seconds'], '9.1f')} "
            f"{fmt(m['cli']['wall_seconds'], '6.1f')} {fmt(d['time_ratio'], '7.3f')}"
        )
    write_result("quality_vs_cli", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
