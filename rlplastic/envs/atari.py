"""Atari 2600 games through ale-py's native, multi-threaded vector environment.

Protocol choices (Machado et al. 2018, arXiv 1709.06009, unless said):
- full 18-action set, so every game of a sequence shares one policy head;
- 84x84 grey frames, max-pooled over the last two of 4 skipped frames, stack of 4;
- sticky actions with p = 0.25 (the stochasticity Machado et al. recommend, gymnasium's ``-v5`` default);
- no life-loss signal: an episode is a whole game, as in Machado et al. and continual-RL work;
- up to 30 no-op starts and a 108k-frame cap, the protocol of the human reference scores;
- rewards are returned raw: the learner clips them for training, episode returns are raw game scores.
Termination (game over) and truncation (the frame cap) are reported apart, with the final observation.
"""

from __future__ import annotations

import re

import numpy as np

from rlplastic import checks
from rlplastic.envs.episodes import EpisodeTracker
from rlplastic.envs.spec import ActionSpec, StepResult

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
        seeds: np.ndarray,
        repeat_action_probability: float = 0.25,
        noop_max: int = 30,
        num_threads: int = 0,
        max_num_frames_per_episode: int = 108_000,
    ) -> None:
        from ale_py import AtariVectorEnv

        checks.probabilities("env", {"repeat_action_probability": repeat_action_probability})
        checks.counts("env", {"noop_max": noop_max, "num_threads": num_threads}, minimum=0)
        checks.counts("env", {"max_num_frames_per_episode": max_num_frames_per_episode})

        self.num_envs = num_envs
        self.action_spec = ActionSpec(n=FULL_ACTION_COUNT)
        self.obs_shape = (4, 84, 84)
        self.frame_stack = 4  # ale-py stacks zero frames before an episode's first frame
        self.obs_dtype = "uint8"
        self._seeds = np.asarray(seeds, dtype=np.int64)
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
            max_num_frames_per_episode=max_num_frames_per_episode,
        )
        self._tracker = EpisodeTracker(num_envs)

    def reset(self) -> np.ndarray:
        obs, _ = self._env.reset(seed=self._seeds)
        self._tracker = EpisodeTracker(self.num_envs)  # a reset starts every episode afresh
        return obs

    def step(self, actions: np.ndarray) -> StepResult:
        obs, rewards, terminated, truncated, info = self._env.step(actions)
        rewards = rewards.astype(np.float32)
        final = info["final_obs"] if "final_obs" in info else np.zeros_like(obs)
        episodes = self._tracker.update(rewards, np.logical_or(terminated, truncated))
        return StepResult(obs, rewards, terminated, truncated, final, episodes)

    def close(self) -> None:
        self._env.close()
