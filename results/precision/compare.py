"""fp32 against bf16 autocast: the paired difference of each seed's end-of-phase return, per game.

Reads the ``scores.csv`` that ``python -m rlplastic.bench`` wrote into ``ROOT/{fp32,bf16}/GAME/...`` (NOTE.md has
the commands) and prints a markdown table: each precision's mean end return [95 % t interval] over seeds, and
the mean of the per-seed differences bf16 - fp32 [95 % t interval] (seeds pair: the same seed gives both runs
the same environments and initial weights).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats


def ends(root: Path, precision: str, game: str) -> pd.Series:
    (path,) = (root / precision / game).rglob("scores.csv")
    return pd.read_csv(path).set_index("seed")["end"].sort_index()


def t_interval(values: np.ndarray) -> str:
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return f"{values.mean():.2f} [{values.mean() - half:.2f}, {values.mean() + half:.2f}]"


def main(root: Path) -> None:
    print("| game | seeds | fp32 end | bf16 end | bf16 - fp32 (paired) |")
    print("|---|---|---|---|---|")
    for game in sorted(p.name for p in (root / "fp32").iterdir()):
        fp32, bf16 = ends(root, "fp32", game), ends(root, "bf16", game)
        assert list(fp32.index) == list(bf16.index), (game, fp32.index, bf16.index)
        diff = (bf16 - fp32).to_numpy()
        cells = [t_interval(fp32.to_numpy()), t_interval(bf16.to_numpy()), t_interval(diff)]
        print(f"| {game} | {len(diff)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
