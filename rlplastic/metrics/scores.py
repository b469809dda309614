"""Human-normalised Atari scores: (score - random) / (human - random).

Reference scores come from google-deepmind/dqn_zoo ``atari_data.py`` (no-op starts, 108k-frame cap), the
table used by Agent57, MuZero and rliable; shipped as ``atari_scores.csv`` beside this module.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

TABLE = Path(__file__).with_name("atari_scores.csv")


@cache
def atari_reference() -> dict[str, tuple[float, float]]:
    """Game name -> (random score, human score)."""
    with open(TABLE) as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        return {r["game"]: (float(r["random"]), float(r["human"])) for r in rows}


def human_normalised(game: str, score: float) -> float | None:
    """The human-normalised score, or None where the table has no entry for ``game``."""
    ref = atari_reference().get(game)
    if ref is None:
        return None
    random, human = ref
    return (score - random) / (human - random)
