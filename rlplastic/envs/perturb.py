"""Perturbations a suite can give any phase: permuted observations, permuted actions, scaled rewards.

Each permutation is fixed by its own seed (written in the suite's variant and in the run's ``config.json``),
so a variant is the same task in every run and every phase that names it; two variants with different seeds
are different tasks (the permuted-input protocols of Dohare et al. 2024, arXiv 2306.13812).
- ``permute_obs``: a flat observation has its features permuted; an image (channels, height, width) or a stack
  of frames has its pixel positions permuted, the same permutation in every channel and frame (so a frame
  stack stays a stack and a replay buffer still stores each frame once).
- ``permute_actions``: discrete action i does what action perm[i] did; continuous action dimension j drives
  the actuator perm[j].
- ``reward_scale``: the learner's reward is multiplied by it; episode returns stay in the task's raw score so
  results remain comparable across variants.
- ``random_reward``: the learner's reward is replaced by a fixed random function of the observation reached,
  tanh(w · x / sqrt(D)) with w ~ N(0, 1) drawn from the seed (D: observation size), in (−1, 1): training on it
  is pre-training on random targets (Lyle et al., arXiv 2204.09560) for a warm-start protocol. Episode returns
  stay the game's raw score.
A seed of -1 means no permutation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlplastic.envs.spec import StepResult, VectorEnv

NONE = -1


@dataclass(frozen=True)
class Perturbation:
    permute_obs: int = NONE
    permute_actions: int = NONE
    reward_scale: float = 1.0
    random_reward: int = NONE
    permute_entries: int = NONE

    def __post_init__(self) -> None:
        if self.permute_obs != NONE and self.permute_entries != NONE:
            raise ValueError("permute_obs and permute_entries both permute the observation: set only one")

    @property
    def identity(self) -> bool:
        seeds = (self.permute_obs, self.permute_actions, self.random_reward, self.permute_entries)
        unchanged = all(seed == NONE for seed in seeds)
        return unchanged and self.reward_scale == 1.0


def permutation(seed: int, size: int) -> np.ndarray:
    """The fixed permutation of ``size`` items that ``seed`` names."""
    return np.random.default_rng([seed, size]).permutation(size)


class PerturbedEnv:
    """A vector env seen through a ``Perturbation``; everything else is the wrapped env's."""

    def __init__(self, env: VectorEnv, perturbation: Perturbation) -> None:
        self.env = env
        self.num_envs, self.obs_shape, self.frame_stack = env.num_envs, env.obs_shape, env.frame_stack
        self.action_spec, self.obs_dtype = env.action_spec, env.obs_dtype
        self.scale = perturbation.reward_scale
        self._obs_perm, self._frame_shape = None, tuple(env.obs_shape[-2:])
        if perturbation.permute_entries != NONE:
            self._frame_shape = tuple(env.obs_shape[1:] if env.frame_stack > 1 else env.obs_shape)
            self._obs_perm = permutation(perturbation.permute_entries, int(np.prod(self._frame_shape)))
        elif perturbation.permute_obs != NONE:
            size = int(np.prod(env.obs_shape[-2:])) if len(env.obs_shape) >= 2 else env.obs_shape[0]
            self._obs_perm = permutation(perturbation.permute_obs, size)
        self._reward_weights = None
        if perturbation.random_reward != NONE:
            size = int(np.prod(env.obs_shape))
            self._reward_weights = np.random.default_rng([perturbation.random_reward, size]).standard_normal(size)
        self._action_perm = None
        if perturbation.permute_actions != NONE:
            size = env.action_spec.n or env.action_spec.dim
            self._action_perm = permutation(perturbation.permute_actions, size)

    def observe(self, obs: np.ndarray) -> np.ndarray:
        if self._obs_perm is None:
            return obs
        if len(self.obs_shape) == 1:
            return obs[:, self._obs_perm]
        lead = obs.shape[: obs.ndim - len(self._frame_shape)]
        flat = obs.reshape(*lead, -1)
        return flat[..., self._obs_perm].reshape(obs.shape)

    def act(self, actions: np.ndarray) -> np.ndarray:
        if self._action_perm is None:
            return actions
        if self.action_spec.discrete:
            return self._action_perm[actions]
        out = np.empty_like(actions)
        out[:, self._action_perm] = actions  # the agent's dimension j drives actuator perm[j]
        return out

    def reset(self) -> np.ndarray:
        return self.observe(self.env.reset())

    def reward(self, r: StepResult) -> np.ndarray:
        """The learner's reward: the game's, scaled, or the random function of the observation reached."""
        if self._reward_weights is None:
            return (r.reward * self.scale).astype(np.float32)
        reached = np.where(r.done.reshape(-1, *[1] * (r.obs.ndim - 1)), r.final_obs, r.obs)
        x = reached.reshape(len(reached), -1).astype(np.float64)
        return (np.tanh(x @ self._reward_weights / np.sqrt(x.shape[1])) * self.scale).astype(np.float32)

    def step(self, actions: np.ndarray) -> StepResult:
        r = self.env.step(self.act(actions))
        reward = self.reward(r)
        return StepResult(self.observe(r.obs), reward, r.terminated, r.truncated, self.observe(r.final_obs), r.episodes)

    def close(self) -> None:
        self.env.close()
