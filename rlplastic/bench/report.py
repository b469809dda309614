"""``python -m rlplastic.bench table|plot --out DIR``: rebuild leaderboards from every run folder under DIR.

The main command calls ``build`` too, so a leaderboard always covers every seed and method ever run into its
experiment folder, not only the last command's. Imports no torch and no agents (a test checks it).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

from rlplastic.bench import leaderboard, plots
from rlplastic.bench.errors import Parser, UsageError
from rlplastic.bench.results import Run, by_experiment, find_runs
from rlplastic.metrics.aggregate import REPS
from rlplastic.metrics.visits import WINDOW_FRACTION

PROG = "python -m rlplastic.bench"
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


def build_group(runs: list[Run], unfinished: int, options: Options) -> tuple[str, list[Path]]:
    """The leaderboard of one experiment folder: its Markdown and the files written there."""
    group = runs[0].group
    board = leaderboard.collect(runs, _title(runs[0]), options.window, options.reps)
    per_phase, summary = leaderboard.compute(board)
    note = options.note or (SMOKE if runs[0].config["budget"] == "smoke" else "")
    note = (note + "\n" if note else "") + f"Rebuild: `{PROG} table --out {group.parent.parent}`."
    text = leaderboard.markdown(board, per_phase, summary, note, unfinished)
    written = []
    if options.tables:
        leaderboard.write(board, per_phase, text, group)
        written += [group / name for name in leaderboard.FILES]
    if options.figures:
        written += plots.write(board, per_phase, group)
    return text, written


def build(out: Path, options: Options = Options(), only: set[Path] | None = None) -> list[tuple[str, list[Path]]]:
    """Leaderboards of every experiment folder under ``out`` (or of the folders in ``only``)."""
    finished, unfinished = find_runs(out)
    out_of = {}
    for folder in unfinished:
        out_of[folder.parent.parent] = out_of.get(folder.parent.parent, 0) + 1
    groups = by_experiment(finished)
    if only is not None:
        wanted = {folder.resolve() for folder in only}
        groups = {g: r for g, r in groups.items() if g.resolve() in wanted}
    return [build_group(runs, out_of.get(group, 0), options) for group, runs in sorted(groups.items())]


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
    return p


def main(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
        if not (math.isfinite(args.window) and 0 < args.window <= 1):
            raise UsageError(f"--window must be a fraction in (0, 1], not {args.window}")
        if args.reps < 100:
            raise UsageError(f"--reps must be at least 100, not {args.reps}")
        what = Options(window=args.window, reps=args.reps, tables=args.what == "table", figures=args.what == "plot")
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
