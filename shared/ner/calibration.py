"""Calibrating an entity's raw confidence into a probability of being correct (fit and apply, pure code).

The runtime's raw score (the model's probability of the transitions that built the entity,
:mod:`shared.extraction.prediction`) ranks right above wrong predictions but is over-confident: on held-out
data most wrong entities still score above 0.5 (BENCHMARKS.md section 9). A trained model therefore gets a
small monotone map fitted on its own development set (the documents training carved for choosing the best
checkpoint; the test documents stay an honest measurement):

    calibrated = sigmoid(slope * logit(raw) + intercept)

Platt scaling on the raw score's logit. Why this family: two parameters (a dev set of a few hundred
entities pins them down), monotone increasing for ``slope > 0`` so the ranking (AUROC) is unchanged, bounded
in (0, 1), and the identity (``slope`` 1, ``intercept`` 0) is a member, so a Gaussian prior centred there
shrinks a fit on little data towards the raw score instead of towards something arbitrary. ``slope`` is kept
within [:data:`MIN_SLOPE`, :data:`MAX_SLOPE`]: never a constant, never a step function.

With too few dev predictions, or only right or only wrong ones, nothing can be learnt: the calibrator is the
identity and says why (``reason``), which is also what a model trained before calibration existed gets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy

METHOD_PLATT = "platt-logit"
METHOD_IDENTITY = "identity"

MIN_PREDICTIONS = 20
"""Fewer dev predictions than this: no fit (identity)."""
MIN_PER_CLASS = 3
"""Fewer right (or fewer wrong) dev predictions than this: no fit (identity)."""
PRIOR_PRECISION = 1.0
"""Gaussian prior on (slope - 1, intercept) with this precision (1 / variance): worth about a handful of
observations, so it only matters for small dev sets."""
MIN_SLOPE, MAX_SLOPE = 0.05, 5.0
EPSILON = 1e-6
"""Raw scores are clipped into [EPSILON, 1 - EPSILON] before the logit (a product of probabilities can be 0
or round to 1)."""


def _logit(scores: Any) -> numpy.ndarray:
    clipped = numpy.clip(numpy.asarray(scores, dtype="float64"), EPSILON, 1.0 - EPSILON)
    return numpy.log(clipped) - numpy.log1p(-clipped)


def _sigmoid(values: numpy.ndarray) -> numpy.ndarray:
    return 0.5 * (1.0 + numpy.tanh(0.5 * values))  # overflow-free form of 1 / (1 + exp(-x))


@dataclass(frozen=True)
class Calibrator:
    """A fitted (or identity) map from raw confidence to calibrated confidence, stored as JSON with a model."""

    method: str = METHOD_IDENTITY
    slope: float = 1.0
    intercept: float = 0.0
    predictions: int = 0
    correct: int = 0
    reason: str = "No calibration was fitted for this model."

    @property
    def is_identity(self) -> bool:
        return self.method == METHOD_IDENTITY

    def apply(self, score: float) -> float:
        """The calibrated confidence of one raw score, in [0, 1]."""
        return float(self.apply_all([score])[0])

    def apply_all(self, scores: Sequence[float]) -> list[float]:
        """The calibrated confidences of raw scores, in [0, 1], in the same order as the scores."""
        raw = numpy.clip(numpy.asarray(scores, dtype="float64"), 0.0, 1.0)
        if self.is_identity or not len(raw):
            return [float(value) for value in raw]
        calibrated = _sigmoid(self.slope * _logit(raw) + self.intercept)
        return [float(value) for value in numpy.clip(calibrated, 0.0, 1.0)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "slope": self.slope,
            "intercept": self.intercept,
            "devPredictions": self.predictions,
            "devCorrect": self.correct,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Calibrator:
        """Read a stored calibrator; anything unreadable or out of range is the identity (never a crash)."""
        if not isinstance(data, dict) or data.get("method") != METHOD_PLATT:
            reason = data.get("reason") if isinstance(data, dict) else None
            return cls(reason=str(reason)[:500]) if isinstance(reason, str) else cls()
        try:
            slope, intercept = float(data["slope"]), float(data["intercept"])
            predictions, correct = int(data.get("devPredictions", 0)), int(data.get("devCorrect", 0))
        except (KeyError, TypeError, ValueError):
            return cls(reason="The stored calibration could not be read.")
        if not (MIN_SLOPE <= slope <= MAX_SLOPE and math.isfinite(intercept)):
            return cls(reason="The stored calibration was out of range.")
        return cls(METHOD_PLATT, slope, intercept, predictions, correct, str(data.get("reason", ""))[:500])

    def describe(self) -> str:
        """One sentence for people (the model card)."""
        if self.is_identity:
            return f"Not calibrated: {self.reason} `confidenceScore` is the raw score."
        sign = "-" if self.intercept < 0 else "+"
        return (
            f"`confidenceScore` = sigmoid({self.slope:.4f} * logit(raw) {sign} {abs(self.intercept):.4f}), fitted on "
            f"{self.predictions} predictions on the development set ({self.correct} correct)."
        )


IDENTITY = Calibrator()


def _identity(reason: str, predictions: int, correct: int) -> Calibrator:
    return Calibrator(METHOD_IDENTITY, 1.0, 0.0, predictions, correct, reason)


def _objective(features: numpy.ndarray, y: numpy.ndarray, theta: numpy.ndarray) -> float:
    """Negative log posterior: logistic loss plus the prior centred on the identity (slope 1, intercept 0)."""
    z = features @ theta
    loss = numpy.logaddexp(0.0, z) - y * z
    return float(loss.sum() + 0.5 * PRIOR_PRECISION * ((theta[0] - 1.0) ** 2 + theta[1] ** 2))


def _newton(features: numpy.ndarray, y: numpy.ndarray, theta: numpy.ndarray, free: list[int]) -> numpy.ndarray:
    """Minimise :func:`_objective` over the ``free`` parameters (Newton steps, halved until they help)."""
    theta = theta.astype("float64").copy()
    prior = numpy.array([1.0, 0.0])
    for _ in range(100):
        p = _sigmoid(features @ theta)
        gradient = (features.T @ (p - y) + PRIOR_PRECISION * (theta - prior))[free]
        hessian = features.T @ (features * (p * (1.0 - p))[:, None]) + PRIOR_PRECISION * numpy.eye(2)
        step = numpy.linalg.solve(hessian[numpy.ix_(free, free)], gradient)
        current, size = _objective(features, y, theta), 1.0
        while size > 1e-8:
            trial = theta.copy()
            trial[free] -= size * step
            if _objective(features, y, trial) <= current:
                break
            size /= 2
        else:
            break
        theta = trial
        if float(numpy.abs(size * step).max()) < 1e-10:
            break
    return theta


def fit_calibrator(scores: Sequence[float], correct: Sequence[bool]) -> Calibrator:
    """Fit ``sigmoid(slope * logit(score) + intercept)`` to whether each prediction was correct.

    Maximum a posteriori logistic regression on one feature (Newton's method, a Gaussian prior centred on
    the identity), with ``slope`` kept in [MIN_SLOPE, MAX_SLOPE]; the identity when the data cannot support a
    fit (too few predictions, too few right or wrong ones).
    """
    if len(scores) != len(correct):
        raise ValueError("scores and correct must have the same length")
    n, right = len(scores), int(sum(bool(c) for c in correct))
    if n < MIN_PREDICTIONS:
        return _identity(f"The development set gave {n} predictions (at least {MIN_PREDICTIONS} are needed).", n, right)
    if min(right, n - right) < MIN_PER_CLASS:
        return _identity(
            f"The development set gave {right} correct and {n - right} wrong predictions "
            f"(at least {MIN_PER_CLASS} of each are needed).",
            n,
            right,
        )
    features = numpy.stack([_logit(scores), numpy.ones(n)], axis=1)
    y = numpy.asarray([1.0 if c else 0.0 for c in correct])
    theta = _newton(features, y, numpy.array([1.0, 0.0]), free=[0, 1])
    if not MIN_SLOPE <= theta[0] <= MAX_SLOPE:
        # convex objective: the constrained optimum has the slope on its bound; refit the intercept alone
        theta[0] = min(MAX_SLOPE, max(MIN_SLOPE, theta[0]))
        theta = _newton(features, y, theta, free=[1])
    slope, intercept = float(theta[0]), float(theta[1])
    return Calibrator(
        METHOD_PLATT, slope, intercept, n, right, "Fitted on the model's development set predictions."
    )
