"""Aggregate statistics over tasks and seeds with stratified bootstrap confidence intervals.

The estimators and intervals follow rliable (Agarwal et al., "Deep RL at the Edge of the Statistical Precipice",
arXiv 2108.13264): a score matrix has one row per run (seed) and one column per task (here: per phase); IQM and
optimality gap are taken over all its entries, mean and median over the tasks' mean scores; the bootstrap
resamples runs with replacement independently within each task (stratified); intervals are percentile
intervals. Written in numpy, vectorised over the resamples, because rliable 1.2.0 does not import with pandas 3
and is ~100x slower (``benchmarks/leaderboard_speed.py``).
``tests/test_rliable_cross_check.py`` checks the point estimates equal rliable's and the intervals agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

REPS = 10_000  # bootstrap resamples (rliable's default is 50,000; 10,000 keeps the Monte-Carlo error ~1 %)
CONFIDENCE = 0.95

Estimator = Callable[[np.ndarray], np.ndarray]
"""Maps a stack of score matrices (..., runs, tasks) to one estimate per stack entry (...)."""


def _flat(scores: np.ndarray) -> np.ndarray:
    return scores.reshape(*scores.shape[:-2], -1)


def iqm(scores: np.ndarray) -> np.ndarray:
    """Interquartile mean: the mean of the middle 50 % of all scores (scipy's ``trim_mean`` at 25 %)."""
    flat = np.sort(_flat(scores), axis=-1)
    n = flat.shape[-1]
    cut = int(0.25 * n)
    return flat[..., cut : n - cut].mean(axis=-1)


def mean(scores: np.ndarray) -> np.ndarray:
    """The mean over tasks of each task's mean score (rliable's ``aggregate_mean``)."""
    return scores.mean(axis=-2).mean(axis=-1)


def median(scores: np.ndarray) -> np.ndarray:
    """The median over tasks of each task's mean score (rliable's ``aggregate_median``), not of all scores."""
    return np.median(scores.mean(axis=-2), axis=-1)


def optimality_gap(scores: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """How far scores fall short of ``gamma`` on average, counting scores above ``gamma`` as ``gamma``."""
    return gamma - np.minimum(_flat(scores), gamma).mean(axis=-1)


ESTIMATORS: dict[str, Estimator] = {"IQM": iqm, "mean": mean, "median": median, "optimality gap": optimality_gap}


@dataclass(frozen=True)
class Interval:
    """A point estimate and its confidence interval."""

    value: float
    low: float
    high: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def _resample(scores: np.ndarray, reps: int, rng: np.random.Generator) -> np.ndarray:
    """``reps`` stratified bootstrap copies of a (runs, tasks) matrix: runs drawn with replacement per task."""
    runs, tasks = scores.shape
    rows = rng.integers(0, runs, size=(reps, runs, tasks))
    return scores[rows, np.arange(tasks)]


def _percentiles(estimates: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(estimates, [tail, 100 - tail])
    return float(low), float(high)


def interval(
    scores: np.ndarray, estimator: Estimator, reps: int = REPS, seed: int = 0, confidence: float = CONFIDENCE
) -> Interval:
    """The estimate on ``scores`` (runs, tasks) and its stratified-bootstrap percentile interval."""
    scores = _checked(scores)
    boot = estimator(_resample(scores, reps, np.random.default_rng(seed)))
    return Interval(float(estimator(scores)), *_percentiles(boot, confidence))


def improvement_probability(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y): per task, the chance a run of X beats a run of Y (ties count half, the Mann-Whitney U statistic
    over n*m), averaged over tasks. ``x`` (..., n, tasks), ``y`` (..., m, tasks) -> (...)."""
    diff = x[..., :, None, :] - y[..., None, :, :]
    per_task = ((diff > 0) + 0.5 * (diff == 0)).mean(axis=(-3, -2))
    return per_task.mean(axis=-1)


def improvement_interval(
    x: np.ndarray, y: np.ndarray, reps: int = REPS, seed: int = 0, confidence: float = CONFIDENCE
) -> Interval:
    """P(X > Y) with a percentile interval from resampling the runs of X and of Y independently within each task."""
    x, y = _checked(x), _checked(y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x has {x.shape[1]} tasks and y {y.shape[1]}: both need the same tasks")
    rng = np.random.default_rng(seed)
    boot_x, boot_y = _resample(x, reps, rng), _resample(y, reps, rng)
    boot = np.concatenate([improvement_probability(bx, by) for bx, by in _chunks(boot_x, boot_y)])
    return Interval(float(improvement_probability(x, y)), *_percentiles(boot, confidence))


def _chunks(a: np.ndarray, b: np.ndarray, size: int = 1000):
    """Pairs of slices of the resamples, so the (reps, n, m, tasks) comparison never sits in memory at once."""
    for i in range(0, len(a), size):
        yield a[i : i + size], b[i : i + size]


def profile(scores: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """Performance profile: for each threshold, the fraction of all (run, task) scores above it. (..., taus)."""
    return (_flat(scores)[..., None, :] > taus[:, None]).mean(axis=-1)


def profile_band(
    scores: np.ndarray, taus: np.ndarray, reps: int = 2_000, seed: int = 0, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A performance profile and its pointwise stratified-bootstrap band: (profile, low, high) over ``taus``."""
    scores = _checked(scores)
    boot = profile(_resample(scores, reps, np.random.default_rng(seed)), taus)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(boot, [tail, 100 - tail], axis=0)
    return profile(scores, taus), low, high


def mean_interval(values: np.ndarray, confidence: float = CONFIDENCE) -> Interval:
    """The mean of a few paired differences (one per seed) with a Student-t interval.

    Used for per-phase gaps, where there are only a handful of seeds and no tasks to stratify over: a percentile
    bootstrap of 3-5 values gives intervals that are too narrow, the t interval is exact for normal errors.
    One value gives an interval of NaN (no spread to estimate)."""
    from scipy import stats

    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    n = len(values)
    if n == 0:
        return Interval(np.nan, np.nan, np.nan)
    centre = float(values.mean())
    if n == 1:
        return Interval(centre, np.nan, np.nan)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * values.std(ddof=1) / np.sqrt(n))
    return Interval(centre, centre - half, centre + half)


def _checked(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.size == 0:
        raise ValueError(f"a score matrix is (runs, tasks) with at least one entry, not shape {scores.shape}")
    if not np.isfinite(scores).all():
        raise ValueError("a score matrix holds NaN or infinite scores: drop the tasks without scores first")
    return scores
