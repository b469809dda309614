"""A gymnasium view of a dm_control task for stable-baselines3 (benchmarks only): the same flattened state
observation and action box as ``rlplastic.envs.dmc``, the 1,000-step time limit reported as a truncation."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rlplastic.envs.dmc import DMCVector


class DMCGym(gym.Env):
    def __init__(self, task: str, seed: int = 0) -> None:
        self._vec = DMCVector(task, 1, np.array([seed]))
        low, high = (np.array(b, dtype=np.float32) for b in (self._vec.action_spec.low, self._vec.action_spec.high))
        self.action_space = gym.spaces.Box(low, high, dtype=np.float32)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, self._vec.obs_shape, dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return self._vec.reset()[0], {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        r = self._vec.step(np.asarray(action, dtype=np.float64)[None])
        obs = r.final_obs[0] if r.done[0] else r.obs[0]  # SB3's own wrappers reset the episode after it ends
        if r.done[0]:
            self._vec.reset()
        return obs, float(r.reward[0]), bool(r.terminated[0]), bool(r.truncated[0]), {}
