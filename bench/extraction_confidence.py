"""How meaningful the runtime's ``confidenceScore`` is, on held-out documents.

Per dataset folder (Azure project format under /work/shared/data): the Test documents are fixed (the
file's ``dataset`` field when every document has one, else the service's seeded 80/20 split), a dev set is
carved from the training documents with the service's ``carve_dev_set``, and a model is trained with the
service's own trainer (``init_checkpoint`` + ``train_chunk``, service defaults for max_steps, patience and
eval_frequency, capped at ``--seconds`` of wall-clock). The best model then predicts every Test region
with ``shared.extraction.prediction.predict_entities`` (the runtime's code: greedy entities, each
scored by the probability of its transitions, ``scoring="path"``; and, for comparison, spaCy's beam
estimate, ``scoring="beam"``, at ``--beam-widths``). A prediction is *correct* when the same (start, end, category) is labelled in the region
(exact match, as the evaluation counts).

Calibration: as the register step of a training job does, the model predicts the *dev* documents (the carve
above, never the Test documents) and a calibrator is fitted on them with the service's own code
(``shared.training.calibration.fit_on_dev_set``); the path scores of the Test predictions are reported raw
(``path``) and calibrated (``path+calibrated``, what the runtime serves for a model with a calibrator).

Reported per dataset and scoring:
- mean confidence of correct and of wrong predictions, and AUROC (the probability that a random correct
  prediction scores higher than a random wrong one; 0.5 = no information);
- expected calibration error (ECE): predictions binned by confidence into 10 equal-width bins,
  sum over bins of (bin size / n) * |accuracy in bin - mean confidence in bin|;
- the share of predictions with confidence 0 (for the beam: greedy entity absent from every parse);
- prediction speed: documents/s with the scoring and with ``nlp.pipe`` alone.

Usage: ``.venv/bin/python -m bench.extraction_confidence [folders...] [--seconds 240] [--beam-widths 4 16]``
(no ``--beam-widths`` given: the beam is not measured)
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import DATA_ROOT, choose_split, dev_carve, doc_bin, load_dataset, write_result

BINS = 10


def expected_calibration_error(scores: Sequence[float], correct: Sequence[bool], bins: int = BINS) -> float:
    """ECE over ``bins`` equal-width confidence bins (the last bin includes 1.0)."""
    if not scores:
        return float("nan")
    total = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [i for i, s in enumerate(scores) if low <= s < high or (b == bins - 1 and s == 1.0)]
        if not members:
            continue
        accuracy = sum(correct[i] for i in members) / len(members)
        confidence = sum(scores[i] for i in members) / len(members)
        total += len(members) / len(scores) * abs(accuracy - confidence)
    return total


def auroc(right: Sequence[float], wrong: Sequence[float]) -> float:
    """P(score of a random correct prediction > that of a random wrong one), ties counting half."""
    if not right or not wrong:
        return float("nan")
    wins = 0.0
    for r in right:
        for w in wrong:
            wins += 1.0 if r > w else 0.5 if r == w else 0.0
    return wins / (len(right) * len(wrong))


def reliability(scores: Sequence[float], correct: Sequence[bool], bins: int = BINS) -> list[dict[str, Any]]:
    rows = []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [i for i, s in enumerate(scores) if low <= s < high or (b == bins - 1 and s == 1.0)]
        if members:
            rows.append(
                {
                    "bin": f"{low:.1f}-{high:.1f}",
                    "n": len(members),
                    "accuracy": round(sum(correct[i] for i in members) / len(members), 3),
                    "mean_confidence": round(sum(scores[i] for i in members) / len(members), 3),
                }
            )
    return rows


def train_model(
    ds: Any, train: list[str], seconds: float, seed: int, max_steps: int | None = None
) -> tuple[bytes, bytes, dict[str, Any]]:
    """The best model (bytes), the dev DocBin it was chosen on and the training figures."""
    from shared.config import load_settings
    from shared.ner.training import TrainingOptions, best_model_bytes, init_checkpoint, train_chunk

    defaults = load_settings({"LANGUAGE_API_KEYS": "bench"})
    rest, dev = dev_carve(ds, train, seed)
    train_bin, _ = doc_bin(ds, rest)
    dev_bin, _ = doc_bin(ds, dev)
    options = TrainingOptions(
        lang=ds.lang,
        labels=sorted(ds.project.entity_categories),
        max_steps=min(defaults.train_max_steps, max_steps or defaults.train_max_steps),
        patience=defaults.train_patience,
        eval_frequency=defaults.train_eval_frequency,
        seed=seed,
    )
    t0 = time.perf_counter()
    result = train_chunk(init_checkpoint(options, [train_bin]), [train_bin], [dev_bin], max_seconds=seconds)
    info = {
        "train_seconds": round(time.perf_counter() - t0, 1),
        "steps": result.step,
        "stop_reason": result.stop_reason,
        "best_dev_f1": result.best_score,
        "dev_docs": len(dev),
    }
    return best_model_bytes(result.checkpoint), dev_bin, info


def metrics(scores: Sequence[float], correct: Sequence[bool]) -> dict[str, Any]:
    """Separation and calibration of confidence scores of predictions (``correct``: exact match)."""
    right = [s for s, c in zip(scores, correct, strict=True) if c]
    wrong = [s for s, c in zip(scores, correct, strict=True) if not c]
    return {
        "mean_confidence_correct": round(sum(right) / len(right), 4) if right else None,
        "mean_confidence_wrong": round(sum(wrong) / len(wrong), 4) if wrong else None,
        "auroc": round(auroc(right, wrong), 4),
        "ece": round(expected_calibration_error(scores, correct), 4),
        "zero_confidence_share": round(sum(1 for s in scores if s == 0.0) / len(scores), 4) if scores else None,
        "reliability": reliability(scores, correct),
    }


def measure(ds: Any, test: list[str], nlp: Any, scoring: str, beam_width: int, calibrator: Any) -> list[dict[str, Any]]:
    """One row per scoring: raw, and for the path score also calibrated with ``calibrator``."""
    from shared.extraction.prediction import predict_entities
    from shared.ner.documents import region_texts

    assets = ds.assets
    regions = [region for loc in test for region in region_texts(assets[loc], ds.texts[loc])]
    texts = [region.text for region in regions]
    t0 = time.perf_counter()
    predictions = predict_entities(nlp, texts, scoring=scoring, beam_width=beam_width)  # type: ignore[arg-type]
    scored_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    list(nlp.pipe(texts))
    greedy_seconds = time.perf_counter() - t0
    scores: list[float] = []
    correct: list[bool] = []
    gold_total = 0
    for region, entities in zip(regions, predictions, strict=True):
        gold = set(region.spans)
        gold_total += len(gold)
        for entity in entities:
            scores.append(entity.confidence)
            correct.append((entity.start, entity.end, entity.category) in gold)
    hits = sum(correct)
    precision = hits / len(scores) if scores else 0.0
    recall = hits / gold_total if gold_total else 0.0
    common = {
        "regions": len(texts),
        "words": sum(len(text.split()) for text in texts),
        "predictions": len(scores),
        "correct": hits,
        "wrong": len(scores) - hits,
        "f1": round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0,
        "docs_per_second_scored": round(len(texts) / scored_seconds, 2),
        "docs_per_second_greedy_only": round(len(texts) / greedy_seconds, 2),
    }
    name = scoring if scoring == "path" else f"beam{beam_width}"
    rows = [{"scoring": name, **common, **metrics(scores, correct)}]
    if scoring == "path":
        rows.append({"scoring": "path+calibrated", **common, **metrics(calibrator.apply_all(scores), correct)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--seconds", type=float, default=240.0, help="training wall-clock cap per dataset")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-steps", type=int, default=None,
        help="training step cap (below the service's default): the same model whatever the machine's load",
    )
    parser.add_argument(
        "--models-dir", type=Path, default=None,
        help="keep each dataset's trained model and dev DocBin here and reuse them on the next run",
    )
    parser.add_argument("--beam-widths", type=int, nargs="*", default=[])
    args = parser.parse_args(argv)
    from shared.ner.training import load_model
    from shared.training.calibration import fit_on_dev_set

    folders = args.folders or [DATA_ROOT / "loan-agreements", DATA_ROOT / "wnut17"]
    results = []
    for folder in folders:
        ds = load_dataset(folder)
        train, test, split = choose_split(ds, "auto", args.seed)
        saved = args.models_dir / f"{ds.name}-{args.seed}-{args.max_steps}-{args.seconds:g}" if args.models_dir else None
        if saved is not None and (saved / "info.json").exists():
            model, dev_bin = (saved / "model.bin").read_bytes(), (saved / "dev.spacy").read_bytes()
            info = json.loads((saved / "info.json").read_text()) | {"reused_model": str(saved)}
        else:
            model, dev_bin, info = train_model(ds, train, args.seconds, args.seed, args.max_steps)
            if saved is not None:
                saved.mkdir(parents=True, exist_ok=True)
                (saved / "model.bin").write_bytes(model)
                (saved / "dev.spacy").write_bytes(dev_bin)
                (saved / "info.json").write_text(json.dumps(info))
        nlp = load_model(model)
        t0 = time.perf_counter()
        calibrator = fit_on_dev_set(nlp, threading.Lock(), [dev_bin], args.seed)
        info["calibration_seconds"] = round(time.perf_counter() - t0, 2)
        info["calibrator"] = calibrator.to_dict()
        row: dict[str, Any] = {"dataset": ds.name, "split": split, "train_docs": len(train), "test_docs": len(test)}
        row.update(info)
        runs = [("path", 1)] + [("beam", width) for width in args.beam_widths]
        row["by_scoring"] = [m for scoring, width in runs for m in measure(ds, test, nlp, scoring, width, calibrator)]
        results.append(row)
        print(f"{ds.name}: {info}")
        for m in row["by_scoring"]:
            print(
                f"{ds.name:16} {m['scoring']:>15}: {m['predictions']} predictions "
                f"({m['correct']} correct, F1 {m['f1']:.3f}); mean confidence correct "
                f"{m['mean_confidence_correct']} vs wrong {m['mean_confidence_wrong']}; AUROC {m['auroc']}; "
                f"ECE {m['ece']}; zero-confidence {m['zero_confidence_share']}; "
                f"{m['docs_per_second_scored']} docs/s (greedy only {m['docs_per_second_greedy_only']})"
            )
    write_result(
        "extraction_confidence",
        {"seconds": args.seconds, "max_steps": args.max_steps, "seed": args.seed, "results": results},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
