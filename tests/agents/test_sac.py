"""SAC checked against hand computations of its formulas (Haarnoja et al. 2018; CleanRL's
``sac_continuous_action.py``), on real dm_control observations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import trained_learner

from rlplastic import agents
from rlplastic.envs import make_env
from rlplastic.envs.seeding import env_seeds


def walker_sac(**options) -> agents.SAC:
    env = make_env("dmc", "walker-walk", env_seeds(0, 0, 1), {})
    learner = agents.make(
        "sac", {"learning_starts": 8, "batch_size": 4, "buffer_size": 500} | options, agents.env_spec(env), seed=0
    )
    env.close()
    return learner


def test_squashed_gaussian_log_prob_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    learner = walker_sac()
    mean, log_std, noise = 0.5, math.log(2.0), 0.25  # x = 0.5 + 2 * 0.25 = 1, a = tanh(1)
    actor = learner.networks["actor"]
    monkeypatch.setattr(actor, "forward", lambda obs: (torch.full((1, 6), mean), torch.full((1, 6), log_std)))
    monkeypatch.setattr(torch, "randn_like", lambda t: torch.full_like(t, noise))
    action, log_prob = learner.policy(torch.zeros(1, 24))
    y = math.tanh(1.0)
    per_dim = -0.5 * noise**2 - log_std - 0.5 * math.log(2 * math.pi) - math.log(1 - y**2 + 1e-6)
    assert torch.allclose(action, torch.full((1, 6), y))
    assert log_prob.item() == pytest.approx(6 * per_dim, rel=1e-5)


def test_critic_target_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    """target = r + gamma (1 - terminated) (min(Q1', Q2') - alpha log pi(a'|s')); loss = mean (Q - target)^2."""
    learner = walker_sac(autotune=False, alpha=0.2)
    with torch.no_grad():
        for net, value in (
            (learner.target_networks["q1"], 3.0),
            (learner.target_networks["q2"], 5.0),
            (learner.networks["q1"], 1.0),
            (learner.networks["q2"], 2.0),
        ):
            for p in net.parameters():
                p.zero_()
            net.q.bias.fill_(value)  # a constant critic
    monkeypatch.setattr(learner, "policy", lambda obs: (torch.zeros(2, 6), torch.tensor([-1.0, -2.0])))
    batch = {
        "obs": torch.zeros(2, 24),
        "actions": torch.zeros(2, 6),
        "next_obs": torch.zeros(2, 24),
        "rewards": torch.tensor([1.0, 2.0]),
        "terminated": torch.tensor([0.0, 1.0]),
    }
    target = [1.0 + 0.99 * (3.0 + 0.2 * 1.0), 2.0]  # the second transition terminated: no bootstrap
    losses = learner._critic_losses(batch)
    assert losses["q1"].item() == pytest.approx(((1 - target[0]) ** 2 + (1 - target[1]) ** 2) / 2, rel=1e-6)
    assert losses["q2"].item() == pytest.approx(((2 - target[0]) ** 2 + (2 - target[1]) ** 2) / 2, rel=1e-6)


def test_targets_move_by_polyak_averaging_and_the_temperature_learns() -> None:
    learner = trained_learner(agent="sac", suite="walker", policy_frequency=1)
    old = {c: [p.clone() for p in learner.target_networks[c].parameters()] for c in ("q1", "q2")}
    alpha = learner.log_alpha.item()
    learner.update(agents.Hooks())
    tau = learner.cfg.tau
    for c in ("q1", "q2"):
        for t, o, p in zip(
            learner.target_networks[c].parameters(), old[c], learner.networks[c].parameters(), strict=True
        ):
            assert torch.allclose(t, (1 - tau) * o + tau * p, atol=1e-7)
    assert learner.log_alpha.item() != alpha


def test_actions_stay_in_the_box_and_random_before_learning_starts() -> None:
    env = make_env("dmc", "quadruped-walk", env_seeds(0, 0, 1), {})  # a box that is not [-1, 1] everywhere
    learner = agents.make("sac", {"learning_starts": 100}, agents.env_spec(env), seed=0)
    obs = env.reset()
    low, high = np.array(env.action_spec.low), np.array(env.action_spec.high)
    warm = np.concatenate([learner._explore(obs) for _ in range(200)])
    learner.global_step = 100
    acting = np.concatenate([learner._explore(obs) for _ in range(200)])
    env.close()
    for actions in (warm, acting):
        assert (actions >= low).all() and (actions <= high).all()
    assert warm.std(0).min() > 0.3  # uniform over the box, whatever the observation
    assert acting.std(0).min() < warm.std(0).min()  # the policy, one observation: not uniform


def test_sac_refuses_discrete_actions_and_dqn_continuous() -> None:
    env = make_env("dmc", "walker-walk", env_seeds(0, 0, 1), {})
    with pytest.raises(ValueError, match="DQN needs discrete actions"):
        agents.make("dqn", {}, agents.env_spec(env), seed=0)
    env.close()
    env = make_env("minatar", "Breakout", env_seeds(0, 0, 1), {})
    with pytest.raises(ValueError, match="SAC needs continuous actions"):
        agents.make("sac", {}, agents.env_spec(env), seed=0)
