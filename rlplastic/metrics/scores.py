"""Normalised scores, so returns of different tasks can be averaged: 0 means a weak reference, 1 a strong one.

- ``atari_human``: (score - random) / (human - random) with the 57-game table of google-deepmind/dqn_zoo
  ``atari_data.py`` (no-op starts, 108k-frame cap; the table of Agent57, MuZero and rliable), shipped as
  ``atari_scores.csv``. A game missing from the table is an error, never a silent NaN.
- ``dmc_max``: return / 1000, dm_control's maximum (per-step rewards in [0, 1], 1,000-step episodes; Tassa et
  al. 2018, arXiv 1801.00690).
- ``""`` (MinAtar and user suites): no published reference fits (the MinAtar paper gives curves, not a
  table), so scores are divided by the mean end-of-phase score of ``reset`` (a fresh network) on the same task,
  pooled over its seeds and visits: 1 = what training from scratch reaches in one phase.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import numpy as np

TABLE = Path(__file__).with_name("atari_scores.csv")
DMC_MAX_RETURN = 1000.0


class NormalisationError(ValueError):
    """Scores that cannot be normalised as asked."""


@cache
def atari_reference() -> dict[str, tuple[float, float]]:
    """Game name -> (random score, human score)."""
    with open(TABLE) as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        return {r["game"]: (float(r["random"]), float(r["human"])) for r in rows}


def human_normalised(game: str, score: float | np.ndarray) -> float | np.ndarray:
    """The human-normalised score of ``game``; an error naming the valid games for a game not in the table."""
    ref = atari_reference().get(game)
    if ref is None:
        raise NormalisationError(
            f"no human reference score for Atari game {game!r}; the table (dqn_zoo's 57 games) has: "
            f"{', '.join(sorted(atari_reference()))}"
        )
    random, human = ref
    return (score - random) / (human - random)


def describe(kind: str) -> str:
    """One line saying what a normalised score of 1 means."""
    return {
        "atari_human": "human-normalised (0 = random, 1 = human; dqn_zoo's table)",
        "dmc_max": "return / 1000 (dm_control's maximum)",
        "": "relative to reset (1 = the mean end-of-phase score of a fresh network on that task)",
    }[kind]


def normaliser(kind: str, reset_means: dict[str, float]):
    """A function (task, scores) -> normalised scores for the suite's ``kind``; ``reset_means`` maps a task to
    reset's mean end-of-phase raw score (used only by ``""``)."""
    if kind == "atari_human":
        return human_normalised
    if kind == "dmc_max":
        return lambda task, score: score / DMC_MAX_RETURN
    if kind == "":
        return lambda task, score: score / _reset_reference(task, reset_means)
    raise NormalisationError(f"unknown score normalisation {kind!r}; valid: atari_human, dmc_max, '' (reset)")


def _reset_reference(task: str, reset_means: dict[str, float]) -> float:
    ref = reset_means.get(task, np.nan)
    if not np.isfinite(ref) or ref <= 0:
        raise NormalisationError(
            f"task {task!r}: scores are normalised by reset's mean end-of-phase score, which is "
            f"{'missing' if not np.isfinite(ref) else ref}; run the reset baseline (it runs unless --no-baselines) "
            "long enough for it to score above 0"
        )
    return ref
