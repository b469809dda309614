"""A whole schedule as one vector env: the phases' tasks one after another, switched at each phase's end.

The runner builds one fresh env per phase and trains through it; a training loop that is not ours (Stable-
Baselines3's ``learn``, a Gymnasium loop) sees one env for the whole run instead. ``ScheduledVectorEnv`` gives
it that env: the same fresh env per phase (``factory``), switched after exactly the agent steps the runner
trains each phase, so the same seeds give the same observations. A switch cuts the episodes still running:
they are reported truncated, with their last observation as ``final_obs``, so an agent bootstraps from it,
but not as finished episodes (the runner records no partial episode at a phase's end either). At the last
phase's end every running episode is cut the same way and the schedule is done.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import numpy as np

from rlplastic.envs.schedule import Phase
from rlplastic.envs.spec import EnvSpec, StepResult, VectorEnv, env_spec, spaces_mismatch


def _check_phases(phases: list[Phase]) -> None:
    """Phases must follow each other without gaps, as ``make_schedule`` makes them."""
    if not phases:
        raise ValueError("a schedule needs at least one phase; build one with rlplastic.envs.make_schedule")
    for before, after in pairwise(phases):
        if after.start != before.end:
            raise ValueError(
                f"phase {after.label} starts at step {after.start}, not at {before.label}'s end {before.end}: "
                "build the phases with rlplastic.envs.make_schedule"
            )


class ScheduledVectorEnv:
    """``VectorEnv`` over a schedule: ``factory(phase)`` builds each phase's env when the phase begins.
    ``switched`` is True right after the step that opened a new phase, ``cut`` marks the envs whose episode that
    step's phase end truncated (no finished ``Episode`` for them); ``done`` is True after the last phase's end."""

    def __init__(self, phases: list[Phase], factory: Callable[[Phase], VectorEnv]) -> None:
        _check_phases(phases)
        self.phases, self._factory = list(phases), factory
        self._index = 0
        first = factory(phases[0])  # opened now, so the spaces are known before reset (SB3 asks for them first)
        self._env: VectorEnv | None = first
        self.num_envs, self.obs_shape, self.action_spec = first.num_envs, tuple(first.obs_shape), first.action_spec
        self.frame_stack, self.obs_dtype = first.frame_stack, first.obs_dtype
        self._spec: EnvSpec = env_spec(first)
        self._check_fits(first, phases[0])
        self.global_step = phases[0].start
        self.switched = False
        self.cut = np.zeros(self.num_envs, dtype=bool)
        self._started = False

    @property
    def phase(self) -> Phase:
        return self.phases[self._index]

    @property
    def task(self) -> str:
        return self.phase.task

    @property
    def total_steps(self) -> int:
        """Agent steps (all envs) from the first phase's start to the last phase's end."""
        return self.phases[-1].end - self.phases[0].start

    @property
    def done(self) -> bool:
        return self.global_step >= self.phases[-1].end

    def _check_fits(self, env: VectorEnv, phase: Phase) -> None:
        """Every phase's env must fit the spaces (and env count) the schedule's first phase announced."""
        first = self.phases[0]
        problem = spaces_mismatch(env_spec(env), self._spec, repr(phase.task), repr(first.task))
        if not problem and env.num_envs != self.num_envs:
            problem = f"phase {phase.label} has {env.num_envs} envs, {first.label} {self.num_envs}: use one num_envs"
        if not problem and phase.steps % env.num_envs:
            problem = (
                f"phase {phase.label} lasts {phase.steps} agent steps, not a multiple of its {env.num_envs} envs; "
                "make budget.steps_per_phase a multiple of agent.num_envs"
            )
        if problem:
            env.close()
            raise ValueError(problem)

    def _current(self) -> VectorEnv:
        if self._env is not None:
            return self._env
        if self.done:
            raise RuntimeError(
                f"the schedule ended after {self.total_steps} agent steps ({len(self.phases)} phases); stop there "
                "(learn for at most total_steps) or build a new env"
            )
        raise RuntimeError("this schedule's env is closed (by close() or a failed phase switch); build a new env")

    def reset(self) -> np.ndarray:
        """New episodes in every env of the current phase (phase 0's at the start); the schedule goes on."""
        obs = self._current().reset()
        self._started, self.switched = True, False
        self.cut = np.zeros(self.num_envs, dtype=bool)
        return obs

    def step(self, actions: np.ndarray) -> StepResult:
        env = self._current()
        if not self._started:
            raise RuntimeError("step() before reset(): call reset() first to start the schedule")
        result = env.step(actions)
        self.global_step += self.num_envs
        self.switched = False
        self.cut = np.zeros(self.num_envs, dtype=bool)
        if self.global_step < self.phase.end:
            return result
        return self._cut(result)

    def _cut(self, result: StepResult) -> StepResult:
        """The phase ends in this step: its running episodes are truncated here, and the next phase (if any)
        opens; its first observation replaces the old env's."""
        running = self.cut = ~result.done
        final_obs = result.final_obs.copy()
        final_obs[running] = result.obs[running]
        truncated = result.truncated | running
        self._close_env()
        obs = result.obs
        if not self.done:
            following = self.phases[self._index + 1]
            env = self._factory(following)
            self._check_fits(env, following)
            self._env, self._index = env, self._index + 1
            obs = env.reset()
            self.switched = True
        return StepResult(obs, result.reward, result.terminated, truncated, final_obs, result.episodes)

    def _close_env(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None

    def close(self) -> None:
        self._close_env()


__all__ = ["ScheduledVectorEnv"]
