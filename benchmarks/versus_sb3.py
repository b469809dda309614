"""The shared harness of the agents' speed benchmarks against stable-baselines3: each measurement in a fresh
process with 2 threads, implementations alternated over repeats, medians and ratios printed against a target."""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from multiprocessing import get_context
from typing import Any

import torch

from rlplastic.agents.precision import native_bf16

Measure = Callable[..., Any]


def _threads_then(func: Measure, *args: object) -> Any:
    torch.set_num_threads(2)
    return func(*args)


def measure(func: Measure, *args: object) -> Any:
    """One measurement in a fresh process (so allocator settings and warm caches never leak between them)."""
    with get_context("spawn").Pool(1) as pool:
        return pool.apply(_threads_then, (func, *args))


def precisions_to_measure(force_bf16: bool) -> list[str]:
    """fp32, and bf16 where this CPU runs it natively (or when asked): emulated bf16 is many times slower."""
    if force_bf16 or native_bf16():
        return ["fp32", "bf16"]
    print("bf16 not measured: this CPU has no native bf16 (emulated, many times slower); --bf16 measures it")
    return ["fp32"]


def compare(doc: str, label: str, target: float, ours: Measure, sb3: Measure, steps: int, warmup: int = 1000) -> None:
    """Parse the flags, measure rlplastic fp32 (and bf16 where native) and SB3 alternately, print the ratios."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--warmup", type=int, default=warmup, help="steps before the first update (not timed)")
    p.add_argument("--steps", type=int, default=steps, help="timed agent steps per measurement")
    p.add_argument("--repeats", type=int, default=2, help="alternating measurements per implementation (median)")
    p.add_argument("--bf16", action="store_true", help="measure bf16 autocast even where this CPU emulates it")
    args = p.parse_args()
    precisions = precisions_to_measure(args.bf16)
    runs = {x: (ours, (x,)) for x in precisions} | {"sb3": (sb3, ())}
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, (func, extra) in runs.items():
            rates[name].append(measure(func, args.warmup, args.steps, *extra))
        print("  run: " + ", ".join(f"{k} {v[-1]:.0f} steps/s" for k, v in rates.items()), flush=True)
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"{'rlplastic':22s} {'steps/s':>8s} {'SB3 steps/s':>12s} {'ratio':>6s} {'target':>7s}")
    for name in precisions:
        ratio = med[name] / med["sb3"]
        verdict = "met" if ratio >= target else "MISSED"
        print(f"{label + ' ' + name:22s} {med[name]:8.0f} {med['sb3']:12.0f} {ratio:6.2f} {target:6.1f}x {verdict}")
