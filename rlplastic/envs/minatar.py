"""MinAtar games (Young & Tian 2019, arXiv 1903.03176) as one vector environment per game.

All five games share one network: observations are padded with empty channels to the largest game's
channel count (Seaquest, 10) and every game takes MinAtar's full set of 6 actions (the ``-v0`` ids), so
no game needs its own head. Observations are channel-first ``uint8`` 0/1 maps of 10x10.
MinAtar's own defaults are kept: sticky actions p = 0.1 and difficulty ramping. Episodes are truncated
after ``max_episode_steps`` so a perfect agent cannot stall a phase in one endless episode (reported as a
truncation, with the final observation, so agents can bootstrap from it).

``seaquest_stall_steps = N`` (0, off, by default) also truncates a Seaquest episode that has lasted N steps
without a point: C-CHAIN's Continual MinAtar script (bluecontra/C-CHAIN, ``crl_minatar``) ends such episodes at
1,000 steps, because a Seaquest agent that learns to stay at the surface never dies and would spend the phase
in one pointless episode. As there, it applies to Seaquest only, and the cut is a truncation (bootstrapped).
"""

from __future__ import annotations

import numpy as np

from rlplastic import checks
from rlplastic.envs.episodes import EpisodeTracker
from rlplastic.envs.spec import ActionSpec, StepResult

MAX_CHANNELS = 10
FULL_ACTION_COUNT = 6
GAMES = {
    "Asterix": "asterix",
    "Breakout": "breakout",
    "Freeway": "freeway",
    "Seaquest": "seaquest",
    "SpaceInvaders": "space_invaders",
}


class MinAtarVector:
    """``num_envs`` copies of one MinAtar game stepped in Python (each step costs microseconds)."""

    def __init__(
        self,
        game: str,
        num_envs: int,
        seeds: np.ndarray,
        sticky_action_prob: float = 0.1,
        max_episode_steps: int = 10_000,
        seaquest_stall_steps: int = 0,
    ) -> None:
        import minatar

        if game not in GAMES:
            raise ValueError(f"unknown MinAtar game {game!r}; choose one of {', '.join(GAMES)}")
        checks.probabilities("env", {"sticky_action_prob": sticky_action_prob})
        checks.counts("env", {"max_episode_steps": max_episode_steps})
        checks.counts("env", {"seaquest_stall_steps": seaquest_stall_steps}, minimum=0)
        self.num_envs = num_envs
        self.action_spec = ActionSpec(n=FULL_ACTION_COUNT)
        self.obs_shape = (MAX_CHANNELS, 10, 10)
        self.frame_stack = 1  # the observation is the full game state
        self.obs_dtype = "uint8"
        self._envs = [minatar.Environment(GAMES[game], sticky_action_prob=sticky_action_prob) for _ in range(num_envs)]
        for env, s in zip(self._envs, seeds, strict=True):
            env.seed(int(s))
        self._max_steps = max_episode_steps
        self._stall_steps = seaquest_stall_steps if game == "Seaquest" else 0
        self._steps = np.zeros(num_envs, dtype=np.int64)
        self._points = np.zeros(num_envs, dtype=np.float64)
        self._tracker = EpisodeTracker(num_envs)
        self._obs = np.zeros((num_envs, *self.obs_shape), dtype=np.uint8)

    def _write_obs(self, i: int) -> None:
        state = self._envs[i].state()
        self._obs[i, : state.shape[2]] = state.transpose(2, 0, 1)

    def reset(self) -> np.ndarray:
        for i, env in enumerate(self._envs):
            env.reset()
            self._write_obs(i)
        self._steps[:] = 0
        self._points[:] = 0.0
        self._tracker = EpisodeTracker(self.num_envs)  # a reset starts every episode afresh
        return self._obs.copy()

    def step(self, actions: np.ndarray) -> StepResult:
        rewards = np.zeros(self.num_envs, dtype=np.float32)
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        final = np.zeros_like(self._obs)
        self._steps += 1
        for i, env in enumerate(self._envs):
            reward, terminal = env.act(int(actions[i]))
            rewards[i] = reward
            self._points[i] += reward
            terminated[i] = terminal
            truncated[i] = not terminal and (self._steps[i] >= self._max_steps or self._stalled(i))
            if terminated[i] or truncated[i]:
                self._write_obs(i)
                final[i] = self._obs[i]
                env.reset()
                self._steps[i], self._points[i] = 0, 0.0
            self._write_obs(i)
        episodes = self._tracker.update(rewards, np.logical_or(terminated, truncated))
        return StepResult(self._obs.copy(), rewards, terminated, truncated, final, episodes)

    def _stalled(self, i: int) -> bool:
        """C-CHAIN's Seaquest guard: N steps and still under 0.1 points (its test is ``ep_reward < 0.1``)."""
        return 0 < self._stall_steps <= self._steps[i] and self._points[i] < 0.1

    def close(self) -> None:
        self._envs = []
