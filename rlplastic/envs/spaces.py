"""Gymnasium spaces of our envs, for the interfaces other libraries read (``rlplastic.gym``, SB3's ``VecEnv``)."""

from __future__ import annotations

import gymnasium
import numpy as np

from rlplastic.envs.spec import ActionSpec

# The values each adapter's uint8 observations take: MinAtar's 0/1 game maps, Atari's grey pixels. Any other
# kind falls back on its dtype's range (dm_control's float32 states are unbounded).
OBS_RANGES = {"minatar": (0, 1), "atari": (0, 255)}


def observation_space(kind: str, shape: tuple[int, ...], dtype: str) -> gymnasium.spaces.Box:
    """One env's observations: the values adapter ``kind`` produces (its dtype's range if unknown), in its dtype."""
    by_dtype = (-np.inf, np.inf) if np.dtype(dtype).kind == "f" else (0, np.iinfo(dtype).max)
    low, high = OBS_RANGES.get(kind, by_dtype)
    return gymnasium.spaces.Box(low, high, shape, np.dtype(dtype))


def action_space(spec: ActionSpec) -> gymnasium.spaces.Space:
    """One env's actions: ``Discrete(n)`` or the continuous box of ``spec``."""
    if spec.discrete:
        return gymnasium.spaces.Discrete(spec.n)
    return gymnasium.spaces.Box(np.array(spec.low, np.float32), np.array(spec.high, np.float32), dtype=np.float32)
