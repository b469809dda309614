"""A suite's schedule as one Gymnasium vector environment, for training loops that are not ours.

Why: Stable-Baselines3 and Gymnasium users keep their own training loop (``model.learn``, a CleanRL script) and
still get a suite's tasks, switched at the suite's phase ends, with the environment seeds a ``rlplastic.bench``
run of the same suite, budget and seed uses: phase for phase, the observations are the runner's. ``make``
resolves the suite as the CLI does (``budget``, ``agent`` and ``--set``-style ``overrides``), so phases are
rounded to the agent's iterations the same way.

    import rlplastic.gym

    env = rlplastic.gym.make("scrambled", budget="short", seed=0, num_envs=8)
    obs, info = env.reset()
    while not env.done:
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())

Conventions (Gymnasium 1.x): ``AutoresetMode.SAME_STEP``, so an env whose episode ended already holds the next
episode's first observation and the last one is in ``info["final_obs"]`` (mask ``info["_final_obs"]``). A phase
end truncates every running episode (its last observation in ``final_obs``), and the next phase's envs start.
Every ``info`` holds per-env arrays, each with its ``_key`` mask as Gymnasium's vector infos do: ``task`` (the
current task's name), ``phase`` (its index) and ``switched`` (True on the step that opened a new phase). A
finished episode is reported as ``RecordEpisodeStatistics`` does (``info["episode"]`` with ``r``: the raw game
score, ``l``: its length, ``t``: seconds; mask ``info["_episode"]``); an episode cut by a phase end is not a
finished episode and is not reported, as the runner records none. Do not wrap the env in
``RecordEpisodeStatistics``: it would report the cut episodes (and refuses an ``episode`` key already there).
Stepping past the last phase's end raises: train for at most ``env.total_steps`` agent steps.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import gymnasium
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from rlplastic.envs.scheduled import ScheduledVectorEnv
from rlplastic.envs.spaces import action_space, observation_space
from rlplastic.envs.spec import Episode, StepResult
from rlplastic.run.plan import RunConfig, plan
from rlplastic.run.runner import _env as phase_env


def make(
    suite: str,
    budget: str = "smoke",
    seed: int = 0,
    num_envs: int | None = None,
    agent: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> SuiteVectorEnv:
    """The schedule of ``suite`` at ``budget`` with run seed ``seed``, as the CLI would plan it for ``agent``
    (the suite's default agent if None); ``num_envs`` defaults to that agent's ``agent.num_envs``. Overrides are
    the CLI's ``--set`` keys, e.g. ``{"budget.steps_per_phase": 4096, "suite.tasks": ["Breakout"]}``."""
    (config,) = plan(methods=["none"], **schedule_request(suite, budget, seed, num_envs, agent, overrides))
    return SuiteVectorEnv(config)


def schedule_request(
    suite: str, budget: str, seed: int, num_envs: int | None, agent: str | None, overrides: dict[str, Any] | None
) -> dict[str, Any]:
    """``plan``'s arguments (all but the methods) for the run of ``seed`` whose schedule a user's own loop follows;
    ``num_envs`` becomes ``agent.num_envs``, so phases round to whole iterations as the CLI rounds them."""
    given = dict(overrides or {})
    if num_envs is not None:
        given["agent.num_envs"] = num_envs
    return {"suite_ref": suite, "seeds": [seed], "budget": budget, "overrides": given, "agent": agent}


class SuiteVectorEnv(gymnasium.vector.VectorEnv):
    """A run's schedule (``config``) as a Gymnasium vector env over a ``ScheduledVectorEnv`` (``schedule``)."""

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.phases = config.phases()
        self.schedule = ScheduledVectorEnv(self.phases, partial(phase_env, config))
        s = self.schedule
        self.num_envs = s.num_envs
        self.metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}
        self.single_observation_space = observation_space(config.env, s.obs_shape, s.obs_dtype)
        self.single_action_space = action_space(s.action_spec)
        self.observation_space = batch_space(self.single_observation_space, s.num_envs)
        self.action_space = batch_space(self.single_action_space, s.num_envs)
        self.single_action_space.seed(config.seed)
        self.action_space.seed(config.seed)  # the same seed samples the same random actions
        self._starts = np.zeros(s.num_envs)

    @property
    def total_steps(self) -> int:
        return self.schedule.total_steps

    @property
    def task(self) -> str:
        return self.schedule.task

    @property
    def done(self) -> bool:
        """True once the last phase has ended: stop stepping."""
        return self.schedule.done

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """New episodes in the current phase's envs (phase 0's at the start); the schedule does not restart."""
        if seed is not None and seed != self.config.seed:
            raise ValueError(
                f"reset(seed={seed}): this env's seeds are the run seed {self.config.seed} given to "
                f"rlplastic.gym.make; make a new env with seed={seed}"
            )
        if options:
            raise ValueError(f"reset(options={options!r}): this env takes no reset options; drop them")
        super().reset(seed=seed)
        obs = self.schedule.reset()
        self._starts[:] = time.perf_counter()
        return obs, self._info()

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        result = self.schedule.step(np.asarray(actions))
        info = self._info()
        if result.done.any():
            info |= self._ended(result)
        return result.obs, result.reward, result.terminated, result.truncated, info

    def _info(self) -> dict[str, Any]:
        """The schedule's state, as per-env arrays with their masks."""
        n, s = self.num_envs, self.schedule
        values = {
            "task": np.full(n, s.task, dtype=object),
            "phase": np.full(n, s.phase.index),
            "switched": np.full(n, s.switched),
        }
        return values | {f"_{k}": np.ones(n, dtype=bool) for k in values}

    def _ended(self, result: StepResult) -> dict[str, Any]:
        """``final_obs`` of every ended or cut episode; ``episode`` statistics of the finished ones only."""
        done = result.done
        final = np.full(self.num_envs, None, dtype=object)
        for i in np.flatnonzero(done):
            final[i] = result.final_obs[i]
        info: dict[str, Any] = {"final_obs": final, "_final_obs": done, "final_info": {}, "_final_info": done}
        finished = done & ~self.schedule.cut
        if finished.any():
            info |= {"episode": self._statistics(finished, result.episodes), "_episode": finished}
        self._starts[done] = time.perf_counter()
        return info

    def _statistics(self, finished: np.ndarray, episodes: list[Episode]) -> dict[str, np.ndarray]:
        """``RecordEpisodeStatistics``'s arrays; adapters list a step's episodes in the order of their envs."""
        which = np.flatnonzero(finished)
        if len(which) != len(episodes):
            raise RuntimeError(
                f"{len(episodes)} episodes reported for {len(which)} ended envs: the {self.config.env} adapter must "
                "report one Episode per ended env, in env order"
            )
        r, length, t = np.zeros(self.num_envs), np.zeros(self.num_envs, dtype=np.int64), np.zeros(self.num_envs)
        r[which] = [e.ret for e in episodes]
        length[which] = [e.length for e in episodes]
        t[which] = np.round(time.perf_counter() - self._starts[which], 6)
        return {"r": r, "l": length, "t": t}

    def close_extras(self, **kwargs: Any) -> None:
        self.schedule.close()


__all__ = ["SuiteVectorEnv", "action_space", "make", "observation_space"]
