"""Learning parity: our agent against stable-baselines3's with the same hyper-parameters, network and env.

Reads every finished single-task run under OUT (``--agent ppo`` and ``--agent sb3_ppo``, ...; one experiment
folder per agent and game) and prints, per game: the final return of each implementation (the mean return of
the episodes that ended in the last 10 % of the run, per seed), mean [95 % Student-t interval] over seeds, and
the difference with Welch's interval (the two implementations' runs are not paired: seed s of one shares nothing
with seed s of the other but the env seeds). Writes ``curves_<game>.png``: mean return per 5 % of the run, mean
and 95 % interval over seeds, one line per implementation.

    python results/parity/compare.py OUT [OUT2 ...] [--pairs ppo:sb3_ppo,dqn:sb3_dqn] [--plots DIR]

Runs of an agent and game that an earlier OUT folder already holds are named ``AGENT@FOLDER``
(``sb3_ppo@parity-vf``), so a diagnostic arm trained into its own folder pairs with the first folder's runs:
``--pairs ppo:sb3_ppo@parity-vf``. Plots are named ``curves_<game>-<ours>-vs-<theirs>.png``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

FINAL = 0.1  # the last tenth of the run
BINS = 20


def runs(out: Path, suffix: str = "") -> pd.DataFrame:
    """One row per finished single-task run: agent (plus ``suffix``), game, seed, total steps and its episodes."""
    rows = []
    for config_path in sorted(out.rglob("config.json")):
        if not (config_path.parent / "DONE").exists():
            continue
        config = json.loads(config_path.read_text())
        if len(config["tasks"]) != 1 or config["cycles"] != 1:
            continue
        episodes = pd.read_csv(config_path.parent / "episodes.csv")
        rows.append(
            {"agent": config["agent"] + suffix, "game": config["tasks"][0], "seed": config["seed"]}
            | {"steps": config["steps_per_phase"], "episodes": episodes}
        )
    return pd.DataFrame(rows)


def final_return(episodes: pd.DataFrame, steps: int) -> float:
    last = episodes[episodes["step"] > (1 - FINAL) * steps]
    return float(last["return"].mean())


def interval(values: np.ndarray) -> tuple[float, float, float]:
    mean = float(values.mean())
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return mean, mean - half, mean + half


def welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float, float]:
    """a - b with Welch's 95 % interval (unequal variances) and the two-sided p-value."""
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    diff, half = a.mean() - b.mean(), stats.t.ppf(0.975, dof) * np.sqrt(va + vb)
    p = stats.ttest_ind(a, b, equal_var=False).pvalue
    return float(diff), float(diff - half), float(diff + half), float(p)


def curve(episodes: pd.DataFrame, steps: int) -> np.ndarray:
    edges = np.linspace(0, steps, BINS + 1)
    which = np.digitize(episodes["step"], edges[1:-1])
    return np.array([episodes["return"][which == i].mean() for i in range(BINS)])


def fmt(triple: tuple[float, float, float]) -> str:
    return f"{triple[0]:.2f} [{triple[1]:.2f}, {triple[2]:.2f}]"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path, nargs="+", help="the --out folders of the parity runs")
    p.add_argument("--pairs", default="ppo:sb3_ppo,dqn:sb3_dqn,sac:sb3_sac", help="ours:theirs agent names to compare")
    p.add_argument("--plots", type=Path, default=Path(__file__).parent, help="where curves_<game>.png go")
    args = p.parse_args()
    args.plots.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame()
    for out in args.out:
        found = runs(out)
        if not found.empty and not table.empty:
            seen = set(zip(table["agent"], table["game"], strict=True))
            clash = [(a, g) in seen for a, g in zip(found["agent"], found["game"], strict=True)]
            found.loc[clash, "agent"] = found.loc[clash, "agent"] + f"@{out.name}"
        table = pd.concat([table, found], ignore_index=True)
    print("| game | ours | n | final return (ours) | SB3 | n | final return (SB3) | ours − SB3 (Welch 95 %) | p |")
    print("|---|---|---|---|---|---|---|---|---|")
    for pair in args.pairs.split(","):
        ours, theirs = pair.split(":")
        for game in sorted(set(table.loc[table["agent"] == ours, "game"])):
            a = table[(table["agent"] == ours) & (table["game"] == game)]
            b = table[(table["agent"] == theirs) & (table["game"] == game)]
            if len(a) < 2 or len(b) < 2:
                continue
            fa = np.array([final_return(r.episodes, r.steps) for r in a.itertuples()])
            fb = np.array([final_return(r.episodes, r.steps) for r in b.itertuples()])
            d = welch(fa, fb)
            print(
                f"| {game} | {ours} | {len(fa)} | {fmt(interval(fa))} | {theirs} | {len(fb)} | {fmt(interval(fb))} "
                f"| {d[0]:+.2f} [{d[1]:+.2f}, {d[2]:+.2f}] | {d[3]:.2f} |"
            )
            plot(game, {ours: a, theirs: b}, args.plots / f"curves_{game}-{ours}-vs-{theirs}.png")


def plot(game: str, by_agent: dict[str, pd.DataFrame], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for agent, rows in by_agent.items():
        steps = int(rows["steps"].iloc[0])
        curves = np.array([curve(r.episodes, steps) for r in rows.itertuples()])
        x = (np.arange(BINS) + 0.5) * steps / BINS
        mean = np.nanmean(curves, axis=0)
        half = stats.t.ppf(0.975, len(curves) - 1) * np.nanstd(curves, axis=0, ddof=1) / np.sqrt(len(curves))
        ax.plot(x, mean, label=f"{agent} (n={len(curves)})")
        ax.fill_between(x, mean - half, mean + half, alpha=0.25)
    ax.set_xlabel("agent steps")
    ax.set_ylabel("episode return")
    ax.set_title(f"{game}: mean and 95 % interval over seeds")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
