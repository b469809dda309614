"""The leaderboard of one experiment folder: per-visit scores -> gaps, continual metrics, aggregates -> files.

Reads run folders only (``results.py``), never the agents or torch. The question it answers: does a method
keep the agent learning across task switches better than the baselines, and how sure are we? Hence:
- per phase, the end-of-phase score and the **plasticity gap** against ``reset`` paired by seed, with 95 %
  Student-t intervals over seeds;
- across phases, IQM / mean / median / optimality gap of normalised end scores and the probability of
  improvement over ``none`` and ``reset``, with 95 % stratified bootstrap intervals (``metrics/aggregate.py``);
- within phases and across revisits: start, end, gain, AUC, forward transfer and forgetting;
- training dynamics after a switch (``metrics/dynamics.py``): plateau, secondary plateaus, steepest rise,
  recovery time.
Written as ``leaderboard.md`` (what a person reads), ``leaderboard.csv`` (per method and phase),
``aggregates.csv``, ``scores.csv`` (per run and phase, raw and normalised) and the plots of ``plots.py``.

Every number states what it rests on: the seeds (and the paired seeds of a gap) behind each cell, "missing"
where a phase has no score, no interval from fewer than 2 seeds, shares with Wilson intervals, step counts
clipped to the phase, recovery as a censored median beside the share that recovered. A "method" here is a
table label: a method name plus the options that tell its configurations apart (``results.labels``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from rlplastic.metrics import aggregate, continual
from rlplastic.metrics import dynamics as dyn
from rlplastic.metrics.aggregate import Interval
from rlplastic.metrics.scores import NormalisationError, describe, normaliser
from rlplastic.metrics.visits import SCORES, WINDOW_FRACTION, curve, visit_scores, window_steps
from rlplastic.report.results import Run

BASELINES = ("none", "reset")
FILES = ("leaderboard.md", "leaderboard.csv", "aggregates.csv", "scores.csv")


@dataclass
class Board:
    """Everything the tables and plots of one experiment folder are made of."""

    title: str
    methods: list[str]
    scores: pd.DataFrame  # one row per run and phase; raw SCORES and normalised n_<score> columns
    curves: dict[tuple[str, int], np.ndarray]  # (method, seed) -> the run's normalised learning curve
    grid: np.ndarray
    phases: list  # the schedule (every run of the folder shares it)
    normalisation: str  # what 1.0 means, or why scores stay raw
    normalised: bool
    window: float
    reps: int
    diagnostics: pd.DataFrame = field(default_factory=pd.DataFrame)  # pooled (layer "all") rows of every run
    aggregates: pd.DataFrame = field(default_factory=pd.DataFrame)
    dropped: list[str] = field(default_factory=list)  # phases left out of the aggregates (no episode ended)
    kind: str = ""  # the suite's score normalisation ('' = relative to reset: a divisor estimated from the runs)
    notes: list[str] = field(default_factory=list)  # what the reader must know about the runs behind the tables


def method_order(methods: list[str]) -> list[str]:
    """Baselines first, then the others in the order given."""
    return [m for m in BASELINES if m in methods] + [m for m in dict.fromkeys(methods) if m not in BASELINES]


def collect(runs: list[Run], title: str, window: float = WINDOW_FRACTION, reps: int = aggregate.REPS) -> Board:
    """Score every run of one experiment folder and normalise the scores."""
    rows, raw_curves, grid, diagnostics = [], [], np.array([]), []
    runs = sorted(runs, key=lambda r: (r.label, r.seed))
    for run in runs:
        episodes = run.episodes()
        for v in visit_scores(episodes, run.phases, window):
            where = {"label": run.phases[v.phase].label, "base": run.base_task(v.task)}
            rows.append({"method": run.label, "seed": run.seed} | where | vars(v))
        grid, values = curve(episodes, run.phases, window)
        raw_curves.append((run, values))
        measured = run.diagnostics()
        diagnostics.append(measured[measured["layer"] == "all"].assign(method=run.label, seed=run.seed))
    scores = pd.DataFrame(rows)
    kind = str(runs[0].config["scores"])
    methods = method_order([r.label for r in runs])
    board = Board(title, methods, scores, {}, grid, runs[0].phases, "", False, window, reps, kind=kind)
    board.diagnostics = pd.concat(diagnostics, ignore_index=True)
    board.notes = run_notes(runs)
    try:
        board.normalisation, board.normalised = describe(kind), True
        norm = _normalise(scores, kind)
        for run, values in raw_curves:
            board.curves[run.label, run.seed] = _normalise_curve(values, run, grid, norm)
    except NormalisationError as err:  # raw scores are no aggregate over tasks: none is computed on them
        why, resets = str(err), sorted({r.label for r in runs if r.method == "reset"})
        if kind == "" and len(resets) > 1:  # a sweep of reset or of the agent: no single reference on this board
            why = (
                f"reset ran in {len(resets)} configurations ({', '.join(resets)}) and none is the plain reference; "
                "choose one per method with table --select best --tune-seeds ... --eval-seeds ..."
            )
        board.normalisation, board.normalised = f"raw returns (not normalised: {why})", False
        for score in (*SCORES, "steepest_rise"):
            scores[f"n_{score}"] = scores[score]
        for run, values in raw_curves:
            board.curves[run.label, run.seed] = values
    scores["recovery"], scores["recovered"] = _recovery(board)
    return board


def run_notes(runs: list[Run]) -> list[str]:
    """What the tables cannot show by themselves: runs made under different numerics, methods run on different
    seeds, the network torso, and configurations known only by their folder's tag."""
    notes = []
    numerics: dict[tuple[str, ...] | None, dict[str, set[int]]] = {}
    for run in runs:
        numerics.setdefault(run.numerics, {}).setdefault(run.label, set()).add(run.seed)
    if len(numerics) > 1:
        parts = [
            f"{'not recorded' if key is None else ', '.join(key)}: "
            + ", ".join(f"{m} {_seed_list(s)}" for m, s in methods.items())
            for key, methods in numerics.items()
        ]
        notes.append(
            "**Runs differ in numerics** (threads, CPU capability, torch, device, precision; a seed's numbers depend "
            "on them, so a difference between methods of the size of a thread-count change is not evidence): "
            + "; ".join(parts)
        )
    seeds: dict[str, set[int]] = {}
    for run in runs:
        seeds.setdefault(run.label, set()).add(run.seed)
    if len({frozenset(s) for s in seeds.values()}) > 1:
        notes.append(
            "Methods ran different seeds ("
            + "; ".join(f"{m}: {_seed_list(s)}" for m, s in seeds.items())
            + "): a gap uses only the seeds both ran (its n), the other tables every seed of each method."
        )
    torsos = sorted({r.architecture for r in runs} - {""})
    if torsos:  # one per folder (an agent option); a board says which, since a method's effect depends on it
        notes.append(f"Network torso (agent.encoder): {', '.join(torsos)}.")
    tagged = sorted(
        {f"{r.method} (folder {r.dir.parent.name})" for r in runs if r.config.get("method_tag") and r.label == r.method}
    )
    if tagged:
        notes.append(f"Ran with options set on the command line (see the folder's config.json): {', '.join(tagged)}.")
    return notes


def _seed_list(seeds: set[int]) -> str:
    ordered = sorted(seeds)
    if ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 2:
        return f"{ordered[0]}-{ordered[-1]}"
    return ", ".join(map(str, ordered))


def method_curves(board: Board, method: str) -> np.ndarray:
    """The normalised learning curves of ``method``'s runs, stacked (seeds, points)."""
    return np.stack([c for (m, _), c in sorted(board.curves.items()) if m == method])


def grid_phases(board: Board) -> np.ndarray:
    """The phase index of every point of the learning-curve grid."""
    return np.searchsorted([p.start for p in board.phases], board.grid, side="right") - 1


def _recovery(board: Board) -> tuple[list[float], list[float]]:
    """Per run and phase after a switch: steps until the smoothed curve reaches ``RECOVERY`` × reset's mean
    normalised end score on that phase, and whether it did (1.0 / 0.0). Both NaN on the first phase, without a
    reset score on the phase, or for a phase without episodes (nothing to judge); a phase that never got there
    has NaN steps and ``recovered`` 0.0: censored, not missing."""
    scores = board.scores
    reset = scores[scores["method"] == "reset"].groupby("phase")["n_end"].mean()
    phase_of = grid_phases(board)
    steps, recovered = [], []
    for row in scores.itertuples(index=False):
        phase = board.phases[row.phase]
        target = reset.get(phase.index, np.nan)
        if phase.index == 0 or not np.isfinite(target) or row.episodes == 0:
            steps.append(np.nan)
            recovered.append(np.nan)
            continue
        values = board.curves[row.method, row.seed][phase_of == phase.index]
        width = window_steps(phase, board.window)
        steps.append(dyn.recovery_steps(values, width, dyn.RECOVERY * target))
        recovered.append(float(np.isfinite(steps[-1])))
    return steps, recovered


def _normalise(scores: pd.DataFrame, kind: str):
    reset = scores[scores["method"] == "reset"].groupby("task")["end"].mean().to_dict()
    norm = normaliser(kind, reset)

    def apply(column: str) -> list[float]:
        key = "base" if kind == "atari_human" else "task"
        return [float(norm(t, x)) for t, x in zip(scores[key], scores[column], strict=True)]

    for score in ("end", "start", "auc"):
        scores[f"n_{score}"] = apply(score)
    scores["n_gain"] = scores["n_end"] - scores["n_start"]
    key = "base" if kind == "atari_human" else "task"
    offset = [float(norm(t, 0.0)) for t in scores[key]]  # a slope scales with the normaliser; its offset cancels
    scores["n_steepest_rise"] = np.subtract(apply("steepest_rise"), offset)
    return lambda task, base, values: norm(base if kind == "atari_human" else task, values)


def _normalise_curve(values: np.ndarray, run: Run, grid: np.ndarray, norm) -> np.ndarray:
    out = np.array(values, dtype=np.float64)
    for phase in run.phases:
        inside = (grid > phase.start) & (grid < phase.end)
        out[inside] = norm(phase.task, run.base_task(phase.task), out[inside])
    return out


# ----- statistics -----


def gaps(board: Board, baseline: str = "reset") -> pd.DataFrame:
    """Per method and phase: the normalised end score and the paired gap against ``baseline``, with intervals."""
    rows = []
    for method in board.methods:
        mine = board.scores[board.scores["method"] == method]
        diff = continual.paired(board.scores, method, baseline, "n_end") if baseline in board.methods else None
        for phase in board.phases:
            end = aggregate.mean_interval(mine.loc[mine["phase"] == phase.index, "n_end"].to_numpy())
            gap = Interval(np.nan, np.nan, np.nan, 0)
            if diff is not None and method != baseline:
                gap = aggregate.mean_interval(diff.loc[diff["phase"] == phase.index, "diff"].to_numpy())
            rows.append(
                {"method": method, "phase": phase.index, "label": phase.label, "task": phase.task}
                | _columns("end", end)
                | _columns(f"gap_vs_{baseline}", gap)
            )
    return pd.DataFrame(rows)


def _columns(name: str, iv: Interval) -> dict[str, float]:
    """An interval as columns: the value, its bounds and ``<name>_n``, the number of seeds (or trials) behind it."""
    return {name: iv.value, f"{name}_low": iv.low, f"{name}_high": iv.high, f"{name}_n": iv.n}


def score_matrix(board: Board, method: str, phases: list[int], column: str = "n_end") -> np.ndarray:
    """(seeds, phases) end scores of ``method`` (normalised; ``column="end"``: raw), NaN where a phase has none."""
    mine = board.scores[board.scores["method"] == method]
    return mine.pivot(index="seed", columns="phase", values=column).reindex(columns=phases).to_numpy()


def complete_phases(board: Board) -> list[int]:
    """Phases where every run has an end score (the aggregates need a full matrix); the others are noted."""
    full = board.scores.groupby("phase")["n_end"].apply(lambda s: bool(np.isfinite(s).all()))
    board.dropped = [p.label for p in board.phases if not full[p.index]]
    return [p.index for p in board.phases if full[p.index]]


def aggregates(board: Board) -> pd.DataFrame:
    """IQM, mean, median, optimality gap and P(better than none / reset) per method, with bootstrap intervals."""
    phases = complete_phases(board)
    if not board.normalised or not phases:
        return pd.DataFrame()
    matrices = {m: score_matrix(board, m, phases) for m in board.methods}
    rows = []
    for method, scores in matrices.items():
        raw, divisor = _divided(board, method, phases)
        for name, estimator in aggregate.ESTIMATORS.items():
            if divisor is None:
                iv = aggregate.interval(scores, estimator, board.reps)
            else:
                iv = aggregate.interval(raw, estimator, board.reps, divisor=divisor)
            rows.append({"method": method, "metric": name, **vars(iv)})
        for other in BASELINES:
            if other in matrices and other != method:
                iv = aggregate.improvement_interval(scores, matrices[other], board.reps)
                rows.append({"method": method, "metric": f"P(> {other})", **vars(iv)})
    board.aggregates = pd.DataFrame(rows)
    return board.aggregates


def _divided(board: Board, method: str, phases: list[int]) -> tuple[np.ndarray, aggregate.Divisor | None]:
    """For scores relative to reset, ``method``'s raw end scores and the divisor (reset's mean per task, from the
    same experiment's runs) that the bootstrap resamples with them; otherwise no divisor (a fixed reference)."""
    if board.kind != "" or "reset" not in board.methods:
        return np.empty((0, 0)), None
    every = [p.index for p in board.phases]
    tasks = np.array([p.task for p in board.phases])
    divisor = aggregate.Divisor(score_matrix(board, "reset", every, "end"), tasks, np.array(phases), method == "reset")
    return score_matrix(board, method, phases, "end"), divisor


DYNAMICS = {
    "plateau": "plateau (steps)",
    "secondary_plateau": "secondary plateau (share)",
    "n_steepest_rise": "steepest rise (per 1k steps)",
    "recovery": "recovery (median steps)",
    "recovered": "recovered",
}


def dynamics_summary(board: Board) -> pd.DataFrame:
    """Per method, over the phases after a switch: plateau (per seed over phases, then a t interval over seeds,
    clipped to the phase), the share of phases with a secondary plateau (Wilson interval, phases as trials), the
    steepest rise (t interval over seeds), and recovery: the median steps over all phases with the ones that
    never recovered counted as censored (``inf``: half or more never recovered), beside the share that recovered."""
    after = board.scores[board.scores["phase"] > 0]
    longest = max(p.steps for p in board.phases)
    rows = []
    for method in board.methods:
        mine = after[after["method"] == method]
        plateau = continual.per_seed_mean(mine.dropna(subset=["plateau"]), "plateau")
        rise = continual.per_seed_mean(mine.dropna(subset=["n_steepest_rise"]), "n_steepest_rise")
        judged = mine.dropna(subset=["recovered"])
        row = {"method": method}
        row |= _columns("plateau", aggregate.mean_interval(plateau, bounds=(0.0, float(longest))))
        row |= _columns("secondary_plateau", _share(mine["secondary_plateau"]))
        row |= _columns("n_steepest_rise", aggregate.mean_interval(rise))
        median = dyn.censored_median(judged["recovery"].to_numpy(), judged["recovered"].to_numpy() == 0)
        row |= _columns("recovery", Interval(median, np.nan, np.nan, len(judged)))
        row |= _columns("recovered", _share(judged["recovered"]))
        rows.append(row)
    return pd.DataFrame(rows)


def _share(flags: pd.Series) -> Interval:
    """The share of true flags among the judged ones (NaN: not judged), with its Wilson interval."""
    judged = pd.to_numeric(flags, errors="coerce").dropna()
    return aggregate.wilson(int((judged > 0).sum()), len(judged))


def later_gap(scores: pd.DataFrame, method: str, baseline: str = "reset") -> np.ndarray:
    """Per seed, the mean over phases after the first of ``method − baseline`` on the end score: one number
    answering "does it learn later tasks as well as a fresh network?" (the first phase is the same training for
    every method that acts only at switches, so it would only dilute the gap)."""
    diff = continual.paired(scores, method, baseline, "n_end")
    return continual.per_seed_mean(diff[diff["phase"] >= 1], "diff")


def continual_summary(board: Board) -> pd.DataFrame:
    """Per method: start, end, gain, AUC, forward transfer and forgetting (each averaged per seed over phases,
    then a t interval over seeds), and the gap to reset over the phases after the first."""
    scores, rows = board.scores, []
    forgetting = continual.forgetting(scores.assign(end=scores["n_end"], start=scores["n_start"]))
    for method in board.methods:
        mine = scores[scores["method"] == method]
        row = {"method": method}
        for score in SCORES:
            row |= _columns(score, aggregate.mean_interval(continual.per_seed_mean(mine, f"n_{score}")))
        has_reference = "reset" in board.methods and method != "reset"  # reset's transfer to itself is 0 by definition
        transfer = continual.paired(scores, method, "reset", "n_auc") if has_reference else pd.DataFrame()
        row |= _columns("forward_transfer", aggregate.mean_interval(continual.per_seed_mean(transfer, "diff")))
        later = later_gap(scores, method) if has_reference else np.array([])
        row |= _columns("later_gap_vs_reset", aggregate.mean_interval(later))
        mine_f = forgetting[forgetting["method"] == method]
        row |= _columns("forgetting", aggregate.mean_interval(continual.per_seed_mean(mine_f, "forgetting")))
        rows.append(row)
    return pd.DataFrame(rows)


# ----- Markdown -----


def _num(value: float, digits: int) -> str:
    """A number as the tables print it; never ``-0.00`` (a negative that rounds to zero is zero)."""
    text = f"{value:,.{digits}f}"
    return text[1:] if text.startswith("-") and float(text[1:].replace(",", "")) == 0 else text


def _cell(
    value: float,
    low: float,
    high: float,
    n: float | None = None,
    digits: int = 2,
    stated: int | None = None,
    missing: str = "—",
) -> str:
    """``value [low, high]``; ``(n=k)`` where the cell rests on another number of seeds than its row states, and
    instead of an interval where there is one seed; ``missing`` where there is no value."""
    if not np.isfinite(value):
        return missing
    text = _num(value, digits)
    count = None if n is None or not np.isfinite(n) else int(n)
    if count is not None and count < 2:
        return f"{text} (n={count})"
    if np.isfinite(low) and np.isfinite(high):
        text += f" [{_num(low, digits)}, {_num(high, digits)}]"
    if count is not None and stated is not None and count != stated:
        text += f" (n={count})"
    return text


def _iv(row: pd.Series | dict, name: str) -> tuple[float, float, float, float]:
    return row[name], row[f"{name}_low"], row[f"{name}_high"], row[f"{name}_n"]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


def _per_phase(
    per_phase: pd.DataFrame,
    board: Board,
    name: str,
    methods: list[str],
    count: str,
    last: tuple[str, dict[str, str]] | None = None,
) -> list[str]:
    """One row per method, one column per phase, after a ``count`` column (the row's seeds; a cell resting on
    fewer says so); ``last`` (a header, a cell per method) adds a final column."""
    labels = [p.label for p in board.phases]
    rows = []
    for method in methods:
        mine = per_phase[per_phase["method"] == method].set_index("label")
        stated = int(mine[f"{name}_n"].max())
        missing = "missing" if stated else "—"  # a row without seeds (none paired with reset): nothing is missing
        cells = [_cell(*_iv(mine.loc[lb], name), stated=stated, missing=missing) for lb in labels]
        rows.append([method, str(stated), *cells, *([last[1][method]] if last else [])])
    return _table(["method", count, *labels, *([last[0]] if last else [])], rows)


def _later_gap_cells(summary: pd.DataFrame) -> tuple[str, dict[str, str]]:
    """The "phases 2+" column of the gap table: each method's later-phase gap to reset with its interval."""
    return "phases 2+", {
        r["method"]: _cell(*_iv(r, "later_gap_vs_reset"), missing="missing") for _, r in summary.iterrows()
    }


def metric_order(agg: pd.DataFrame) -> list[str]:
    """The estimators, then P(> none), P(> reset): a fixed order whichever method comes first."""
    wanted = [*aggregate.ESTIMATORS, *(f"P(> {b})" for b in BASELINES)]
    return [m for m in wanted if m in set(agg["metric"])]


def seeds_of(board: Board, method: str) -> int:
    return int(board.scores.loc[board.scores["method"] == method, "seed"].nunique())


def _aggregate_table(board: Board) -> list[str]:
    agg = board.aggregates
    metrics = metric_order(agg)
    rows = []
    for method in board.methods:
        mine = agg[agg["method"] == method].set_index("metric")
        seeds = seeds_of(board, method)
        cells = [
            _cell(*mine.loc[m, ["value", "low", "high", "n"]], stated=seeds) if m in mine.index else "—"
            for m in metrics
        ]
        rows.append([method, str(seeds), *cells])
    return _table(["method", "seeds", *metrics], rows)


def _share_cell(row: pd.Series, name: str) -> str:
    value, low, high, n = _iv(row, name)
    if not n:
        return "—"
    return _cell(value, low, high) + f" ({round(value * n)}/{int(n)})"


def _dynamics_table(board: Board, dynamics: pd.DataFrame) -> list[str]:
    rows = []
    for _, r in dynamics.iterrows():
        seeds = seeds_of(board, r["method"])
        median = r["recovery"]
        recovery = "not reached" if median == np.inf else _cell(median, np.nan, np.nan, digits=0)
        rows.append(
            [
                r["method"],
                str(seeds),
                _cell(*_iv(r, "plateau"), digits=0, stated=seeds),
                _share_cell(r, "secondary_plateau"),
                _cell(*_iv(r, "n_steepest_rise"), stated=seeds),
                recovery,
                _share_cell(r, "recovered"),
            ]
        )
    return _table(["method", "seeds", *DYNAMICS.values()], rows)


def _summary_table(board: Board, summary: pd.DataFrame) -> list[str]:
    names = ["start", "end", "gain", "auc", "forward_transfer", "forgetting"]
    heads = ["start", "end", "gain", "AUC", "forward transfer", "forgetting"]
    rows = []
    for _, r in summary.iterrows():
        seeds = seeds_of(board, r["method"])
        rows.append([r["method"], str(seeds), *(_cell(*_iv(r, n), stated=seeds) for n in names)])
    return _table(["method", "seeds", *heads], rows)


def markdown(board: Board, per_phase: pd.DataFrame, summary: pd.DataFrame, note: str, unfinished: int) -> str:
    w = f"{board.window:.0%}"
    seeds = sorted(board.scores["seed"].unique())
    lines = [
        f"## {board.title}",
        "",
        note,
        "",
        f"Runs: {board.scores.groupby('method')['seed'].nunique().sum()} finished (seeds {', '.join(map(str, seeds))})"
        + (f"; {unfinished} not finished, left out" if unfinished else "")
        + ".",
        f"Scores: {board.normalisation}. End of phase = the mean return of all training episodes ending in the "
        f"phase's last {w} of steps; start = episodes beginning in its first {w}. Cells: mean [95 % CI]; (n=k): "
        "the cell rests on k seeds, not its row's; no interval from one seed; missing: no episode ended there.",
        "",
        *(f"- {n}" for n in board.notes),
        *([""] if board.notes else []),
    ]
    if not board.aggregates.empty:
        relative = board.kind == "" and "reset" in board.methods
        lines += [
            "### Aggregate over phases",
            "",
            f"Normalised end-of-phase scores, one column per phase; 95 % stratified bootstrap intervals "
            f"({board.reps:,} resamples), expanded for small samples (metrics/aggregate.py)"
            + ("; the reset normaliser is resampled with the scores" if relative else "")
            + ". P(> X): probability that a run of the method beats a run of X on a phase."
            + (f" Left out (no episode ended): {', '.join(board.dropped)}." if board.dropped else ""),
            "",
            *_aggregate_table(board),
            "",
        ]
    else:
        lines += [
            "No aggregate: "
            + ("scores are not normalised." if not board.normalised else "no phase where every run has an end score."),
            "",
        ]
    if "reset" in board.methods:
        others = [m for m in board.methods if m != "reset"]
        lines += [
            "### Plasticity gap against reset, per phase",
            "",
            "Method − reset on the phase's end score, paired by seed (paired seeds: the seeds both ran); 95 % "
            "Student-t intervals over seeds. An interval above 0: the method ends the phase better than a fresh "
            "network. phases 2+: per seed the mean gap over every phase after the first, then the interval over "
            "seeds.",
            "",
            *_per_phase(per_phase, board, "gap_vs_reset", others, "paired seeds", _later_gap_cells(summary)),
            "",
        ]
    lines += [
        "### End-of-phase score, per phase",
        "",
        *_per_phase(per_phase, board, "end", board.methods, "seeds"),
        "",
        "### Within phases and across revisits",
        "",
        "Averaged per seed over phases, then a t interval over seeds. gain = end − start; AUC = mean of the "
        "learning curve; forward transfer = AUC − reset's AUC (Continual World, without its division by "
        "1 − AUC; paired seeds); forgetting = previous visit's end − this visit's start (revisits only).",
        "",
        *_summary_table(board, summary),
        "",
        "### Training dynamics after a switch",
        "",
        "Phases after the first, from each run's learning curve (smoothed over 3 bins; metrics/dynamics.py, after "
        "Chen, Luo & Wang, arXiv 2410.20119): steps before the return starts to rise (per seed, then a t interval "
        "clipped to the phase); the share of phases with a second plateau between two rises; the steepest rise "
        "(normalised score per 1,000 steps); and recovery: the median over phases of the steps until the curve "
        f"reaches {dyn.RECOVERY:.0%} of reset's mean end score on that phase, a phase that never got there counted "
        "as longer than any (not reached: half or more never did), beside the share that recovered. Shares: "
        "Wilson 95 % intervals with each phase a trial (phases of one seed are not independent: read them as "
        "lower bounds on the uncertainty).",
        "",
        *_dynamics_table(board, summary),
        "",
    ]
    return "\n".join(lines)


def compute(board: Board) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every statistic of the board: the per-phase table and the per-method summary (aggregates go on the board)."""
    per_phase = gaps(board)
    aggregates(board)
    return per_phase, continual_summary(board).merge(dynamics_summary(board), on="method")


def write(board: Board, per_phase: pd.DataFrame, text: str, folder: Path) -> None:
    """Write the Markdown ``text`` and the CSV tables into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "leaderboard.md").write_text(text, encoding="utf-8")
    per_phase.to_csv(folder / "leaderboard.csv", index=False)
    board.aggregates.to_csv(folder / "aggregates.csv", index=False)
    board.scores.to_csv(folder / "scores.csv", index=False)
