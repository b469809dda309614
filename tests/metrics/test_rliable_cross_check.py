"""Our numpy aggregates against rliable's on the same score matrices.

rliable 1.2.0 needs ``arch`` and does not import with pandas 3, so this runs in its own environment: the
``rliable-check`` extra, installed by ``.ci/rliable`` (``bash .ci/rliable``). In the main environment it is skipped.
Point estimates must be equal; intervals must agree within Monte-Carlo error (both are percentile intervals of a
stratified bootstrap, drawn from different random streams).
"""

from __future__ import annotations

import numpy as np
import pytest

from rlplastic.metrics import aggregate

rliable = pytest.importorskip("rliable", reason="the rliable-check extra runs in its own environment: .ci/rliable")
from rliable import library as rly  # noqa: E402
from rliable import metrics  # noqa: E402

REPS = 10_000  # rliable takes ~1 s per 1,000 resamples of one method here


def _matrices() -> dict[str, np.ndarray]:
    """Three methods, 10 seeds x 6 phases, with different centres and spreads, rounded to 0.1 so that runs of
    different methods tie on every phase (P(X > Y) counts a tie as half a win: ``test_ties_are_there``)."""
    rng = np.random.default_rng(7)
    return {
        "none": np.round(rng.normal(0.6, 0.3, (10, 6)), 1),
        "reset": np.round(rng.normal(0.8, 0.2, (10, 6)), 1),
        "fire": np.round(rng.normal(0.9, 0.4, (10, 6)), 1),
    }


def test_ties_are_there() -> None:
    """Each compared pair ties on every phase, so counting a tie as a win or a loss moves P(X > Y)."""
    m = _matrices()
    for x, y in [("fire", "none"), ("fire", "reset"), ("none", "reset")]:
        ties = (m[x][:, None, :] == m[y][None, :, :]).sum(axis=(0, 1))
        assert (ties > 0).all(), (x, y, ties)
        as_wins = ((m[x][:, None, :] >= m[y][None, :, :]).mean(axis=(0, 1))).mean()
        assert abs(as_wins - aggregate.improvement_probability(m[x], m[y])) > 0.01


def _tolerance(low: float, high: float, lattice: float = 0.0) -> float:
    """Monte-Carlo error allowance: 5 % of the interval's width (~3.5 standard errors of a 2.5 % percentile at
    10,000 resamples), plus one ``lattice`` step for a statistic that takes only a grid of values: two streams
    may put the same percentile on neighbouring grid points."""
    return 0.05 * (high - low) + lattice + 1e-9


# The median of six phase means of ten runs on a 0.1 grid lies on a 0.1 / 10 / 2 = 0.005 grid (an even count
# of phases averages two means); the other estimators average enough values that their grid is below the
# Monte-Carlo allowance.
LATTICE = {"median": 0.1 / 10 / 2}


def test_point_estimates_equal_rliable() -> None:
    theirs = {
        "IQM": metrics.aggregate_iqm,
        "mean": metrics.aggregate_mean,
        "median": metrics.aggregate_median,
        "optimality gap": metrics.aggregate_optimality_gap,
    }
    for scores in _matrices().values():
        for name, ours in aggregate.ESTIMATORS.items():
            assert float(ours(scores)) == pytest.approx(float(theirs[name](scores)), abs=1e-12), name


def test_intervals_agree_with_rliable() -> None:
    matrices = _matrices()

    def four(scores: np.ndarray) -> np.ndarray:
        return np.array(
            [
                metrics.aggregate_iqm(scores),
                metrics.aggregate_mean(scores),
                metrics.aggregate_median(scores),
                metrics.aggregate_optimality_gap(scores),
            ]
        )

    np.random.seed(0)  # rliable 1.2.0 draws from numpy's global stream whatever random_state says
    points, intervals = rly.get_interval_estimates(matrices, four, reps=REPS)
    for method, scores in matrices.items():
        for i, (name, estimator) in enumerate(aggregate.ESTIMATORS.items()):
            ours = aggregate.interval(scores, estimator, reps=REPS, seed=1, expand=False)  # rliable's plain interval
            low, high = intervals[method][:, i]
            allowed = _tolerance(low, high, LATTICE.get(name, 0.0))
            assert ours.value == pytest.approx(points[method][i], abs=1e-12)
            assert abs(ours.low - low) <= allowed, (method, name, ours, low, high)
            assert abs(ours.high - high) <= allowed, (method, name, ours, low, high)


def test_probability_of_improvement_agrees_with_rliable() -> None:
    matrices = _matrices()
    pairs = {
        f"{x},{y}": (matrices[x], matrices[y]) for x, y in [("fire", "none"), ("fire", "reset"), ("none", "reset")]
    }
    np.random.seed(1)
    points, intervals = rly.get_interval_estimates(pairs, metrics.probability_of_improvement, reps=REPS)
    for key, (x, y) in pairs.items():
        ours = aggregate.improvement_interval(x, y, reps=REPS, seed=2, expand=False)
        low, high = intervals[key][:, 0] if intervals[key].ndim > 1 else intervals[key]
        assert ours.value == pytest.approx(float(np.squeeze(points[key])), abs=1e-12)
        assert abs(ours.low - low) <= _tolerance(low, high) and abs(ours.high - high) <= _tolerance(low, high)


def test_performance_profiles_agree_with_rliable() -> None:
    matrices = _matrices()
    taus = np.linspace(-0.5, 2.0, 26)
    np.random.seed(2)
    profiles, bands = rly.create_performance_profile(matrices, taus, reps=2000)
    for method, scores in matrices.items():
        centre, low, high = aggregate.profile_band(scores, taus, reps=2000, seed=3)
        np.testing.assert_allclose(centre, profiles[method], atol=1e-12)
        assert np.all(np.abs(low - bands[method][0]) <= 0.05) and np.all(np.abs(high - bands[method][1]) <= 0.05)
