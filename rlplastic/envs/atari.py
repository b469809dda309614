"""Atari 2600 games through ale-py's native, multi-threaded vector environment.

Protocol choices (Machado et al. 2018, arXiv 1709.06009, unless said):
- full 18-action set, so every game of a sequence shares one policy head;
- 84x84 grey frames, max-pooled over the last two of 4 skipped frames, stack of 4;
- sticky actions with p = 0.25 (the stochasticity Machado et al. recommend, gymnasium's ``-v5`` default);
- no life-loss signal: an episode is a whole game, as in Machado et al. and continual-RL work;
- up to 30 no-op starts and a 108k-frame cap, the protocol of the human reference scores;
- rewards are returned raw: the learner clips them for training, episode returns are raw game scores.
"""

from __future__ import annotations

import re

import numpy as np

from rlplastic.envs.episodes import Episode, EpisodeTracker

FULL_ACTION_COUNT = 18


def rom_id(game: str) -> str:
    """ale-py's ROM name for a CamelCase game name: ``SpaceInvaders`` -> ``space_invaders``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", game).lower()


class AtariVector:
    """One Atari game, ``num_envs`` copies stepped in C++ threads."""

    def __init__(
        self,
        game: str,
        num_envs: int,
        seed: int,
        repeat_action_probability: float = 0.25,
        noop_max: int = 30,
        num_threads: int = 0,
    ) -> None:
        from ale_py import AtariVectorEnv

        self.num_envs = num_envs
        self.num_actions = FULL_ACTION_COUNT
        self.obs_shape = (4, 84, 84)
        self._seed = seed
        self._env = AtariVectorEnv(
            rom_id(game),
            num_envs,
            full_action_space=True,
            repeat_action_probability=repeat_action_probability,
            noop_max=noop_max,
            episodic_life=False,
            reward_clipping=False,
            use_fire_reset=False,
            autoreset_mode="SameStep",
            num_threads=num_threads,
        )
        self._tracker = EpisodeTracker(num_envs)

    def reset(self) -> np.ndarray:
        obs, _ = self._env.reset(seed=self._seed)
        return obs

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Episode]]:
        obs, rewards, terminated, truncated, _ = self._env.step(actions)
        dones = np.logical_or(terminated, truncated)
        rewards = rewards.astype(np.float32)
        return obs, rewards, dones, self._tracker.update(rewards, dones)

    def close(self) -> None:
        self._env.close()
