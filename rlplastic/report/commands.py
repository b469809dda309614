"""``python -m rlplastic.bench table|plot --out DIR``: rebuild leaderboards from every run folder under DIR.

The main command calls ``build`` too, so a leaderboard always covers every seed and method ever run into its
experiment folder, not only the last command's. Imports no torch and no agents (a test checks it).
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rlplastic.envs.schedule import Phase
from rlplastic.errors import Parser, UsageError
from rlplastic.metrics.aggregate import REPS
from rlplastic.metrics.scores import describe
from rlplastic.metrics.visits import WINDOW_FRACTION
from rlplastic.report import leaderboard, plots, select
from rlplastic.report.results import Run, by_experiment, find_runs

PROG = "python -m rlplastic.bench"
SELECTED = "selected"
"""The folder, inside an experiment folder, of its board of configurations selected on tuning seeds."""
SMOKE = "NOTE: smoke budget: these numbers check that everything runs; they are NOT research results."


def _title(run: Run) -> str:
    c = run.config
    parts = [c["suite"], c["agent"], c["budget"], c["preset"]]
    schedule = f"{c['cycles']} x {len(c['tasks'])} phases of {c['steps_per_phase']:,} steps"
    return " / ".join(p for p in parts if p) + f" ({schedule})"


@dataclass(frozen=True)
class Options:
    """What to build and how: the note under the title, the score window (a fraction of a phase), bootstrap
    resamples, and whether to write the tables and the figures."""

    note: str = ""
    window: float = WINDOW_FRACTION
    reps: int = REPS
    tables: bool = True
    figures: bool = True
    select: select.Protocol | None = None
    """Choose each method's configuration on tuning seeds and report the evaluation seeds (``select.py``)."""


@dataclass(frozen=True)
class Built:
    """One experiment folder's leaderboard, computed and not yet written."""

    group: Path
    board: leaderboard.Board
    per_phase: pd.DataFrame
    text: str
    selection: pd.DataFrame | None = None
    """Every configuration's tuning score, for a selected board (``SELECTED`` folder)."""


def compute_group(runs: list[Run], unfinished: int, options: Options) -> Built:
    """The leaderboard of one experiment folder, computed from its runs (every record read and checked); with
    ``options.select``, that of the configurations chosen on the tuning seeds, on the evaluation seeds alone."""
    group, title, selection = runs[0].group, _title(runs[0]), None
    note = options.note or (SMOKE if runs[0].config["budget"] == "smoke" else "")
    rebuild = f"Rebuild: `{PROG} table --out {group.parent.parent}`."
    if options.select:
        protocol = options.select
        choices, selection = select.choose(runs, protocol, options.window)
        left_out = {r.seed for r in runs} - set(protocol.tune) - set(protocol.evaluate)
        note = "\n".join([*([note] if note else []), *select.markdown(choices, protocol, left_out), ""])
        rebuild = f"Rebuild: `{PROG} table --out {group.parent.parent} {_select_flags(protocol)}`."
        runs, group, title = select.evaluation_runs(runs, choices, protocol), group / SELECTED, title + " - selected"
    board = leaderboard.collect(runs, title, options.window, options.reps)
    per_phase, summary = leaderboard.compute(board)
    note = (note + "\n" if note else "") + rebuild
    text = leaderboard.markdown(board, per_phase, summary, note, unfinished)
    return Built(group, board, per_phase, text, selection)


def _select_flags(protocol: select.Protocol) -> str:
    flags = f"--select best --tune-seeds {select.format_seeds(protocol.tune)}"
    flags += f" --eval-seeds {select.format_seeds(protocol.evaluate)}"
    return flags + " --allow-unequal-tuning" * protocol.unequal + " --allow-one-tuning-seed" * protocol.one_seed


def write_group(built: Built, options: Options) -> list[Path]:
    """Write one computed leaderboard's tables and/or figures; the paths written."""
    written = []
    built.group.mkdir(exist_ok=True)  # a selected board's own folder inside its experiment folder
    if options.tables:
        leaderboard.write(built.board, built.per_phase, built.text, built.group)
        written += [built.group / name for name in leaderboard.FILES]
        if built.selection is not None:
            built.selection.to_csv(built.group / "selection.csv", index=False)
            written.append(built.group / "selection.csv")
    if options.figures:
        written += plots.write(built.board, built.per_phase, built.group)
        if built.selection is not None and plots.plot_sensitivity(built.selection, built.group / "sensitivity.png"):
            written.append(built.group / "sensitivity.png")
    return written


def experiments(out: Path, only: set[Path] | None = None) -> tuple[dict[Path, list[Run]], dict[Path, int]]:
    """The finished runs of every experiment folder under ``out`` (or of those in ``only``), labelled and checked
    for agreement, and the number of unfinished runs per folder."""
    finished, unfinished = find_runs(out)
    out_of: dict[Path, int] = {}
    for folder in unfinished:
        out_of[folder.parent.parent] = out_of.get(folder.parent.parent, 0) + 1
    groups = by_experiment(finished)
    if only is not None:
        wanted = {folder.resolve() for folder in only}
        groups = {g: r for g, r in groups.items() if g.resolve() in wanted}
    return groups, out_of


def check(out: Path, only: set[Path]) -> None:
    """Read every finished run the training command will put on its boards, so damaged records are refused
    before anything trains, not after (the same checks ``table`` makes)."""
    if not out.is_dir():
        return
    groups, _ = experiments(out, only)
    for runs in groups.values():
        for run in runs:
            run.episodes()
            run.diagnostics()


def build(out: Path, options: Options = Options(), only: set[Path] | None = None) -> list[tuple[str, list[Path]]]:
    """Leaderboards of every experiment folder under ``out`` (or of the folders in ``only``). Every board is
    computed before any is written, so a damaged run anywhere leaves every file as it was."""
    groups, out_of = experiments(out, only)
    built = [compute_group(runs, out_of.get(group, 0), options) for group, runs in sorted(groups.items())]
    return [(b.text, write_group(b, options)) for b in built]


def build_parser() -> Parser:
    p = Parser(
        prog=f"{PROG} table|plot",
        description="Rebuild leaderboards from run folders alone (every finished run under --out, whichever "
        "command made it; no training, no torch). table writes leaderboard.md/.csv, aggregates.csv and "
        "scores.csv into each experiment folder and prints the Markdown; plot writes curves.png, gap.png, "
        "aggregates.png and profiles.png there.",
    )
    p.add_argument("what", choices=["table", "plot"], help="table: Markdown and CSV; plot: PNG figures")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("results"),
        help="the folder runs were written to (default "
        "results); every experiment folder <suite>/<agent>-<budget>... under it gets its leaderboard",
    )
    p.add_argument(
        "--window",
        type=float,
        default=WINDOW_FRACTION,
        help="end-of-phase (start-of-phase) window: "
        f"the fraction of a phase whose ending (beginning) episodes are averaged (default {WINDOW_FRACTION})",
    )
    p.add_argument("--reps", type=int, default=REPS, help=f"bootstrap resamples for the aggregates (default {REPS:,})")
    p.add_argument(
        "--select",
        choices=["best"],
        help="best: for each method, choose the configuration (of a --sweep) with the best tuning score on "
        "--tune-seeds, then compute every number on --eval-seeds alone; written to <experiment>/selected/ with "
        "selection.csv and sensitivity.png (the score: rlplastic/report/select.py)",
    )
    p.add_argument("--tune-seeds", metavar="SEEDS", help="with --select: the seeds that choose, e.g. 0-2")
    p.add_argument(
        "--eval-seeds", metavar="SEEDS", help="with --select: the seeds that report, disjoint from them, e.g. 3-7"
    )
    p.add_argument(
        "--allow-unequal-tuning",
        action="store_true",
        help="with --select: accept methods swept over different numbers of configurations (refused by default: "
        "more tries win by chance); the table shows the counts",
    )
    p.add_argument(
        "--allow-one-tuning-seed",
        action="store_true",
        help="with --select: accept a single tuning seed (refused by default: one run cannot tell a "
        "configuration from its noise); the table says so",
    )
    return p


def protocol(args) -> select.Protocol | None:
    """The selection protocol the flags ask for (None without --select); flags without --select are refused."""
    given = [f for f, v in (("--tune-seeds", args.tune_seeds), ("--eval-seeds", args.eval_seeds)) if v]
    given += [f for f, v in (("--allow-unequal-tuning", args.allow_unequal_tuning),) if v]
    given += [f for f, v in (("--allow-one-tuning-seed", args.allow_one_tuning_seed),) if v]
    if not args.select:
        if given:
            raise UsageError(f"{given[0]} needs --select best (it chooses configurations); add it or drop {given[0]}")
        return None
    missing = [f for f, v in (("--tune-seeds", args.tune_seeds), ("--eval-seeds", args.eval_seeds)) if not v]
    if missing:
        raise UsageError(f"--select best needs {missing[0]} (e.g. --tune-seeds 0-2 --eval-seeds 3-7)")
    return select.Protocol(
        select.parse_seeds(args.tune_seeds, "--tune-seeds"),
        select.parse_seeds(args.eval_seeds, "--eval-seeds"),
        args.allow_unequal_tuning,
        args.allow_one_tuning_seed,
    )


def main(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
        if not (math.isfinite(args.window) and 0 < args.window <= 1):
            raise UsageError(f"--window must be a fraction in (0, 1], not {args.window}")
        if args.reps < 100:
            raise UsageError(f"--reps must be at least 100, not {args.reps}")
        chosen = protocol(args)
        if chosen:
            chosen.check()
        tables, figures = args.what == "table", args.what == "plot"
        what = Options(window=args.window, reps=args.reps, tables=tables, figures=figures, select=chosen)
        boards = build(args.out, what)
        if not boards:
            raise UsageError(f"no finished run under --out {args.out}; train some with {PROG} --suite ... --out")
    except UsageError as err:
        print(f"{PROG} {argv[0] if argv else ''}: error: {err}", file=sys.stderr)
        return 2
    for text, written in boards:
        if args.what == "table":
            print(text)
        print("written: " + ", ".join(str(p) for p in written))
    return 0


def rebuild_from_scores(group: Path, note: str, reps: int = REPS) -> str:
    """Rebuild a committed leaderboard whose run folders are not kept, from its ``scores.csv`` (per run and phase,
    raw and normalised): every table and the gap, aggregate and profile plots. The learning curves and diagnostics
    plots need the runs' records and are left as they are. The schedule comes from the board's title line."""
    scores = pd.read_csv(group / "scores.csv")
    title = (group / "leaderboard.md").read_text(encoding="utf-8").splitlines()[0].removeprefix("## ")
    found = re.search(r"phases of ([\d,]+) steps", title)
    if found is None:
        raise UsageError(f"{group / 'leaderboard.md'}: no schedule in its title line {title!r}")
    steps = int(found[1].replace(",", ""))
    tasks = scores.drop_duplicates("phase").sort_values("phase")["task"]
    phases = [Phase(i, task, i * steps, steps) for i, task in enumerate(tasks)]
    if "recovered" not in scores:  # boards made before recovery was censored: NaN steps then meant "never"
        judged = (scores["phase"] > 0) & (scores["episodes"] > 0) & ("reset" in set(scores["method"]))
        scores["recovered"] = np.where(judged, np.isfinite(scores["recovery"]).astype(float), np.nan)
    methods = leaderboard.method_order(list(scores["method"]))
    board = leaderboard.Board(
        title, methods, scores, {}, np.array([]), phases, describe(""), True, WINDOW_FRACTION, reps
    )
    per_phase, summary = leaderboard.compute(board)
    text = leaderboard.markdown(board, per_phase, summary, note, 0)
    leaderboard.write(board, per_phase, text, group)
    plots.plot_gap(board, per_phase, group / "gap.png")
    plots.plot_aggregates(board, group / "aggregates.png")
    plots.plot_profiles(board, group / "profiles.png")
    return text
