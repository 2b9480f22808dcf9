"""bench.quality_vs_cli --folds: the fold assignment and the pooled micro-F1 (pure functions)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from bench.datasets import folds
from bench.side_by_side import pooled


def _dataset(n: int) -> Any:
    documents = [SimpleNamespace(location=f"{i:02d}.txt") for i in range(n)]
    return SimpleNamespace(name="d", project=SimpleNamespace(documents=documents))


def test_every_document_is_tested_exactly_once_and_never_trained_on_in_its_fold() -> None:
    ds = _dataset(22)
    split = folds(ds, 5, seed=0)
    tested = [loc for _, test in split for loc in test]
    assert sorted(tested) == sorted(d.location for d in ds.project.documents)
    assert {len(test) for _, test in split} == {4, 5}
    for train, test in split:
        assert not set(train) & set(test) and len(train) + len(test) == 22
    assert split == folds(ds, 5, seed=0) and split != folds(ds, 5, seed=1)


def test_a_fold_count_outside_two_to_the_document_count_is_refused() -> None:
    with pytest.raises(SystemExit, match="--folds"):
        folds(_dataset(3), 4, seed=0)


def _run(arm: str, fold: int, tp: int, fp: int, fn: int) -> dict[str, Any]:
    f1 = 2 * tp / (2 * tp + fp + fn)
    return {"arm": arm, "repeat": 0, "fold": fold, "scores": {"microF1": f1, "tp": tp, "fp": fp, "fn": fn}}


def test_pooled_f1_sums_the_counts_of_every_fold_rather_than_averaging_f1s() -> None:
    runs = [_run("cli", 0, 9, 1, 0), _run("cli", 1, 1, 0, 9), _run("a", 0, 5, 0, 5), _run("a", 1, 5, 0, 5)]
    runs.append({"arm": "b", "repeat": 0, "fold": 0, "scores": {"microF1": 0.0}})  # a CLI run without a model
    out = pooled(runs, ["cli", "a", "b"])
    assert out["cli"]["pooled_microF1"]["median"] == pytest.approx(20 / 30)  # 2*10 / (20 + 1 + 9)
    assert out["a"]["pooled_microF1"]["median"] == pytest.approx(20 / 30)
    assert out["cli"]["fold_microF1"]["min"] == pytest.approx(2 / 11)
    assert out["a"]["pooled_ratio_to_cli"] == pytest.approx(1.0) and out["a"]["test_entities"] == 20
    assert out["b"]["pooled_microF1"] is None and out["b"]["pooled_ratio_to_cli"] is None
