"""Episode bookkeeping shared by every vector-environment adapter."""

from __future__ import annotations

import numpy as np

from rlplastic.envs.spec import Episode


class EpisodeTracker:
    """Accumulates raw rewards per environment and emits episodes as they finish.

    Kept apart from the adapters so Atari and MinAtar report returns the same way: the raw game score,
    before any reward clipping the learner applies.
    """

    def __init__(self, num_envs: int) -> None:
        self._returns = np.zeros(num_envs, dtype=np.float64)
        self._lengths = np.zeros(num_envs, dtype=np.int64)

    def update(self, rewards: np.ndarray, dones: np.ndarray) -> list[Episode]:
        self._returns += rewards
        self._lengths += 1
        finished = [Episode(float(self._returns[i]), int(self._lengths[i])) for i in np.flatnonzero(dones)]
        self._returns[dones] = 0.0
        self._lengths[dones] = 0
        return finished
