"""Shared helpers: tiny-budget overrides so end-to-end runs use the real environments in seconds."""

from __future__ import annotations

import pytest

# Real environments and networks, shrunk: 8 envs x 16 steps per rollout, one rollout per phase.
TINY_PPO = {
    "agent.num_envs": 8,
    "agent.num_steps": 16,
    "agent.num_minibatches": 2,
    "agent.update_epochs": 1,
    "budget.steps_per_phase": 128,
}


@pytest.fixture
def tiny() -> list[str]:
    args: list[str] = []
    for key, value in TINY_PPO.items():
        args += ["--set", f"{key}={value}"]
    return args


@pytest.fixture
def keep_threads():
    """Restore this process's torch thread count after a test that sets it (or runs a command that does)."""
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


TINY_DQN = {"learning_starts": 32, "batch_size": 16, "buffer_size": 2000, "target_network_frequency": 50}
TINY_SAC = {"learning_starts": 32, "batch_size": 16, "buffer_size": 2000}
TINY = {
    "ppo": {"num_envs": 8, "num_steps": 16, "num_minibatches": 2, "update_epochs": 1},
    "dqn": TINY_DQN,
    "sac": TINY_SAC,
}
FIRST_TASK = {"minatar": "Breakout", "walker": "walker-stand"}


def new_learner(hooks=None, agent: str = "ppo", suite: str = "minatar", **options):
    """A real, untrained learner (the suite's agent options, shrunk by ``TINY``) and an env of the first task of
    ``suite`` (MinAtar Breakout or dm_control walker-stand), for tests that drive training themselves."""
    from rlplastic import agents
    from rlplastic.envs import make_env
    from rlplastic.envs.seeding import env_seeds
    from rlplastic.suites import load_suite

    loaded = load_suite(suite)
    opts = loaded.agents[agent] | TINY[agent] | options
    env = make_env(loaded.env, FIRST_TASK[suite], env_seeds(0, 0, opts["num_envs"]), loaded.env_options)
    learner = agents.make(agent, opts, agents.env_spec(env), seed=0, hooks=hooks)
    if hooks is not None and hasattr(hooks, "attach"):
        hooks.attach(learner)
    return learner, env


def trained_learner(hooks=None, agent: str = "ppo", iterations: int = 2, suite: str = "minatar", **options):
    """A real learner after a few small iterations on the first task of ``suite`` (MinAtar Breakout or dm_control
    walker-stand): its buffer is filled and it has updated."""
    from rlplastic.agents.learner import train

    learner, env = new_learner(hooks, agent, suite, **options)
    if agent in ("dqn", "sac"):
        iterations = max(iterations, 64)  # past learning_starts
    train(learner, env, iterations, hooks)
    env.close()
    return learner
