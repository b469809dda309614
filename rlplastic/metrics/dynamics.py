"""Training dynamics of one phase from its learning curve: plateaus, steepest rise and recovery time.

Chen, Luo & Wang (arXiv 2410.20119) describe training after a change of data in stages: an initial plateau,
a descent of the loss (here: a rise of the return), sometimes a secondary plateau and a second descent. On a
phase's return curve (mean return per step bin, ``visits.curve``), smoothed by a running mean of ``SMOOTH``
bins, a bin-to-bin change is *flat* when it is smaller than ``FLAT`` × the smoothed curve's range over the phase
(a relative slope), and a *rise* when it is larger:
- ``plateau_steps``: steps from the phase's start to the first rise (the whole phase if it never rises);
- ``secondary_plateau``: after the first rise, a run of at least ``MIN_FLAT`` flat changes followed by a rise
  (1.0 or 0.0; NaN for a curve of fewer than two finite bins, which cannot show one: never counted as "no");
- ``steepest_rise``: the largest rise per 1,000 steps;
- ``recovery_steps``: steps from the phase's start until the smoothed curve first reaches a target (the
  leaderboard uses ``RECOVERY`` × reset's mean end score on the task), NaN if it never does: a censored time
  (it would be longer than the phase), which ``censored_median`` counts as such instead of dropping it.
Bins without an episode are skipped (the curve is read at the bins it has).
"""

from __future__ import annotations

import numpy as np

SMOOTH = 3
FLAT = 0.05
MIN_FLAT = 2
RECOVERY = 0.9


def smoothed(values: np.ndarray, bins: int = SMOOTH) -> np.ndarray:
    """Running mean over the last ``bins`` values (fewer at the start)."""
    out = np.empty(len(values))
    for i in range(len(values)):
        out[i] = values[max(0, i - bins + 1) : i + 1].mean()
    return out


def _changes(values: np.ndarray, smooth: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The finite bins' indices, their smoothed values and the changes between neighbours."""
    keep = np.isfinite(values)
    index = np.flatnonzero(keep)
    curve = smoothed(values[keep], smooth)
    return index, curve, np.diff(curve)


def plateau_steps(values: np.ndarray, width: int, flat: float = FLAT, smooth: int = SMOOTH) -> float:
    """Steps before the first rise (bin index where it starts × ``width``); NaN without two finite bins."""
    index, curve, diff = _changes(values, smooth)
    if len(diff) == 0:
        return np.nan
    span = curve.max() - curve.min()
    rises = np.flatnonzero(diff > flat * span) if span > 0 else np.array([], dtype=int)
    return float(index[rises[0]] * width) if len(rises) else float(len(values) * width)


def secondary_plateau(values: np.ndarray, flat: float = FLAT, min_flat: int = MIN_FLAT, smooth: int = SMOOTH) -> float:
    """1.0 if a flat stretch of at least ``min_flat`` changes separates two rises, else 0.0; NaN without two finite
    bins (no curve to judge)."""
    _, curve, diff = _changes(values, smooth)
    if len(curve) < 2:
        return np.nan
    span = curve.max() - curve.min()
    if span <= 0:
        return 0.0
    rise, still = diff > flat * span, np.abs(diff) <= flat * span
    risen, run = False, 0
    for r, s in zip(rise, still, strict=True):
        if r and risen and run >= min_flat:
            return 1.0
        if r:
            risen, run = True, 0
        elif s and risen:
            run += 1
        else:
            run = 0
    return 0.0


def steepest_rise(values: np.ndarray, width: int, smooth: int = SMOOTH) -> float:
    """The largest increase of the smoothed curve per 1,000 steps between neighbouring finite bins."""
    index, _, diff = _changes(values, smooth)
    if len(diff) == 0:
        return np.nan
    return float((diff / (np.diff(index) * width)).max() * 1000)


def recovery_steps(values: np.ndarray, width: int, target: float, smooth: int = SMOOTH) -> float:
    """Steps from the phase's start to the end of the first bin whose smoothed value reaches ``target``."""
    index, curve, _ = _changes(values, smooth)
    reached = np.flatnonzero(curve >= target)
    return float((index[reached[0]] + 1) * width) if len(reached) and np.isfinite(target) else np.nan


def censored_median(times: np.ndarray, censored: np.ndarray) -> float:
    """The median of times of which some are censored (the event did not happen before the phase ended, so the
    time is longer than any observed): censored times sort above every observed one. ``inf`` when half or more
    are censored (the median is not reached), NaN without times. Dropping the censored times instead would make
    a method that rarely recovers look fast (it averages only its few recoveries)."""
    times = np.where(np.asarray(censored, dtype=bool), np.inf, np.asarray(times, dtype=np.float64))
    if len(times) == 0:
        return np.nan
    ordered = np.sort(times)
    middle = (len(ordered) - 1) / 2
    low, high = ordered[int(np.floor(middle))], ordered[int(np.ceil(middle))]
    return float(np.inf if np.isinf(high) else (low + high) / 2)
