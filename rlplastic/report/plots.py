"""The leaderboard's plots, from a ``Board`` (``leaderboard.py``): what a person would rather look at than read.

- ``curves.png``: normalised learning curves per method, seed mean with a shaded 95 % t band, task boundaries;
- ``gap.png``: the plasticity gap against reset per phase, with 95 % intervals;
- ``aggregates.png``: IQM / mean / median / optimality gap and P(> none / reset) as interval plots (rliable's
  style);
- ``profiles.png``: performance profiles (fraction of runs × phases above a score) with bootstrap bands.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from rlplastic.metrics import aggregate
from rlplastic.report.leaderboard import Board, grid_phases, method_curves, metric_order

FILES = ("curves.png", "gap.png", "aggregates.png", "profiles.png")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _colours(methods: list[str]) -> dict[str, tuple]:
    cmap = _pyplot().get_cmap("tab10" if len(methods) <= 10 else "tab20")
    return {m: cmap(i % cmap.N) for i, m in enumerate(methods)}


def _band(curves: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seed mean and 95 % t band of stacked curves (seeds, points); NaN where no seed has a value."""
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN points and single seeds stay NaN
        n = np.isfinite(curves).sum(axis=0)
        centre = np.nanmean(curves, axis=0)
        sd = np.nanstd(curves, axis=0, ddof=1)
        half = np.where(n > 1, stats.t.ppf(0.975, np.maximum(n - 1, 1)) * sd / np.sqrt(np.maximum(n, 1)), np.nan)
    return centre, centre - half, centre + half


def _boundaries(ax, board: Board) -> None:
    """Dashed lines at the switches, each phase's task written inside the axes (vertical for long schedules)."""
    many = len(board.phases) > 6
    for phase in board.phases:
        ax.axvline(phase.start, color="grey", lw=0.6, ls="--", zorder=0)
        transform = ax.get_xaxis_transform()
        ax.text(
            phase.start,
            0.99,
            f" {phase.task}",
            transform=transform,
            fontsize=7,
            va="top",
            rotation=90 if many else 0,
            color="dimgrey",
        )


def plot_curves(board: Board, path: Path) -> None:
    plt = _pyplot()
    colours = _colours(board.methods)
    fig, ax = plt.subplots(figsize=(10, 4.8))
    phase_of = grid_phases(board)
    for method in board.methods:
        centre, low, high = _band(method_curves(board, method))
        for p in range(len(board.phases)):  # one line per phase: a curve never bridges two tasks
            inside = phase_of == p
            x = board.grid[inside]
            ax.plot(x, centre[inside], color=colours[method], lw=1.5, label=method if p == 0 else None)
            ax.fill_between(x, low[inside], high[inside], color=colours[method], alpha=0.2, lw=0)
    _boundaries(ax, board)
    ax.set_xlabel("agent steps")
    ax.set_ylabel("normalised return" if board.normalised else "return")
    ax.set_title(f"{board.title}: learning curves (seed mean, 95 % CI)", fontsize=10)
    ax.legend(fontsize=8, ncol=min(len(board.methods), 6), loc="best")
    fig.text(
        0.01,
        0.01,
        f"Scores: {board.normalisation}; points: mean return of episodes ending in each {board.window:.0%} of a phase",
        fontsize=7,
    )
    _save(fig, path)


def plot_gap(board: Board, per_phase: pd.DataFrame, path: Path) -> None:
    plt = _pyplot()
    colours = _colours(board.methods)
    others = [m for m in board.methods if m != "reset"]
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(board.phases) * max(1, len(others)) / 2), 4.2))
    width = 0.8 / max(len(others), 1)
    for i, method in enumerate(others):
        mine = per_phase[per_phase["method"] == method].sort_values("phase")
        x = mine["phase"].to_numpy() + (i - (len(others) - 1) / 2) * width
        y = mine["gap_vs_reset"].to_numpy()
        low, high = mine["gap_vs_reset_low"].to_numpy(), mine["gap_vs_reset_high"].to_numpy()
        bars = np.isfinite(low) & np.isfinite(high)  # no bar where one seed gives no interval: a point alone
        err = np.vstack([y - low, high - y])[:, bars]
        ax.errorbar(x[bars], y[bars], yerr=err, fmt="o", color=colours[method], capsize=3, label=method, ms=5)
        ax.plot(x[~bars], y[~bars], "o", mfc="none", color=colours[method], ms=5)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(len(board.phases)), [p.label for p in board.phases], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("method − reset (end of phase)")
    ax.set_title(
        f"{board.title}\nplasticity gap against reset (paired by seed, 95 % t CI; hollow: one seed, no CI)", fontsize=9
    )
    ax.legend(fontsize=8)
    _save(fig, path)


def plot_aggregates(board: Board, path: Path) -> None:
    plt = _pyplot()
    agg = board.aggregates
    metrics = metric_order(agg)
    colours = _colours(board.methods)
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(2.6 * len(metrics), 0.45 * len(board.methods) + 1.4), sharey=True
    )
    for ax, metric in zip(np.atleast_1d(axes), metrics, strict=True):
        for y, method in enumerate(board.methods):
            row = agg[(agg["method"] == method) & (agg["metric"] == metric)]
            if row.empty:
                continue
            value, low, high = row[["value", "low", "high"]].to_numpy()[0]
            if np.isfinite(low) and np.isfinite(high):  # one seed: no interval, the estimate alone
                ax.barh(y, high - low, left=low, height=0.6, color=colours[method], alpha=0.75)
            ax.plot([value, value], [y - 0.3, y + 0.3], color="black", lw=1.5)
        if metric.startswith("P("):
            ax.axvline(0.5, color="grey", ls="--", lw=0.8)
        ax.set_title(metric, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    ax0 = np.atleast_1d(axes)[0]
    ax0.set_yticks(range(len(board.methods)), board.methods)
    ax0.invert_yaxis()
    fig.suptitle(
        f"{board.title}: aggregates over phases (95 % stratified bootstrap CI, expanded; "
        "a line without a bar: one seed, or no spread)",
        fontsize=10,
    )
    _save(fig, path)


def plot_profiles(board: Board, path: Path) -> None:
    from rlplastic.report.leaderboard import complete_phases, score_matrix

    plt = _pyplot()
    colours = _colours(board.methods)
    phases = complete_phases(board)
    matrices = {m: score_matrix(board, m, phases) for m in board.methods}
    every = np.concatenate([s.ravel() for s in matrices.values()])
    taus = np.linspace(min(0.0, every.min()), max(1.0, every.max()), 101)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for method, scores in matrices.items():
        centre, low, high = aggregate.profile_band(scores, taus)
        ax.plot(taus, centre, color=colours[method], label=method)
        if len(scores) > 1:  # one seed has no spread to resample: no band
            ax.fill_between(taus, low, high, color=colours[method], alpha=0.2, lw=0)
    ax.set_xlabel("normalised end-of-phase score τ")
    ax.set_ylabel("fraction of runs × phases with score > τ")
    ax.set_title(f"{board.title}\nperformance profiles (95 % stratified bootstrap CI)", fontsize=9)
    ax.legend(fontsize=8)
    _save(fig, path)


WHEN = {"cadence": 0, "before": 1, "after": 2, "end": 3}  # at one step: before the intervention, then after


def plot_diagnostics(board: Board, folder: Path) -> list[Path]:
    """One figure per network: every pooled diagnostic over training, seed mean per method, task boundaries; at
    a switch the line joins the values just before and just after the intervention."""
    plt = _pyplot()
    colours = _colours(board.methods)
    written = []
    frame = board.diagnostics.assign(order=board.diagnostics["when"].map(WHEN))
    for network, rows in frame.groupby("network", sort=True):
        quantities = list(dict.fromkeys(rows["quantity"]))
        cols = 4
        fig, axes = plt.subplots(-(-len(quantities) // cols), cols, figsize=(14, 2.4 * -(-len(quantities) // cols)))
        for ax, quantity in zip(axes.flat, quantities, strict=False):
            mine = rows[rows["quantity"] == quantity]
            for method in board.methods:
                means = mine[mine["method"] == method].groupby(["step", "order"])["value"].mean()
                if len(means):
                    ax.plot(
                        means.index.get_level_values(0),
                        means.to_numpy(),
                        color=colours[method],
                        lw=1.2,
                        marker=".",
                        ms=3,
                        label=method,
                    )
            for phase in board.phases[1:]:
                ax.axvline(phase.start, color="grey", lw=0.5, ls="--", zorder=0)
            ax.set_title(quantity, fontsize=9)
            ax.tick_params(labelsize=7)
        for ax in list(axes.flat)[len(quantities) :]:
            ax.axis("off")
        axes.flat[0].legend(fontsize=7)
        fig.suptitle(f"{board.title}: diagnostics of {network} (seed mean; dashed: task switches)", fontsize=10)
        path = folder / f"diagnostics_{network}.png"
        _save(fig, path)
        written.append(path)
    return written


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)


def write(board: Board, per_phase: pd.DataFrame, folder: Path) -> list[Path]:
    """Every plot the board supports, into ``folder``; the paths written."""
    written = [folder / "curves.png"]
    plot_curves(board, written[0])
    if "reset" in board.methods and len(board.methods) > 1:
        written.append(folder / "gap.png")
        plot_gap(board, per_phase, written[-1])
    if not board.aggregates.empty:
        written += [folder / "aggregates.png", folder / "profiles.png"]
        plot_aggregates(board, written[-2])
        plot_profiles(board, written[-1])
    written += plot_diagnostics(board, folder)
    for old in [*(folder / n for n in FILES), *folder.glob("diagnostics_*.png")]:
        if old not in written:  # a plot this board does not support must not survive from an earlier build
            old.unlink(missing_ok=True)
    return written


def _sensitivity_axis(settings: list[dict]) -> tuple[np.ndarray, list[str], bool]:
    """x positions for a method's configurations: the swept value itself where one numeric setting varies (log
    scale over a wide positive range), else one slot per configuration named by its settings."""
    keys = sorted({k for s in settings for k in s})
    values = [s.get(keys[0]) for s in settings] if len(keys) == 1 else []
    numeric = bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if numeric:
        x = np.array(values, dtype=float)
        log = bool((x > 0).all() and x.max() / x.min() >= 10)
        return x, [f"{keys[0]}={v:g}" for v in x], log
    names = [", ".join(f"{k}={v}" for k, v in sorted(s.items())) or "default" for s in settings]
    return np.arange(len(settings), dtype=float), names, False


def plot_sensitivity(table: pd.DataFrame, path: Path) -> bool:
    """Each tuned method's tuning score against its swept values, with 95 % t intervals over the tuning seeds;
    the chosen configuration is the filled marker. False (nothing written) where no method had two configurations."""
    tuned = [m for m, rows in table.groupby("method", sort=False) if len(rows) > 1]
    if not tuned:
        return False
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(tuned), figsize=(4.2 * len(tuned), 3.4), squeeze=False)
    for ax, method in zip(axes[0], tuned, strict=True):
        rows = table[table["method"] == method]
        x, names, log = _sensitivity_axis([json.loads(s) for s in rows["settings"]])
        order = np.argsort(x)
        mean, low, high = (rows[c].to_numpy(dtype=float)[order] for c in ("mean", "low", "high"))
        err = np.vstack([mean - np.where(np.isfinite(low), low, mean), np.where(np.isfinite(high), high, mean) - mean])
        ax.errorbar(x[order], mean, yerr=err, fmt="o-", capsize=3, mfc="white")
        chosen = rows["chosen"].to_numpy()[order]
        ax.plot(x[order][chosen], mean[chosen], "o", ms=8, color="C1", label="chosen", zorder=3)
        reset = table.loc[(table["method"] == "reset") & table["chosen"], "mean"]
        if method != "reset" and len(reset):
            ax.axhline(float(reset.iloc[0]), color="grey", ls="--", lw=1, label="reset")
        if log:
            ax.set_xscale("log")
        ax.set_xticks(x[order], [names[i] for i in order], rotation=30, ha="right", fontsize=7)
        ax.set_title(f"{method} (n={int(rows['n'].max())} tuning seeds)", fontsize=9)
        ax.set_ylabel("tuning score")
        ax.legend(fontsize=7)
    _save(fig, path)
    return True
