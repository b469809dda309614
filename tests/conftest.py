"""Shared helpers: tiny-budget overrides so end-to-end runs use the real environments in seconds."""

from __future__ import annotations

import pytest

# Real environments and networks, shrunk: 8 envs x 16 steps per rollout, one rollout per phase.
TINY = [
    "agent.num_envs=8",
    "agent.num_steps=16",
    "agent.num_minibatches=2",
    "agent.update_epochs=1",
    "budget.steps_per_phase=128",
]


@pytest.fixture
def tiny() -> list[str]:
    args: list[str] = []
    for item in TINY:
        args += ["--set", item]
    return args


def trained_learner(hooks=None, **options):
    """A real PPO learner on MinAtar Breakout after one small rollout and update (its buffer is filled)."""
    from rlplastic import agents
    from rlplastic.agents import Hooks
    from rlplastic.envs import Phase, make_env
    from rlplastic.suites import load_suite

    suite = load_suite("minatar")
    opts = suite.agent_options | {"num_envs": 8, "num_steps": 16, "num_minibatches": 2, "update_epochs": 1} | options
    env = make_env("minatar", "Breakout", opts["num_envs"], 0, suite.env_options)
    learner = agents.make("ppo", opts, env.obs_shape, env.num_actions, seed=0, hooks=hooks)
    if hooks is not None and hasattr(hooks, "attach"):
        hooks.attach(learner)
    learner.learn(env, Phase(0, "Breakout", 0, 128), hooks or Hooks(), lambda *a: None, lambda *a: None)
    env.close()
    return learner
