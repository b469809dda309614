"""How long the leaderboard takes on a large experiment: 12 methods x 10 seeds x 10 phases, from folders.

Writes synthetic run folders (config.json, episodes.csv with 200 episodes per phase, DONE) into a temporary
folder, then times ``table`` (every statistic, 10,000 bootstrap resamples) and ``plot`` through the same code the
CLI runs. Where rliable is importable (the ``rliable-check`` extra, its own environment) it also times rliable's
IQM interval on one method's matrix and prints the ratio against ours on the same matrix.

    python benchmarks/leaderboard_speed.py [--methods 12] [--seeds 10] [--phases 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from rlplastic.metrics import aggregate
from rlplastic.report import commands as report
from rlplastic.report.synthetic import write_run


def write_runs(out: Path, methods: int, seeds: int, phases: int) -> None:
    names = ["none", "reset", *(f"method{i}" for i in range(methods - 2))]
    for m, method in enumerate(names):
        for seed in range(seeds):
            write_run(out, method, seed, [10 + m * 0.1] * phases)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", type=int, default=12)
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--phases", type=int, default=10)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        write_runs(out, args.methods, args.seeds, args.phases)
        table = timed(lambda: report.build(out, report.Options(figures=False)))
        plot = timed(lambda: report.build(out, report.Options(tables=False)))
    print(f"{args.methods} methods x {args.seeds} seeds x {args.phases} phases, {aggregate.REPS:,} resamples:")
    print(f"  table (read, score, every statistic, write): {table:.1f} s")
    print(f"  plot (the same, plus four figures):          {plot:.1f} s")
    scores = np.random.default_rng(0).normal(1, 0.3, (args.seeds, args.phases))
    ours = timed(lambda: aggregate.interval(scores, aggregate.iqm, aggregate.REPS))
    try:
        from rliable import library as rly
        from rliable import metrics
    except ImportError:
        print(f"  one IQM interval: ours {ours:.3f} s (rliable not installed: run in .venv-rliable for the ratio)")
        return
    theirs = timed(lambda: rly.get_interval_estimates({"m": scores}, metrics.aggregate_iqm, reps=aggregate.REPS))
    print(f"  one IQM interval: ours {ours:.3f} s, rliable {theirs:.1f} s: {theirs / ours:.0f}x faster")


if __name__ == "__main__":
    main()
