"""The env contract: what an environment adapter offers an agent, in one file that imports nothing of the agents.

- ``VectorEnv``: ``num_envs`` copies of one task; ``StepResult`` keeps termination and truncation apart and
  carries the final observation, which off-policy agents and time-limited tasks need.
- ``ActionSpec``: discrete ``n`` actions or a continuous box; ``EnvSpec``: what an agent builds its networks
  and buffers from; ``Episode``: one finished episode.
Agents depend on this module; nothing under ``rlplastic/envs`` imports an agent (a test checks it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Episode:
    """One finished episode: its undiscounted raw-score return and its length in agent steps."""

    ret: float
    length: int


@dataclass(frozen=True)
class ActionSpec:
    """Discrete actions (``n`` > 0) or a continuous box: one (low, high) bound per action dimension."""

    n: int = 0
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()

    @property
    def discrete(self) -> bool:
        return self.n > 0

    @property
    def dim(self) -> int:
        """Action dimensions of a continuous box (0 for discrete actions)."""
        return len(self.low)

    @property
    def kind(self) -> str:
        """``discrete`` or ``continuous``: the names an agent's ``ACTION_KINDS`` use."""
        return "discrete" if self.discrete else "continuous"


@dataclass
class StepResult:
    """One vector step. ``obs`` already holds the next episode's first observation where an episode ended;
    ``final_obs[i]`` is the last observation of the episode that ended in env i (zeros elsewhere)."""

    obs: np.ndarray
    reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    final_obs: np.ndarray
    episodes: list[Episode] = field(default_factory=list)

    @property
    def done(self) -> np.ndarray:
        return np.logical_or(self.terminated, self.truncated)


@dataclass(frozen=True)
class EnvSpec:
    """What an agent needs to know of a schedule's environments to build its networks and buffers."""

    obs_shape: tuple[int, ...]
    action_spec: ActionSpec
    frame_stack: int = 1
    obs_dtype: str = "uint8"


class VectorEnv(Protocol):
    """``num_envs`` copies of one task. Every task of a schedule shares ``obs_shape`` and ``action_spec`` so one
    network serves them all. ``frame_stack`` > 1 says ``obs[:, k]`` are the last k frames, oldest first, with
    zero frames before an episode's start (replay buffers then store each frame once). ``obs_dtype`` is
    ``uint8`` for pixels and game maps, ``float32`` for proprioceptive states."""

    num_envs: int
    obs_shape: tuple[int, ...]
    action_spec: ActionSpec
    frame_stack: int
    obs_dtype: str

    def reset(self) -> np.ndarray: ...

    def step(self, actions: np.ndarray) -> StepResult: ...

    def close(self) -> None: ...


def env_spec(env: VectorEnv) -> EnvSpec:
    return EnvSpec(tuple(env.obs_shape), env.action_spec, env.frame_stack, env.obs_dtype)


def spaces_mismatch(spec: EnvSpec, first: EnvSpec, task: str, first_task: str) -> str:
    """Why ``task``'s environments cannot be trained by the one network built for ``first_task``'s ("" if they
    can): planning asks before any run, the runner again at every phase (a run planned elsewhere)."""
    if spec == first:
        return ""
    return (
        f"task {task} has observations {spec.obs_shape} and actions {spec.action_spec}, but {first_task} has "
        f"{first.obs_shape} and {first.action_spec}: a suite's tasks must share observation and action spaces "
        "(one body per dm_control suite)"
    )
