"""DeepMind Control Suite tasks (Tassa et al. 2018, arXiv 1801.00690) with state observations.

A task is ``domain-task`` (``walker-walk``, ``humanoid-run``); tasks of one body share observation and action
spaces, so one network serves a sequence such as humanoid stand -> walk -> run. Observations are the task's
observation dict flattened in its spec order (float32); actions are the body's actuator box. Episodes last
1,000 control steps (dm_control's time limit, reported as a truncation with the final observation); a
termination (discount 0) ends the return. No rendering: pixels are software-rendered here (~16 frames/s).

Dynamics shifts (a phase's ``env`` options in a suite): ``friction`` scales every geom's sliding friction,
``mass`` every body's mass and inertia, ``gravity`` the gravity vector, each relative to the model's own
value. They are applied once to the compiled model, which dm_control keeps across episode resets.
HumanoidBench (the FIRE paper's SAC tasks) cannot be installed beside this stack (it pins gymnasium 0.29.1,
mujoco 3.1.6, torch 2.3.1): dm_control's humanoid stands in for it.
"""

from __future__ import annotations

import os

import numpy as np

from rlplastic import checks
from rlplastic.envs.episodes import EpisodeTracker
from rlplastic.envs.spec import ActionSpec, StepResult

# Nothing is rendered: no OpenGL backend is loaded. EGL (our earlier default) made the first torch optimiser built
# after an env segfault where triton is installed (kron-torch pulls it in): torch imports it lazily, beside EGL.
os.environ.setdefault("MUJOCO_GL", "disable")


def split_task(task: str) -> tuple[str, str]:
    """``walker-walk`` -> (``walker``, ``walk``), checked against dm_control's task list."""
    from dm_control import suite

    domain, _, name = task.partition("-")
    if (domain, name) not in suite.ALL_TASKS:
        valid = ", ".join(f"{d}-{t}" for d, t in suite.ALL_TASKS)
        raise ValueError(f"unknown dm_control task {task!r}; valid tasks: {valid}")
    return domain, name


def task_names() -> tuple[str, ...]:
    from dm_control import suite

    return tuple(f"{d}-{t}" for d, t in suite.ALL_TASKS)


class DMCVector:
    """``num_envs`` copies of one dm_control task, stepped in Python (a humanoid step costs ~0.3 ms)."""

    def __init__(
        self,
        task: str,
        num_envs: int,
        seeds: np.ndarray,
        friction: float = 1.0,
        mass: float = 1.0,
        gravity: float = 1.0,
    ) -> None:
        from dm_control import suite

        domain, name = split_task(task)
        checks.positive("env", {"friction": friction, "mass": mass, "gravity": gravity})
        self._envs = [suite.load(domain, name, task_kwargs={"random": int(s)}) for s in seeds]
        for env in self._envs:
            model = env.physics.model
            model.geom_friction[:, 0] *= friction
            model.body_mass[:] *= mass
            model.body_inertia[:] *= mass
            model.opt.gravity[:] *= gravity
        spec = self._envs[0].action_spec()
        self.num_envs = num_envs
        self.action_spec = ActionSpec(low=tuple(map(float, spec.minimum)), high=tuple(map(float, spec.maximum)))
        self._keys = list(self._envs[0].observation_spec())
        self.obs_shape = (sum(int(np.prod(v.shape)) for v in self._envs[0].observation_spec().values()),)
        self.frame_stack = 1
        self.obs_dtype = "float32"
        self._tracker = EpisodeTracker(num_envs)

    def _flat(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        return np.concatenate([np.asarray(observation[k], dtype=np.float32).ravel() for k in self._keys])

    def reset(self) -> np.ndarray:
        self._tracker = EpisodeTracker(self.num_envs)  # a reset starts every episode afresh
        return np.stack([self._flat(env.reset().observation) for env in self._envs])

    def step(self, actions: np.ndarray) -> StepResult:
        n = self.num_envs
        obs = np.zeros((n, *self.obs_shape), dtype=np.float32)
        final = np.zeros_like(obs)
        rewards = np.zeros(n, dtype=np.float32)
        terminated = np.zeros(n, dtype=bool)
        truncated = np.zeros(n, dtype=bool)
        for i, env in enumerate(self._envs):
            ts = env.step(actions[i])
            rewards[i] = ts.reward or 0.0
            obs[i] = self._flat(ts.observation)
            if ts.last():
                terminated[i] = ts.discount == 0
                truncated[i] = not terminated[i]
                final[i] = obs[i]
                obs[i] = self._flat(env.reset().observation)
        episodes = self._tracker.update(rewards, np.logical_or(terminated, truncated))
        return StepResult(obs, rewards, terminated, truncated, final, episodes)

    def close(self) -> None:
        for env in self._envs:
            env.close()
        self._envs = []
