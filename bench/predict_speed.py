"""Prediction speed of two training configurations, measured side by side in one process.

One model per ``trainingConfigVersion`` is trained briefly on the train split with the service's trainer
(``--steps`` steps, same seed and documents; speed depends on the architecture, hardly on how long it
trained). Then both predict every document's texts (``--texts test``: only the test documents') in
alternating rounds (A B, then B A, ...), so drift of a shared machine hits both alike. ``--through pipe``
(default) times ``nlp.pipe``; ``--through extraction`` times what an extraction activity runs,
``shared.extraction.prediction.predict_entities`` (batches of 16 documents, plus the replay that scores
each entity's confidence). Per round: words (tokens) per CPU second of this process for each model and
their ratio. Reported: the median and range of each, and the models' sizes. The cluster table (and any
shared vectors) is loaded before the first round, as in a worker that has served before.

Usage::

    .venv/bin/python -m bench.predict_speed /work/shared/data/wnut17 --rounds 9
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.datasets import choose_split, load_dataset
from bench.direct import direct_training_options, train_and_dev_bins
from bench.machine import machine_info, write_result
from bench.side_by_side import _test_texts, words_per_cpu_second


def train_briefly(ds: Any, train: list[str], *, version: str, steps: int, seed: int) -> bytes:
    from shared.ner.training import best_model_bytes, init_checkpoint, train_chunk

    train_bin, dev_bin, _ = train_and_dev_bins(ds, train, seed)
    options = direct_training_options(
        ds, max_steps=steps, patience=0, eval_frequency=steps, seed=seed, config_version=version
    )
    result = train_chunk(init_checkpoint(options, [train_bin]), [train_bin], [dev_bin])
    return best_model_bytes(result.checkpoint)


def extraction_words_per_cpu_second(nlp: Any, texts: list[str], passes: int = 3) -> float:
    """As ``words_per_cpu_second``, through the extraction activity's ``predict_entities``."""
    from shared.extraction.prediction import predict_entities

    words = sum(len(nlp.make_doc(text)) for text in texts)  # counted untimed: tokenizing is timed below
    rates = []
    for _ in range(passes):
        start = time.process_time()
        predict_entities(nlp, texts)
        rates.append(words / max(time.process_time() - start, 1e-9))
    return statistics.median(rates)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--baseline", default="2022-05-01", help="trainingConfigVersion measured against")
    parser.add_argument("--candidate", default="latest", help="trainingConfigVersion measured")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--passes", type=int, default=5, help="passes over the texts per timed measurement")
    parser.add_argument(
        "--through", choices=["pipe", "extraction"], default="pipe", help="what is timed (see the docstring)"
    )
    parser.add_argument(
        "--texts", choices=["all", "test"], default="all", help="documents whose texts are predicted"
    )
    args = parser.parse_args(argv)
    machine_at_start = machine_info()  # its load average is the one at the start

    from shared.ner.training import load_model

    ds = load_dataset(args.folder)
    train, test, _ = choose_split(ds, "auto", args.seed)
    # every document's text (speed needs no labels): a pass long enough to time on a small dataset
    texts = _test_texts(ds, [d.location for d in ds.project.documents] if args.texts == "all" else test)
    arms = {"baseline": args.baseline, "candidate": args.candidate}
    models = {
        arm: train_briefly(ds, train, version=v, steps=args.steps, seed=args.seed) for arm, v in arms.items()
    }
    nlps = {arm: load_model(data) for arm, data in models.items()}
    measure = words_per_cpu_second if args.through == "pipe" else extraction_words_per_cpu_second
    for nlp in nlps.values():  # warm: first pipe pays lazy loading (cluster table, vectors)
        measure(nlp, texts[:5], passes=1)

    rates: dict[str, list[float]] = {arm: [] for arm in arms}
    ratios: list[float] = []
    for round_index in range(args.rounds):
        order = ["baseline", "candidate"] if round_index % 2 == 0 else ["candidate", "baseline"]
        measured = {arm: measure(nlps[arm], texts * args.passes, passes=1) for arm in order}
        for arm, rate in measured.items():
            rates[arm].append(rate)
        ratios.append(measured["candidate"] / measured["baseline"])
        print(
            f"round {round_index}: {arms['baseline']} {measured['baseline']:,.0f}  "
            f"{arms['candidate']} {measured['candidate']:,.0f} words/CPU-s  ratio {ratios[-1]:.3f}",
            flush=True,
        )

    words = sum(len(doc) for doc in nlps["baseline"].pipe(texts))
    summary = {
        arm: {
            "version": version,
            "words_per_cpu_second_median": statistics.median(rates[arm]),
            "range": [min(rates[arm]), max(rates[arm])],
            "model_mib": len(models[arm]) / 2**20,
        }
        for arm, version in arms.items()
    }
    summary["ratio"] = {"median": statistics.median(ratios), "range": [min(ratios), max(ratios)]}
    print(
        f"\n{ds.name}: {len(texts)} texts ({args.texts} documents) through {args.through}, {words:,} words per pass, {args.passes} passes per measurement, {args.rounds} rounds\n"
        f"{args.candidate} / {args.baseline} words per CPU-s: median {summary['ratio']['median']:.3f} "
        f"(range {min(ratios):.3f}-{max(ratios):.3f}); model size "
        f"{summary['candidate']['model_mib']:.1f} / {summary['baseline']['model_mib']:.1f} MiB"
    )
    write_result(
        "predict_speed",
        {
            "dataset": ds.name,
            "args": vars(args) | {"folder": str(args.folder)},
            "summary": summary,
            "rounds": rates,
            "ratios": ratios,
            "machine": machine_at_start,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
