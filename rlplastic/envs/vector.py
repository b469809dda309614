"""The vector-environment interface every task adapter offers the agents."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from rlplastic.envs.episodes import Episode


class VectorEnv(Protocol):
    """A batch of copies of one task with a fixed observation shape and action count.

    All tasks of one schedule share ``obs_shape`` and ``num_actions`` so a single network serves them all.
    Episodes reset automatically in the step that ends them (the returned observation is the new
    episode's first one).
    """

    num_envs: int
    obs_shape: tuple[int, ...]
    num_actions: int

    def reset(self) -> np.ndarray: ...

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Episode]]:
        """Return (observations, raw rewards, done flags, finished episodes)."""
        ...

    def close(self) -> None: ...
