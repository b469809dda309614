"""PPO's learning-rate schedules, through real iterations on MinAtar."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rlplastic import agents
from rlplastic.agents.learner import train
from rlplastic.envs import make_env
from rlplastic.envs.seeding import env_seeds
from rlplastic.suites import load_suite


def ac(learner) -> nn.Module:
    """The PPO learner's one network."""
    return learner.networks["actor_critic"]


def rates_of_four_iterations(mode: str) -> list[float]:
    suite = load_suite("minatar")
    opts = suite.agents["ppo"] | {"num_envs": 4, "num_steps": 8, "num_minibatches": 1, "update_epochs": 1}
    env = make_env("minatar", "Breakout", env_seeds(0, 0, 4), suite.env_options)
    learner = agents.make("ppo", opts | {"anneal_lr": mode}, agents.env_spec(env), 0)
    learner.set_run_length(4 * learner.iteration_steps)
    return [s["learning_rate"] / opts["learning_rate"] for s in train(learner, env, 4)]


@pytest.mark.parametrize("mode", ["run", "phase"])
def test_annealing_uses_the_progress_before_each_iteration(mode: str) -> None:
    # Iteration k of 4 trains at 1 - k/4: the first at the full rate, the last at a quarter, never at 0
    # (the rate used to be computed after the rollout, so the last update of a run got 0).
    assert rates_of_four_iterations(mode) == pytest.approx([1.0, 0.75, 0.5, 0.25])


def test_constant_rate() -> None:
    assert rates_of_four_iterations("none") == pytest.approx([1.0] * 4)


def test_truncated_episodes_bootstrap_from_their_final_observation() -> None:
    # Freeway never terminates within 8 steps; max_episode_steps=4 truncates every env at steps 3 and 7.
    suite = load_suite("minatar")
    opts = suite.agents["ppo"] | {"num_envs": 4, "num_steps": 8, "num_minibatches": 1, "update_epochs": 1}
    env = make_env("minatar", "Freeway", env_seeds(0, 0, 4), suite.env_options | {"max_episode_steps": 4})
    learner = agents.make("ppo", opts, agents.env_spec(env), 0)
    results = []
    step = env.step
    env.step = lambda actions: results.append(step(actions)) or results[-1]  # type: ignore[method-assign]
    learner.start_phase(env, 1)
    learner.collect(lambda *a: None)
    rewards = learner._rollout.rewards
    for t, result in enumerate(results):
        with torch.no_grad():
            _, final_value = ac(learner)(torch.from_numpy(result.final_obs))
        expected = torch.from_numpy(result.reward) + (opts["gamma"] * final_value if t in (3, 7) else 0.0)
        assert result.truncated.all() == (t in (3, 7)) and not result.terminated.any()
        assert torch.allclose(rewards[t], expected, atol=1e-6), t
