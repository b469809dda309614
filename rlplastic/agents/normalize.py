"""Running normalisation of observations and rewards, as gymnasium's ``NormalizeObservation`` and
``NormalizeReward`` wrappers do for CleanRL's continuous-action PPO, kept inside the agent so that their
statistics are checkpointed with it and a probe of an incoming task can use them without changing them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


class RunningMeanStd:
    """Mean and variance of a stream of batches (Chan et al.'s parallel update; count starts at 1e-4)."""

    def __init__(self, shape: tuple[int, ...] = ()) -> None:
        self.mean = np.zeros(shape, dtype=np.float64)
        self.var = np.ones(shape, dtype=np.float64)
        self.count = 1e-4

    def update(self, batch: np.ndarray) -> None:
        mean, var, n = batch.mean(axis=0), batch.var(axis=0), batch.shape[0]
        delta, total = mean - self.mean, self.count + n
        self.mean = self.mean + delta * n / total
        m2 = self.var * self.count + var * n + delta**2 * self.count * n / total
        self.var, self.count = m2 / total, total

    def state_dict(self) -> dict[str, Any]:
        return {"mean": torch.tensor(self.mean), "var": torch.tensor(self.var), "count": float(self.count)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mean, self.var, self.count = state["mean"].numpy(), state["var"].numpy(), state["count"]


class ObsNormalizer:
    """(obs - mean) / sqrt(var + 1e-8), clipped to [-clip, clip]; statistics over every observation seen."""

    def __init__(self, shape: tuple[int, ...], clip: float) -> None:
        self.rms, self.clip = RunningMeanStd(shape), clip

    def __call__(self, obs: np.ndarray, update: bool) -> np.ndarray:
        if update:
            self.rms.update(obs)
        out = (obs - self.rms.mean) / np.sqrt(self.rms.var + 1e-8)
        return np.clip(out, -self.clip, self.clip).astype(np.float32)


class RewardScaler:
    """reward / sqrt(var of the discounted return + 1e-8), clipped to [-clip, clip]; the running return of each
    env restarts after a termination (gymnasium 1.x ``NormalizeReward``)."""

    def __init__(self, num_envs: int, gamma: float, clip: float) -> None:
        self.rms, self.gamma, self.clip = RunningMeanStd(), gamma, clip
        self.returns = np.zeros(num_envs)

    def __call__(self, reward: np.ndarray, terminated: np.ndarray, update: bool) -> np.ndarray:
        if update:
            self.returns = self.returns * self.gamma * (1 - terminated) + reward
            self.rms.update(self.returns)
        return np.clip(reward / np.sqrt(self.rms.var + 1e-8), -self.clip, self.clip).astype(np.float32)

    def state_dict(self) -> dict[str, Any]:
        return {"rms": self.rms.state_dict(), "returns": torch.from_numpy(self.returns.copy())}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rms.load_state_dict(state["rms"])
        self.returns = state["returns"].numpy().copy()
