"""The confidence calibrator (shared.ner.calibration): fit, apply, storage, identity fallback."""

from __future__ import annotations

import numpy
import pytest

from shared.ner.calibration import (
    IDENTITY,
    MAX_SLOPE,
    METHOD_PLATT,
    MIN_PREDICTIONS,
    MIN_SLOPE,
    Calibrator,
    fit_calibrator,
)


def _synthetic(slope: float, intercept: float, n: int, seed: int) -> tuple[list[float], list[bool]]:
    """Raw scores and outcomes drawn so that P(correct | s) = sigmoid(slope * logit(s) + intercept)."""
    rng = numpy.random.default_rng(seed)
    scores = rng.uniform(0.001, 0.999, n)
    logits = numpy.log(scores / (1 - scores))
    truth = 1 / (1 + numpy.exp(-(slope * logits + intercept)))
    return [float(s) for s in scores], [bool(c) for c in rng.uniform(size=n) < truth]


@pytest.mark.parametrize(("slope", "intercept"), [(0.4, -0.7), (1.5, 0.5), (0.2, 1.0)])
def test_fit_recovers_a_known_sigmoid(slope: float, intercept: float) -> None:
    scores, correct = _synthetic(slope, intercept, 20000, seed=7)
    fitted = fit_calibrator(scores, correct)
    assert fitted.method == METHOD_PLATT and fitted.predictions == 20000 and fitted.correct == sum(correct)
    assert fitted.slope == pytest.approx(slope, abs=0.05)
    assert fitted.intercept == pytest.approx(intercept, abs=0.06)


def test_over_confident_scores_are_lowered_and_the_order_kept() -> None:
    # what the runtime's raw score looks like: right ~60 % of the time at 0.95
    scores, correct = _synthetic(0.3, -0.5, 2000, seed=1)
    fitted = fit_calibrator(scores, correct)
    grid = [0.0, 1e-9, 0.01, 0.2, 0.5, 0.8, 0.95, 0.999, 1.0 - 1e-12, 1.0]
    calibrated = fitted.apply_all(grid)
    assert all(0.0 <= value <= 1.0 for value in calibrated)
    assert calibrated == sorted(calibrated) and len(set(calibrated[2:8])) == 6  # monotone, not a constant
    assert fitted.apply(0.95) < 0.8
    assert fitted.apply(0.95) == pytest.approx(calibrated[6])


def test_fit_lowers_the_calibration_error_on_fresh_data() -> None:
    scores, correct = _synthetic(0.3, -0.5, 3000, seed=2)
    fitted = fit_calibrator(scores, correct)
    fresh, outcome = _synthetic(0.3, -0.5, 3000, seed=3)

    def ece(values: list[float]) -> float:
        bins = numpy.minimum((numpy.asarray(values) * 10).astype(int), 9)
        hits = numpy.asarray(outcome, dtype=float)
        return float(sum(abs(hits[bins == b].mean() - numpy.asarray(values)[bins == b].mean()) * (bins == b).mean()
                         for b in range(10) if (bins == b).any()))

    assert ece(fitted.apply_all(fresh)) < 0.05 < ece(fresh)


@pytest.mark.parametrize(
    ("scores", "correct", "reason"),
    [
        ([0.9] * (MIN_PREDICTIONS - 1), [True, False] * 9 + [True], "19 predictions"),
        ([0.9] * 40, [True] * 38 + [False] * 2, "38 correct and 2 wrong"),
        ([0.2] * 40, [False] * 40, "0 correct and 40 wrong"),
        ([], [], "0 predictions"),
    ],
)
def test_too_little_dev_data_gives_the_identity_and_says_why(
    scores: list[float], correct: list[bool], reason: str
) -> None:
    fitted = fit_calibrator(scores, correct)
    assert fitted.is_identity and reason in fitted.reason
    assert fitted.apply_all([0.0, 0.3, 0.97, 1.0]) == [0.0, 0.3, 0.97, 1.0]
    assert reason in fitted.describe() and fitted.to_dict()["method"] == "identity"


def test_a_small_dev_set_is_shrunk_towards_the_identity() -> None:
    # 20 predictions, all at 0.99, half of them right: the unregularised fit would be far from the identity
    fitted = fit_calibrator([0.99] * 20, [True, False] * 10)
    many = fit_calibrator([0.99] * 2000, [True, False] * 1000)
    assert abs(fitted.apply(0.99) - 0.99) < abs(many.apply(0.99) - 0.99)
    assert many.apply(0.99) == pytest.approx(0.5, abs=0.02)


def test_anti_correlated_scores_keep_a_positive_slope() -> None:
    scores, correct = _synthetic(-1.0, 0.0, 2000, seed=4)
    fitted = fit_calibrator(scores, correct)
    assert fitted.slope == MIN_SLOPE
    assert fitted.apply(0.1) < fitted.apply(0.9)  # never decreasing, never a constant


def test_round_trip_and_robust_reading() -> None:
    fitted = fit_calibrator(*_synthetic(0.5, -0.2, 500, seed=5))
    assert Calibrator.from_dict(fitted.to_dict()) == fitted
    assert Calibrator.from_dict(None) == IDENTITY
    assert Calibrator.from_dict({"method": "identity", "reason": "few"}).reason == "few"
    assert Calibrator.from_dict({"method": METHOD_PLATT, "slope": "x", "intercept": 0}).is_identity
    assert Calibrator.from_dict({"method": METHOD_PLATT, "slope": MAX_SLOPE * 2, "intercept": 0}).is_identity
    assert Calibrator.from_dict({"method": METHOD_PLATT, "slope": 1, "intercept": float("nan")}).is_identity
    with pytest.raises(ValueError):
        fit_calibrator([0.5], [True, False])


def test_the_model_card_states_the_calibration() -> None:
    from shared.ner.model_card import DataCounts, ModelCard

    def card(calibration: Calibrator) -> str:
        return ModelCard(
            "proj", "m1", "m1-1", "2026-11-29", "en-us", "en", ["CITY"], DataCounts(3, 1, {"CITY": 4}), {}, "latest",
            {}, {}, calibration,
        ).render()  # fmt: skip

    fitted = Calibrator(METHOD_PLATT, 0.4213, -0.25, 120, 41, "fitted")
    assert "sigmoid(0.4213 * logit(raw) - 0.2500), fitted on 120 predictions on the development set (41 correct)" in (
        card(fitted)
    )
    assert "Not calibrated: The development set gave 4 predictions" in card(fit_calibrator([0.5] * 4, [True] * 4))
