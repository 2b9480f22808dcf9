"""In-process side-by-side runs for ``bench.quality_vs_cli --in-process``: config versions vs the CLI.

Per dataset and repeat, every arm trains once on the same documents under the same wall-clock budget B,
arms in a rotated order per repeat (so slow drift of a loaded machine hits every arm alike):

* ``cli``: ``run_spacy_cli`` (``spacy init config ... --optimize efficiency`` + ``spacy train``, SIGINT at
  B counted from the start of its DocBin preparation, model-best scored);
* one arm per ``trainingConfigVersion`` (optionally with config overrides): the service's trainer in this
  process, B counted from the start of its DocBin preparation (dev carve, conversion,
  ``init_checkpoint``), the rest of B given to one ``train_chunk``; best model scored. The process is
  warm (the cluster table is loaded before the first run, as in a worker that has trained before).

With ``budget_kind="cpu"`` (for a shared, loaded machine) B is CPU seconds instead: the in-process arm
stops (keeping its best model) once this process has used B CPU seconds since the start of its
preparation; the CLI's ``spacy train`` process gets SIGINT once it has used B CPU seconds (its start-up
included; its DocBin preparation in this process is not counted, a small advantage to the CLI).

Repeat ``r`` trains with seed ``--seed + r`` on both sides (the dev carve follows the seed, as in the
service); the train/test split is fixed by ``--seed``. Scoring is the service's exact-match evaluation
for every arm. Prediction speed: words (tokens) per CPU second of ``nlp.pipe`` over the test regions'
texts (CPU time of this process, so other load on the machine does not count), the median of three
passes, measured the same way for every arm. CPU seconds: this process's CPU time
during an in-process run, the child's for the CLI.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import signal
import statistics
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.baseline_cli import run_spacy_cli
from bench.datasets import Dataset, dev_carve, doc_bin
from bench.machine import RESULTS
from bench.memory import proc_cmdline, process_tree
from bench.scoring import micro, score_predictions


def parse_arm(spec: str) -> tuple[str, str, dict[str, str]]:
    """``[name:]version[,section.key=value...]`` -> (name, version, config overrides)."""
    head, *pairs = spec.split(",")
    name, _, version = head.rpartition(":")
    overrides = dict(pair.split("=", 1) for pair in pairs)
    return name or head, version, overrides


def _test_texts(ds: Dataset, test: Sequence[str]) -> list[str]:
    from shared.ner.documents import region_texts

    assets = ds.assets
    return [region.text for loc in test for region in region_texts(assets[loc], ds.texts[loc])]


def words_per_cpu_second(nlp: Any, texts: list[str], passes: int = 3) -> float:
    """Tokens per CPU second of ``nlp.pipe`` over ``texts`` (median of ``passes``)."""
    rates = []
    for _ in range(passes):
        t0 = time.process_time()
        words = sum(len(doc) for doc in nlp.pipe(texts))
        rates.append(words / max(time.process_time() - t0, 1e-9))
    return statistics.median(rates)


def _proc_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class CliCpuCap(threading.Thread):
    """Sends SIGINT to this process's ``spacy train`` child once it has used ``cap`` CPU seconds."""

    def __init__(self, cap: float) -> None:
        super().__init__(daemon=True)
        self.cap, self.done, self.fired = cap, threading.Event(), False

    def run(self) -> None:
        while not self.done.wait(0.2):
            for pid in process_tree(os.getpid())[1:]:
                if "-m spacy train" in proc_cmdline(pid) and _proc_cpu_seconds(pid) >= self.cap:
                    os.killpg(pid, signal.SIGINT)  # started in its own session: pgid == pid
                    self.fired = True
                    return


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_version(
    ds: Dataset,
    train: Sequence[str],
    test: Sequence[str],
    *,
    version: str,
    overrides: dict[str, str],
    budget: float,
    seed: int,
    settings: dict[str, str],
    budget_kind: str = "wall",
) -> dict[str, Any]:
    """The service's trainer with ``version``'s config (plus ``overrides``) under a wall or CPU budget."""
    from bench import layers  # noqa: F401  (registers bench-only layers that an arm's override may name)
    from bench.tune_defaults import patched_config
    from shared.ner import config_versions
    from shared.ner.training import (
        TrainingOptions,
        best_model_bytes,
        init_checkpoint,
        load_model,
        predict_spans,
        train_chunk,
    )
    from shared.ner.training import model as training_model
    from shared.ner.training.checkpoint import load_checkpoint

    # "options.eval_frequency=200" etc. override the trainer's settings; the rest patch the config
    limits = {key.removeprefix("options."): int(v) for key, v in overrides.items() if key.startswith("options.")}
    # "version.later_ties=true" changes the version's ConfigVersion flags for this run
    flags = {
        key.removeprefix("version."): v.lower() == "true" for key, v in overrides.items() if key.startswith("version.")
    }
    config_overrides = {key: v for key, v in overrides.items() if not key.startswith(("options.", "version."))}
    text = patched_config(config_versions.config_text(version, ds.lang), config_overrides)
    seam = training_model._config_text
    training_model._config_text = lambda _version, _lang: text  # type: ignore[assignment]
    original = config_versions.VERSIONS[version]
    config_versions.VERSIONS[version] = dataclasses.replace(original, **flags)  # type: ignore[arg-type]
    try:
        t0, cpu0 = time.perf_counter(), _cpu_self()
        rest, dev = dev_carve(ds, train, seed)
        train_bin, _ = doc_bin(ds, rest)
        dev_bin, _ = doc_bin(ds, dev)
        options = TrainingOptions(
            lang=ds.lang,
            labels=sorted(ds.project.entity_categories),
            max_steps=limits.get("max_steps", int(settings["NER_TRAIN_MAX_STEPS"])),
            patience=limits.get("patience", int(settings["NER_TRAIN_PATIENCE"])),
            eval_frequency=limits.get("eval_frequency", int(settings["NER_TRAIN_EVAL_FREQUENCY"])),
            seed=seed,
            config_version=version,
        )
        checkpoint = init_checkpoint(options, [train_bin])
        prep = time.perf_counter() - t0
        if budget_kind == "cpu":
            result = train_chunk(
                checkpoint, [train_bin], [dev_bin], should_stop=lambda: _cpu_self() - cpu0 >= budget
            )
        else:
            result = train_chunk(checkpoint, [train_bin], [dev_bin], max_seconds=max(1.0, budget - prep))
        train_seconds = time.perf_counter() - t0
        cpu = _cpu_self() - cpu0
        best_step = load_checkpoint(result.checkpoint)["best_step"]
    finally:
        training_model._config_text = seam  # type: ignore[assignment]
        config_versions.VERSIONS[version] = original
    model_bytes = best_model_bytes(result.checkpoint)
    nlp = load_model(model_bytes)
    summary = score_predictions(ds, test, lambda texts: predict_spans(nlp, texts))
    return {
        "steps": result.step,
        "stop_reason": result.stop_reason,
        "best_dev": result.best_score,
        "best_step": best_step,
        "prep_seconds": prep,
        "wall_seconds": train_seconds,
        "cpu_seconds": cpu,
        "model_mib": len(model_bytes) / 2**20,
        "words_per_cpu_second": words_per_cpu_second(nlp, _test_texts(ds, test)),
        "scores": micro(summary),
    }


def run_cli(
    ds: Dataset,
    train: Sequence[str],
    test: Sequence[str],
    *,
    budget: float,
    seed: int,
    budget_kind: str = "wall",
) -> dict[str, Any]:
    import spacy

    workdir = RESULTS / "work" / f"side-{ds.name}-{uuid.uuid4().hex[:6]}"
    cpu0 = _cpu_children()
    cap = CliCpuCap(budget) if budget_kind == "cpu" else None
    if cap is not None:
        cap.start()
    try:
        run = run_spacy_cli(
            ds,
            train,
            test,
            budget_seconds=budget if cap is None else budget * 10,  # cpu: the wall cap is only a backstop
            seed=seed,
            workdir=workdir,
            budget_covers_prep=cap is None,
        )
    finally:
        if cap is not None:
            cap.done.set()
    run["cpu_capped"] = bool(cap and cap.fired)
    run["cpu_seconds"] = _cpu_children() - cpu0  # the spacy init/train children (not the prep here)
    run["wall_seconds"] = run["prep_seconds"] + run["train_seconds"]  # scoring excluded, as for the others
    model_dir = workdir / "output" / str(run["model_used"]) if run["model_used"] else None
    if model_dir is not None and model_dir.exists():
        nlp = spacy.load(model_dir)
        run["words_per_cpu_second"] = words_per_cpu_second(nlp, _test_texts(ds, test))
        run["model_mib"] = sum(p.stat().st_size for p in Path(model_dir).rglob("*") if p.is_file()) / 2**20
        run["steps"] = run["last_evaluated_step"]
    return run


def side_by_side(
    ds: Dataset,
    train: Sequence[str],
    test: Sequence[str],
    *,
    arms: list[str],
    repeats: int,
    budget: float,
    seed: int,
    settings: dict[str, str],
    budget_kind: str = "wall",
    rotate: int = 0,
) -> dict[str, Any]:
    """Every arm (``cli`` or an arm spec) ``repeats`` times, rotated; per-arm medians and ranges.

    ``rotate`` shifts the rotation (cross-validation passes the fold number, so each fold starts with
    another arm)."""
    parsed = [("cli", "", {}) if arm == "cli" else parse_arm(arm) for arm in arms]
    if any(version for _, version, _ in parsed):
        from shared.ner.clusters import cluster_table, has_clusters

        if has_clusters(ds.lang):
            cluster_table(ds.lang)  # warm process: loaded once per worker, not per job
    runs: list[dict[str, Any]] = []
    for repeat in range(repeats):
        shift = (repeat + rotate) % len(parsed)
        order = parsed[shift:] + parsed[:shift]
        for name, version, overrides in order:
            run_seed = seed + repeat
            if name == "cli":
                run = run_cli(ds, train, test, budget=budget, seed=run_seed, budget_kind=budget_kind)
            else:
                run = run_version(
                    ds,
                    train,
                    test,
                    version=version,
                    overrides=overrides,
                    budget=budget,
                    seed=run_seed,
                    settings=settings,
                    budget_kind=budget_kind,
                )
            run.update({"arm": name, "repeat": repeat, "seed": run_seed})
            runs.append(run)
            print(
                f"   [{repeat}] {name:>22}: F1 {run['scores']['microF1']:.4f} steps {run.get('steps')} "
                f"wall {run['wall_seconds']:.1f}s cpu {run.get('cpu_seconds', 0):.1f}s "
                f"words/CPU-s {run.get('words_per_cpu_second', 0):.0f}",
                flush=True,
            )
    return {"runs": runs, "summary": summarize(runs, [name for name, _, _ in parsed])}


def _stats(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarize(runs: list[dict[str, Any]], arms: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for arm in arms:
        mine = [r for r in runs if r["arm"] == arm]
        out[arm] = {
            key: _stats([float(r[key]) for r in mine if r.get(key) is not None])
            for key in ("wall_seconds", "cpu_seconds", "steps", "words_per_cpu_second", "model_mib")
        }
        out[arm]["microF1"] = _stats([r["scores"]["microF1"] for r in mine])
    cli = out.get("cli")
    for arm in arms:
        if cli and arm != "cli":
            for key in ("microF1", "words_per_cpu_second", "cpu_seconds"):
                a, b = out[arm][key], cli[key]
                out[arm][f"{key}_ratio_to_cli"] = (
                    a["median"] / b["median"] if a and b and b["median"] else None
                )
    return out


def pooled(runs: list[dict[str, Any]], arms: list[str]) -> dict[str, Any]:
    """Cross-validation summary per arm: micro-F1 of the entity counts summed over every fold (per repeat,
    then median and range over repeats) and the spread of the per-fold F1s.

    An arm with a run that has no counts (a CLI run that produced no model) gets no pooled F1."""
    out: dict[str, Any] = {}
    for arm in arms:
        mine = [r for r in runs if r["arm"] == arm]
        per_repeat = []
        for repeat in sorted({r["repeat"] for r in mine}):
            counted = [r["scores"] for r in mine if r["repeat"] == repeat]
            if not all("tp" in s for s in counted):
                per_repeat = []
                break
            tp, fp, fn = (sum(s[k] for s in counted) for k in ("tp", "fp", "fn"))
            per_repeat.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
        out[arm] = {
            "pooled_microF1": _stats(per_repeat),
            "fold_microF1": _stats([r["scores"]["microF1"] for r in mine]),
            # test entities over all folds (one repeat's worth: each repeat sees the same documents)
            "test_entities": sum(
                r["scores"].get("tp", 0) + r["scores"].get("fn", 0) for r in mine if r["repeat"] == 0
            ),
        }
    cli = out.get("cli", {}).get("pooled_microF1")
    for arm in arms:
        mine_f1 = out[arm]["pooled_microF1"]
        out[arm]["pooled_ratio_to_cli"] = (
            mine_f1["median"] / cli["median"] if arm != "cli" and mine_f1 and cli and cli["median"] else None
        )
    return out


def print_table(name: str, summary: dict[str, Any]) -> None:
    def cell(stats: dict[str, float] | None, spec: str) -> str:
        if not stats:
            return "-"
        return f"{stats['median']:{spec}} ({stats['min']:{spec}}–{stats['max']:{spec}})"

    def times(value: float | None) -> str:
        return "–" if value is None else f"{value:.3f}"

    print(
        f"\n| {name} arm | F1 median (range) | × CLI | words/CPU-s median (range) | × CLI | wall s | CPU s | model MiB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for arm, s in summary.items():
        print(
            f"| {arm} | {cell(s['microF1'], '.3f')} | {times(s.get('microF1_ratio_to_cli'))} | "
            f"{cell(s['words_per_cpu_second'], '.0f')} | {times(s.get('words_per_cpu_second_ratio_to_cli'))} | "
            f"{cell(s['wall_seconds'], '.0f')} | {cell(s['cpu_seconds'], '.0f')} | {cell(s['model_mib'], '.1f')} |"
        )
