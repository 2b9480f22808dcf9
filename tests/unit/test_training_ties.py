"""Which of two equally scored dev evaluations is kept as the best model (real tiny training runs)."""

from __future__ import annotations

import dataclasses

import pytest

from shared.ner import config_versions, training
from shared.ner.config_versions import EFFICIENCY, VERSIONS
from shared.ner.training import loop
from shared.ner.training.checkpoint import load_checkpoint
from tests.unit import tiny_ner

pytestmark = pytest.mark.slow


def _with_later_ties(monkeypatch: pytest.MonkeyPatch, later: bool) -> None:
    monkeypatch.setitem(VERSIONS, EFFICIENCY, dataclasses.replace(VERSIONS[EFFICIENCY], later_ties=later))
    monkeypatch.setattr(loop, "evaluate", lambda *_args: 0.5)  # every evaluation ties with the first


@pytest.mark.parametrize("later", [False, True])
def test_a_tie_keeps_the_later_model_only_when_the_version_says_so(
    monkeypatch: pytest.MonkeyPatch, later: bool
) -> None:
    _with_later_ties(monkeypatch, later)
    bins = tiny_ner.doc_bin("en")
    options = tiny_ner.options(EFFICIENCY, max_steps=4, eval_frequency=2)
    first = training.train_chunk(training.init_checkpoint(options, [bins]), [bins], [bins], max_steps=2)
    kept_at_step_2 = load_checkpoint(first.checkpoint)["best_model"]
    state = load_checkpoint(training.train_chunk(first.checkpoint, [bins], [bins]).checkpoint)
    assert state["step"] == 4 and state["best_score"] == 0.5
    assert state["best_step"] == 2  # where the best score was first reached, either way
    if later:
        # 2022-05-01 keeps no averages: the model evaluated at step 4 is the final one
        assert state["best_model"] != kept_at_step_2 and state["best_model"] == state["model"]
    else:
        assert state["best_model"] == kept_at_step_2


def test_ties_do_not_postpone_early_stopping(monkeypatch: pytest.MonkeyPatch) -> None:
    _with_later_ties(monkeypatch, True)
    bins = tiny_ner.doc_bin("en")
    options = dataclasses.replace(tiny_ner.options(EFFICIENCY, max_steps=50, eval_frequency=1), patience=3)
    result = training.train_chunk(training.init_checkpoint(options, [bins]), [bins], [bins])
    assert result.stop_reason == "early_stopping" and result.step == 4  # first best at step 1, +3


def test_shipped_versions_keep_the_earlier_model() -> None:
    # measured (BENCHMARKS.md 7.1): keeping later ties did not help; existing versions must not change
    assert not any(version.later_ties for version in VERSIONS.values())
    assert config_versions.resolve_version("latest").version == config_versions.LATEST
