"""Environment seeds that never repeat within a run or across runs of different seeds.

ale-py seeds the envs of a vector env with consecutive integers, so seeds of the form ``seed*1000 + phase``
made env i+3 of phase p replay env i of phase p+3. Here every (run seed, phase, stream, env) gets its own
integer from a mixed-radix layout, so two envs share a seed only if all four coordinates are equal.
"""

from __future__ import annotations

import numpy as np

MAX_SEEDS = 1000
MAX_PHASES = 1000
MAX_ENVS = 1000
STREAMS = ("train", "probe")  # probe: the no-learning rollouts of methods that look at a new task first


def check_limits(seed: int, phases: int, num_envs: int) -> str | None:
    """Why these values do not fit the seed layout, or None if they do."""
    if not 0 <= seed < MAX_SEEDS:
        return f"seed {seed} is outside 0..{MAX_SEEDS - 1}; use --first-seed and --seeds within that range"
    if phases > MAX_PHASES:
        return f"{phases} phases exceed {MAX_PHASES}; use fewer tasks or cycles"
    if num_envs > MAX_ENVS:
        return f"agent.num_envs={num_envs} exceeds {MAX_ENVS}"
    return None


def env_seeds(seed: int, phase: int, num_envs: int, stream: str = "train") -> np.ndarray:
    """One seed per env of ``phase`` of run ``seed``: disjoint across phases, cycles, streams and run seeds."""
    problem = check_limits(seed, phase + 1, num_envs)
    if problem:
        raise ValueError(problem)
    base = ((seed * MAX_PHASES + phase) * len(STREAMS) + STREAMS.index(stream)) * MAX_ENVS
    return np.arange(base, base + num_envs, dtype=np.int64)
