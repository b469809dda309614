"""Leaderboard: reads run folders only (never the agents) -> per-phase scores -> tables and a plot.

For each method: the return on each phase's task at the end of that phase, averaged over seeds
(human-normalised for Atari). Written as Markdown and CSV, and printed.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from rlplastic.bench.store import EPISODES, read_config
from rlplastic.metrics.phases import LAST_EPISODES, end_of_phase_returns
from rlplastic.metrics.scores import human_normalised


def collect(run_dirs: list[Path]) -> pd.DataFrame:
    """One row per run and phase: method, seed, phase label, task, raw return and (Atari) HNS."""
    rows = []
    for run_dir in run_dirs:
        config = read_config(run_dir)
        phases = config.phases()
        path = run_dir / EPISODES
        episodes = pd.read_csv(path) if path.exists() else pd.DataFrame(columns=["step", "return"])
        for phase, ret in zip(phases, end_of_phase_returns(episodes, phases), strict=True):
            hns = human_normalised(phase.task, ret) if config.scores == "atari_human" else None
            rows.append(
                {
                    "method": config.method,
                    "seed": config.seed,
                    "phase": phase.index,
                    "label": phase.label,
                    "task": phase.task,
                    "return": ret,
                    "hns": np.nan if hns is None else hns,
                    "normalised": config.scores == "atari_human",
                }
            )
    return pd.DataFrame(rows)


def summarise(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and seed count per method and phase (long form, the CSV)."""
    value_cols = ["return", "hns"]
    grouped = scores.groupby(["method", "phase", "label", "task"], sort=False)[value_cols]
    out = grouped.agg(["mean", "std", "count"])
    out.columns = [f"{v}_{stat}" for v, stat in out.columns]
    return out.reset_index()


def _cell(mean: float, std: float, digits: int) -> str:
    if np.isnan(mean):
        return "—"
    return f"{mean:.{digits}f}" + ("" if np.isnan(std) else f" ± {std:.{digits}f}")


def wide_table(summary: pd.DataFrame, normalised: bool) -> pd.DataFrame:
    """Methods as rows, phases as columns, ``mean ± sd`` cells; Atari adds the mean HNS over phases."""
    value, digits = ("hns", 2) if normalised else ("return", 1)
    summary = summary.assign(
        cell=[_cell(m, s, digits) for m, s in zip(summary[f"{value}_mean"], summary[f"{value}_std"], strict=True)]
    )
    table = summary.pivot(index="method", columns="label", values="cell")
    labels = list(dict.fromkeys(summary.sort_values("phase")["label"]))
    table = table[labels]
    if normalised:
        means = summary.groupby("method")["hns_mean"].mean()
        table["mean HNS"] = [f"{means[m]:.2f}" for m in table.index]
    return table


def order_methods(table: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    return table.loc[[m for m in methods if m in table.index]]


def to_markdown(table: pd.DataFrame, title: str, note: str) -> str:
    header = "| method | " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "---|" * (len(table.columns) + 1)
    body = ["| " + " | ".join([str(m), *map(str, row)]) + " |" for m, row in table.iterrows()]
    return "\n".join([f"## {title}", "", note, "", header, rule, *body, ""])


def phase_curve(episodes: pd.DataFrame, phases: list, points: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Rolling-mean return on a step grid, computed within each phase and NaN where no episode informs it
    (before a phase's first episode and after its last), so a plot never bridges two tasks."""
    xs, ys = [], []
    for phase in phases:
        grid = np.linspace(phase.start, phase.end, points)
        mine = episodes[(episodes["step"] > phase.start) & (episodes["step"] <= phase.end)]
        values = np.full(points, np.nan)
        if len(mine):
            smooth = mine["return"].rolling(LAST_EPISODES, min_periods=1).mean()
            inside = (grid >= mine["step"].min()) & (grid <= mine["step"].max())
            values[inside] = np.interp(grid[inside], mine["step"], smooth)
        xs += [grid, [np.nan]]
        ys += [values, [np.nan]]
    return np.concatenate(xs), np.concatenate(ys)


def plot_curves(run_dirs: list[Path], path: Path, title: str) -> None:
    """Episode returns over training steps, one line per method (seed mean of per-phase rolling means)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    by_method: dict[str, list[np.ndarray]] = {}
    grid, phases = None, []
    for run_dir in run_dirs:
        config = read_config(run_dir)
        phases = config.phases()
        path_csv = run_dir / EPISODES
        episodes = pd.read_csv(path_csv) if path_csv.exists() else pd.DataFrame(columns=["step", "return"])
        grid, values = phase_curve(episodes, phases)
        by_method.setdefault(config.method, []).append(values)
    for method, curves in by_method.items():
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
            mean = np.nanmean(np.stack(curves), axis=0)
        ax.plot(grid, mean, marker=".", ms=3, label=f"{method} ({len(curves)} seeds)")
    for phase in phases:
        ax.axvline(phase.start, color="grey", lw=0.5, ls="--")
        ax.text(phase.start, 1.0, f" {phase.task}", transform=ax.get_xaxis_transform(), fontsize=7, va="top")
    ax.set_xlabel("agent steps")
    ax.set_ylabel(f"episode return (rolling mean of {LAST_EPISODES} within a phase)")
    ax.set_title(title)
    if by_method:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def build(run_dirs: list[Path], methods: list[str], folder: Path, title: str, note: str) -> str:
    """Write ``leaderboard.md``, ``leaderboard.csv`` and ``curves.png`` into ``folder``; return the Markdown."""
    scores = collect(run_dirs)
    summary = summarise(scores)
    normalised = bool(scores["normalised"].all())
    table = order_methods(wide_table(summary, normalised), methods)
    seeds = scores.groupby("method")["seed"].nunique()
    table.insert(0, "seeds", [int(seeds[m]) for m in table.index])
    what = "human-normalised score" if normalised else "raw return"
    note = (
        f"{note}\nCells: {what} on each phase's task at the end of that phase (mean of the last "
        f"{LAST_EPISODES} training episodes), mean ± sd over seeds; — where no episode ended in that phase."
    )
    markdown = to_markdown(table, title, note)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "leaderboard.md").write_text(markdown)
    summary.to_csv(folder / "leaderboard.csv", index=False)
    plot_curves(run_dirs, folder / "curves.png", title)
    return markdown
