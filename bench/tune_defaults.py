"""A/B study of candidate changes to a training config (shared/ner/configs/) at an equal wall-clock budget.

Everything runs in this one process with the service's own trainer (no host, no Azurite): per dataset
the Test documents are fixed (the file's ``dataset`` field when every document has one, else the
service's seeded 80/20 split with ``--split-seed``), the dev set is carved from the training documents
with the service's ``carve_dev_set`` (seeded by the run's seed, as the pipeline does), DocBins come from
``build_doc_bin``, and each run is ``init_checkpoint`` + one ``train_chunk`` capped at ``--seconds`` of
wall-clock (the service's default max_steps / patience / eval_frequency still apply). The best model is
scored on the Test documents with shared/ner/evaluation.py (exact span+type micro-F1).

Arms alternate (A B A B ...) per seed so slow drift of the machine's load hits both arms alike. The
baseline arm is the config of ``--base-version`` (a ``trainingConfigVersion``), each ``--version`` adds an
arm with that version's config, and a candidate's config is the baseline config text with some
``key = value`` lines replaced; the text is handed to the trainer by replacing
``shared.ner.training.model._config_text`` in this process only (the trained model carries its config,
so every chunk uses it).

Usage::

    .venv/bin/python -m bench.tune_defaults --seconds 60 --seeds 0 1 2 \\
        --candidate dropout=training.dropout=0.2
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.datasets import choose_split, load_dataset
from bench.direct import run_direct

ROOT = Path(__file__).resolve().parents[1]
DATA = Path("/work/shared/data")


def patched_config(base: str, overrides: dict[str, str]) -> str:
    """``base`` with ``section.key = value`` overrides applied (each must match exactly one line)."""
    text = base
    for dotted, value in overrides.items():
        section, key = dotted.rsplit(".", 1)
        pattern = re.compile(
            rf"(^\[{re.escape(section)}\]\n(?:(?!\[).*\n)*?){re.escape(key)} = [^\n]*$", re.MULTILINE
        )
        text, count = pattern.subn(lambda m, k=key, v=value: f"{m.group(1)}{k} = {v}", text)
        if count != 1:
            raise SystemExit(f"override {dotted}: matched {count} lines in config.cfg")
    return text


def parse_candidate(spec: str) -> tuple[str, dict[str, str]]:
    """``name=section.key=value[,section.key=value...]``."""
    name, _, rest = spec.partition("=")
    overrides = {}
    for part in rest.split(","):
        dotted, _, value = part.partition("=")
        overrides[dotted.strip()] = value.strip()
    return name, overrides


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets", nargs="+", default=[str(DATA / "loan-agreements"), str(DATA / "wnut17")]
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="wall-clock training budget per run")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the 80/20 test split (fixed)")
    parser.add_argument("--candidate", action="append", default=[], help="name=section.key=value,...")
    parser.add_argument("--base-version", default="2022-05-01", help="trainingConfigVersion of the baseline")
    parser.add_argument("--version", action="append", default=[], help="another trainingConfigVersion arm")
    # the service's defaults (shared/config.py): NER_TRAIN_MAX_STEPS / _PATIENCE / _EVAL_FREQUENCY
    parser.add_argument("--max-steps", type=int, default=2000)
    parser.add_argument("--patience", type=int, default=600)
    parser.add_argument("--eval-frequency", type=int, default=100)
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = parser.parse_args(argv)

    import shared.ner.training.model as training
    from shared.ner import config_versions

    base = config_versions.config_text(args.base_version, "en")
    arms: list[tuple[str, str]] = [(args.base_version, base)]
    arms += [(version, config_versions.config_text(version, "en")) for version in args.version]
    for spec in args.candidate:
        name, overrides = parse_candidate(spec)
        arms.append((name, patched_config(base, overrides)))

    rows: list[dict[str, Any]] = []
    loaded = []
    for folder in args.datasets:
        ds = load_dataset(Path(folder))
        train, test, how = choose_split(ds, "auto", args.split_seed)
        print(f"== {ds.name}: {len(train)} train / {len(test)} test ({how})", flush=True)
        loaded.append((ds, train, test))
    # seed-major order: a run cut short still has whole seeds on every dataset
    for seed in args.seeds:
        for ds, train, test in loaded:
            for arm, text in arms:
                training._config_text = lambda version, lang, text=text: text  # type: ignore[assignment]
                t0 = time.perf_counter()
                run = run_direct(
                    ds,
                    train,
                    test,
                    max_steps=args.max_steps,
                    patience=args.patience,
                    eval_frequency=args.eval_frequency,
                    seed=seed,
                    max_seconds=args.seconds,
                )
                row = {
                    "dataset": ds.name,
                    "seed": seed,
                    "arm": arm,
                    "steps": run["steps"],
                    "stop_reason": run["stop_reason"],
                    "best_dev": run["best_dev_score"],
                    "f1": run["scores"]["microF1"],
                    "p": run["scores"]["microPrecision"],
                    "r": run["scores"]["microRecall"],
                    "train_seconds": round(run["train_seconds"], 1),
                    "wall_seconds": round(time.perf_counter() - t0, 1),
                }
                rows.append(row)
                print(
                    f"   {ds.name} seed {seed} {arm:>10}: F1 {row['f1']:.3f} (P {row['p']:.3f} R {row['r']:.3f}) "
                    f"steps {row['steps']} stop {row['stop_reason']} dev {row['best_dev']} "
                    f"train {row['train_seconds']}s",
                    flush=True,
                )

    print("\n| dataset | seed | " + " | ".join(f"{a} F1 (steps)" for a, _ in arms) + " |")
    print("|---|---|" + "---|" * len(arms))
    for name in dict.fromkeys(r["dataset"] for r in rows):
        for seed in args.seeds:
            cells = []
            for arm, _ in arms:
                r = next(x for x in rows if x["dataset"] == name and x["seed"] == seed and x["arm"] == arm)
                cells.append(f"{r['f1']:.3f} ({r['steps']})")
            print(f"| {name} | {seed} | " + " | ".join(cells) + " |")
        medians = [
            statistics.median(r["f1"] for r in rows if r["dataset"] == name and r["arm"] == arm)
            for arm, _ in arms
        ]
        print(f"| {name} | median | " + " | ".join(f"{m:.3f}" for m in medians) + " |")
    if args.out:
        args.out.write_text(json.dumps({"args": vars(args) | {"out": str(args.out)}, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
