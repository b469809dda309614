"""C-CHAIN's Continual MinAtar table at this machine's budget, beside the published numbers.

Reads the board's ``scores.csv`` (one row per run and phase, raw returns) and prints, per method: the mean
training return over the whole run (the mean over the three games of each game's learning-curve mean, ``auc``:
the closest this suite records to C-CHAIN's average over the learning process), each game's end-of-phase
return, and each method's paired difference from ``none`` (the same seed gives both runs the same environments
and initial weights). Cells: mean [95 % Student-t interval] over seeds. NOTE.md has the commands.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

PUBLISHED = {"none": "22.04 ± 0.73", "cchain": "29.51 ± 0.68"}
"""C-CHAIN (arXiv 2506.00592) Table 4: mean ± standard error over 12 seeds, 2M steps per game, Double DQN."""


def cell(values: np.ndarray) -> str:
    mean = values.mean()
    if len(values) < 2:
        return f"{mean:.2f} (n=1)"
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return f"{mean:.2f} [{mean - half:.2f}, {mean + half:.2f}]"


def main(scores_csv: Path) -> None:
    scores = pd.read_csv(scores_csv)
    games = list(scores.sort_values("phase").drop_duplicates("phase")["task"])
    overall = scores.groupby(["method", "seed"])["auc"].mean().unstack("method")
    ends = scores.pivot_table(index="seed", columns=["method", "task"], values="end")
    methods = [m for m in ("none", "reset", "cchain") if m in overall]
    header = ["method", "seeds", "mean return over the run", "- none (paired)", *[f"{g} end" for g in games]]
    print("| " + " | ".join([*header, "published (2M/game)"]) + " |")
    print("|" + "---|" * (len(header) + 1))
    for m in methods:
        diff = "—" if m == "none" else cell((overall[m] - overall["none"]).dropna().to_numpy())
        row = [m, str(overall[m].notna().sum()), cell(overall[m].dropna().to_numpy()), diff]
        row += [cell(ends[(m, g)].dropna().to_numpy()) for g in games]
        print("| " + " | ".join([*row, PUBLISHED.get(m, "not reported")]) + " |")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
