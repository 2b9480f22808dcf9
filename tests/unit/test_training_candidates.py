"""Training fan-out's pure parts: the pick, the seeds, the width setting (the blob parts run on Azurite in
tests/integration/test_training_pipeline.py, the orchestration in tests/unit/test_training_orchestrator.py)."""

from __future__ import annotations

import pytest

from shared.config import MAX_TRAIN_CANDIDATES, SettingsError, load_settings
from shared.training.candidates import candidate_count, candidate_seed, choose


def test_the_best_dev_score_wins_and_ties_or_missing_scores_go_to_the_lowest_candidate() -> None:
    assert choose([0.4, 0.6, 0.5]) == 1
    assert choose([0.6, 0.6]) == 0
    assert choose([None, 0.1]) == 1
    assert choose([0.2, None]) == 0
    assert choose([None, None]) == 0


def test_candidate_zero_trains_with_the_jobs_seed_and_old_manifests_have_one_candidate() -> None:
    assert [candidate_seed(7, n) for n in range(3)] == [7, 8, 9]
    assert candidate_count({"seed": 7}) == 1
    assert candidate_count({"candidates": 3}) == 3


def test_the_width_setting_defaults_to_one_and_is_bounded() -> None:
    assert load_settings({"LANGUAGE_API_KEYS": "k"}).train_candidates == 1
    assert load_settings({"LANGUAGE_API_KEYS": "k", "NER_TRAIN_CANDIDATES": "2"}).train_candidates == 2
    for bad in ("0", str(MAX_TRAIN_CANDIDATES + 1), "two"):
        with pytest.raises(SettingsError, match="NER_TRAIN_CANDIDATES"):
            load_settings({"LANGUAGE_API_KEYS": "k", "NER_TRAIN_CANDIDATES": bad})
