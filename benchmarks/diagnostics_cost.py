"""What the plasticity diagnostics cost: one run with diagnostics at the default cadence and the same run with
them off, alternating, in one process; prints the wall-time ratio (target: at most 1.03).

    python benchmarks/diagnostics_cost.py [--suite minatar] [--agent ppo] [--steps 100000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from rlplastic.run import runner
from rlplastic.run.plan import plan

TASKS = {"minatar": ["Breakout", "Asterix"], "atari": ["Pong", "Breakout"], "walker": ["walker-stand", "walker-walk"]}


def timed_run(suite: str, agent: str, steps: int, enabled: bool) -> tuple[float, int]:
    overrides = {
        "budget.steps_per_phase": steps,
        "budget.cycles": 1,
        "suite.tasks": TASKS[suite],
        "diagnostics.enabled": enabled,
    }
    (config,) = plan(suite, ["fire"], [0], "smoke", overrides, agent=agent)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        runner.run(config, Path(out))
        seconds = time.perf_counter() - start
        rows = (Path(out) / config.relative_dir() / "diagnostics.csv").read_text().count("\n") - 1
    return seconds, rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", default="minatar", choices=sorted(TASKS))
    p.add_argument("--agent", default="ppo")
    p.add_argument("--steps", type=int, default=100_000, help="agent steps per phase (two phases)")
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()
    on, off, rows = [], [], 0
    for _ in range(args.repeats):
        seconds, rows = timed_run(args.suite, args.agent, args.steps, True)
        on.append(seconds)
        off.append(timed_run(args.suite, args.agent, args.steps, False)[0])
    with_, without = statistics.median(on), statistics.median(off)
    print(f"{args.suite} / {args.agent}, 2 phases x {args.steps:,} steps, default cadence ({rows} diagnostic rows):")
    print(f"  with diagnostics {with_:.1f} s, without {without:.1f} s (medians of {args.repeats})")
    print(f"  ratio {with_ / without:.3f} (target <= 1.03)")


if __name__ == "__main__":
    main()
