"""Synthetic run folders: what a finished run leaves on disk (config.json, episodes.csv, DONE), without training.

For the reader side's tests and benchmarks (``table``/``plot`` read folders only): a run's learning curve in each
phase is a line from ``level`` rising by ``rise`` over the phase, plus normal noise, so a test knows the answer
(a method that never reaches reset's score, two configurations of one method, seeds missing from one method).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def config(method: str, seed: int, tasks: Sequence[str], steps: int, cycles: int, **extra: Any) -> dict[str, Any]:
    """A run's config.json as the harness writes it (the fields the reader needs), with ``extra`` on top."""
    return {
        "suite": "suite",
        "suite_sha256": "0",
        "budget": "short",
        "env": "minatar",
        "agent": "ppo",
        "preset": "",
        "tasks": list(tasks),
        "steps_per_phase": steps,
        "cycles": cycles,
        "env_options": {},
        "agent_options": {},
        "scores": "",
        "variants": {},
        "diagnostics": {},
        "version": "synthetic",
        "method": method,
        "method_options": {method: {}},
        "method_tag": "",
        "seed": seed,
    } | extra


def write_run(
    out: Path,
    method: str,
    seed: int,
    levels: Sequence[float],
    tasks: Sequence[str] = ("A", "B"),
    steps: int = 100_000,
    episodes: int = 200,
    rise: float = 5.0,
    noise: float = 2.0,
    folder: str | None = None,
    **extra: Any,
) -> Path:
    """One finished run of ``len(levels)`` phases (whole cycles of ``tasks``) into ``out/suite/ppo-short/`` under
    ``folder`` (default: the method's name); phase p's returns rise from ``levels[p]`` by ``rise``. The random
    numbers follow ``seed`` and the method's name, so a run is the same every time it is written."""
    phases = len(levels)
    run = out / "suite" / "ppo-short" / (folder or method) / f"seed_{seed}"
    run.mkdir(parents=True)
    settings = config(method, seed, tasks, steps, phases // len(tasks), **extra)
    (run / "config.json").write_text(json.dumps(settings))
    rng = np.random.default_rng([seed, *method.encode()])
    ends = np.concatenate([np.sort(rng.integers(p * steps + 1, (p + 1) * steps + 1, episodes)) for p in range(phases)])
    phase = (ends - 1) // steps
    progress = (ends - phase * steps) / steps
    returns = np.asarray(levels)[phase] + rise * progress + rng.normal(0, noise, len(ends))
    rows = ["phase,task,step,start,return,length"]
    rows += [
        f"{p},{tasks[p % len(tasks)]},{e},{max(e - 80, p * steps)},{r:.3f},10"
        for p, e, r in zip(phase, ends, returns, strict=True)
    ]
    (run / "episodes.csv").write_text("\n".join(rows) + "\n")
    (run / "DONE").write_text("{}")
    return run
