"""For stable-baselines3 users who keep their own training loop: a suite's schedule as an SB3 ``VecEnv`` and a
callback that applies a plasticity method to the model at the schedule's task switches, writing the run folder
that ``python -m rlplastic.bench table --out DIR`` reads.

    from stable_baselines3 import PPO
    import rlplastic.sb3

    env = rlplastic.sb3.make_vec_env("scrambled", budget="smoke", seed=0, num_envs=8)
    model = PPO("MlpPolicy", env, seed=0)
    model.learn(env.total_steps, callback=rlplastic.sb3.PlasticityCallback("fire", env, out="runs"))
    # python -m rlplastic.bench table --out runs

A method acts at the first rollout start after each switch (SB3 collects whole rollouts, so an edit mid-rollout
would make the stored log-probabilities stale), or on its own ``every``/``at_steps`` schedule. The run folder is
``<out>/<suite>/sb3-<algorithm>-<budget>/<method>/seed_<n>`` with the model's hyper-parameters in its
``config.json``; a folder of another configuration, or one left unfinished, is refused rather than appended to.
Inside the CLI, ``--agent sb3_ppo``/``sb3_dqn`` run SB3's algorithms with everything the harness promises
(checkpoints, exact resume, diagnostics); this callback does not checkpoint.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

from rlplastic import interventions
from rlplastic.agents.sb3.native import AdoptedLearner, hyper_parameters
from rlplastic.agents.sb3.vecenv import SB3VecEnv
from rlplastic.envs.scheduled import ScheduledVectorEnv
from rlplastic.errors import UsageError
from rlplastic.gym import schedule_request
from rlplastic.interventions.base import Boundary
from rlplastic.run.plan import RunConfig, plan
from rlplastic.run.recorder import Recorder
from rlplastic.run.runner import _env as phase_env
from rlplastic.run.runner import act_at_boundary
from rlplastic.run.store import RunStore


class SuiteVecEnv(SB3VecEnv):
    """A suite's whole schedule (``config``) as an SB3 ``VecEnv``: tasks switch at each phase's end, where running
    episodes are cut as time limits (SB3 bootstraps them); ``schedule`` says where it is."""

    def __init__(self, config: RunConfig, request: dict[str, Any]) -> None:
        self.config, self.request = config, request  # request: what make_vec_env was asked, to plan methods alike
        self.schedule = ScheduledVectorEnv(config.phases(), lambda phase: phase_env(config, phase))
        super().__init__(self.schedule, kind=config.env)

    @property
    def total_steps(self) -> int:
        return self.config.total_steps


def make_vec_env(
    suite: str,
    budget: str = "smoke",
    seed: int = 0,
    num_envs: int | None = None,
    agent: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> SuiteVecEnv:
    """The schedule a ``python -m rlplastic.bench --suite SUITE --budget BUDGET`` run of ``seed`` trains through,
    with the same env seeds; ``num_envs`` defaults to the suite agent's (``agent``), ``overrides`` are ``--set``
    pairs (``{"budget.steps_per_phase": 4096}``)."""
    request = schedule_request(suite, budget, seed, num_envs, agent, overrides)
    (config,) = plan(methods=["none"], **request)
    return SuiteVecEnv(config, request)


class PlasticityCallback(BaseCallback):
    """Applies ``method`` (any name of ``--method``, options as ``{"fire": {"scale": "init"}}``) to the model that
    trains on ``env``; with ``out``, records its episodes as a run folder of the suite's leaderboard."""

    def __init__(
        self, method: str, env: SuiteVecEnv, options: dict[str, Any] | None = None, out: str | Path | None = None
    ) -> None:
        super().__init__()
        self.env, self.out = env, out
        sets = {f"{part}.{k}": v for part, values in (options or {}).items() for k, v in values.items()}
        request = env.request | {"overrides": env.request["overrides"] | sets}
        (self.config,) = plan(methods=[method], **request)  # the method's options resolved as the CLI does
        self.method = interventions.build(self.config.method, self.config.method_options)
        self.learner: AdoptedLearner | None = None
        self.recorder: Recorder | None = None
        self.store: RunStore | None = None
        self.previous, self.switched, self.start = 0, False, 0.0

    # --- SB3's callback events ----------------------------------------------------------------------
    def _on_training_start(self) -> None:
        if self.training_env is not self.env and getattr(self.training_env, "venv", None) is not self.env:
            raise UsageError("PlasticityCallback(method, env): pass the env the model trains on (make_vec_env's)")
        self.learner = AdoptedLearner(self.model, self.env.config.seed, self.method)
        self.method.attach(self.learner)
        if self.out is not None:
            self._open_run()
        self.start = time.perf_counter()

    def _on_rollout_start(self) -> None:
        learner = self.learner
        assert learner is not None
        step = learner.global_step = self.model.num_timesteps
        phase = self.env.schedule.phase
        boundary = Boundary(step, self.previous, phase, self.switched, self._no_probe)
        act_at_boundary(self.method, learner, boundary)  # the runner's: targets follow, weights must stay finite
        self.previous, self.switched = step, False

    def _on_step(self) -> bool:
        assert self.learner is not None
        self.learner.global_step = self.model.num_timesteps  # what after_update hooks inside train() read
        schedule = self.env.schedule
        self.switched |= schedule.switched
        if self.recorder is not None and self.env.last is not None:
            step = self.model.num_timesteps
            phase = schedule.phases[schedule.phases.index(schedule.phase) - 1] if schedule.switched else schedule.phase
            for episode in self.env.last.episodes:
                self.recorder.episode(phase, step, step - episode.length * self.env.num_envs, episode)
        return True

    def _on_training_end(self) -> None:
        if self.learner is not None:
            self.learner.release()  # SB3's own optimiser again: the model saves and loads as usual
        if self.recorder is None or self.store is None:
            return
        self.recorder.close()
        if self.env.schedule.done:
            seconds = time.perf_counter() - self.start
            self.store.mark_done({"seconds": round(seconds, 1), "steps": self.model.num_timesteps, "loop": "sb3"})

    # --- the run folder -----------------------------------------------------------------------------
    def _open_run(self) -> None:
        algorithm = type(self.model).__name__.lower()
        config = dataclasses.replace(self.config, agent=f"sb3-{algorithm}", agent_options=hyper_parameters(self.model))
        store = RunStore(Path(self.out), config)
        store.verify()
        if (store.dir / "episodes.csv").exists():
            raise UsageError(
                f"{store.dir} already holds records of this configuration; a run of your own loop cannot resume: "
                "delete that folder or use another out"
            )
        store.claim({"loop": "sb3"})
        self.store, self.recorder = store, Recorder(store.dir)

    @staticmethod
    def _no_probe(n: int) -> Any:
        raise NotImplementedError("methods that probe the incoming task (DASH) need --agent sb3_ppo/sb3_dqn")


__all__ = ["PlasticityCallback", "SuiteVecEnv", "make_vec_env"]
