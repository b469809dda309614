"""SB3's own PPO, DQN and SAC behind our Learner seam (``rlplastic/agents/sb3``): the wrapper's own promises. Every
method's effect on them is checked in ``interventions/test_matrix.py``, exact resume in ``system/test_crash.py``."""

from __future__ import annotations

import pytest
import torch
from conftest import new_learner, trained_learner

from rlplastic.agents.learner import Hooks, train
from rlplastic.run.plan import table_options
from rlplastic.suites import load_suite


def test_each_parameter_is_stepped_once_per_sb3_minibatch() -> None:
    learner, env = new_learner(None, "sb3_ppo", num_envs=4, num_steps=16, num_minibatches=2, update_epochs=1)
    train(learner, env, 1)
    assert learner.updates == 2  # one iteration: 1 epoch x 2 minibatches
    (optimizer,) = learner.optimizers.values()
    params = list(learner.networks["actor_critic"].parameters())
    assert {int(optimizer.state[p]["step"]) for p in params} == {2}
    assert {id(p) for p in learner.model.policy.parameters()} == {id(p) for p in params}


class Pull(Hooks):
    """An extra loss of 1000 x the sum of the policy head's weights: its gradient, 1000 everywhere."""

    def extra_loss(self, learner, network):
        return 1000 * learner.networks[network].heads["policy"].weight.sum()


def test_an_extra_loss_joins_the_gradient_sb3_steps_on() -> None:
    hooks = Pull()
    learner, env = new_learner(hooks, "sb3_ppo", num_envs=4, num_steps=16, num_minibatches=1, update_epochs=1)
    train(learner, env, 1, hooks)
    head = learner.networks["actor_critic"].heads["policy"].weight
    (optimizer,) = learner.optimizers.values()
    assert optimizer.state[head]["exp_avg"].min() > 90  # (1 - beta1) x 1000 = 100, give or take SB3's own gradient


def test_the_probe_discounts_with_the_agents_gamma_and_lambda() -> None:
    learner, env = new_learner(None, "sb3_ppo", num_envs=4, num_steps=16, num_minibatches=2, update_epochs=1)
    buf = learner._probe_buffer(8, 4)
    assert (buf.gamma, buf.gae_lambda) == (learner.cfg.gamma, learner.cfg.gae_lambda) != (0.95, 0.999)
    batch = learner.probe(env, 32)
    assert torch.allclose(batch["returns"], batch["advantages"] + batch["values"])


def test_dqn_explores_from_start_e_at_every_phase_start_and_logs_on_its_interval() -> None:
    learner = trained_learner(None, "sb3_dqn", log_interval=100)
    assert learner.log_every == 100 and learner.model.exploration_rate == learner.cfg.end_e
    _, env = new_learner(None, "sb3_dqn")
    learner.start_phase(env, 64)
    assert learner.model.exploration_rate == learner.cfg.start_e  # what the phase's first action reads


def test_sac_steps_each_network_at_its_own_rate_once_per_sb3_gradient_step() -> None:
    """SB3's SAC has one learning rate and writes it into every optimiser; ours keep theirs (actor 3e-4, critics
    1e-3). Adam's first step moves each weight by its learning rate (|m / sqrt(v)| = 1 for one gradient)."""
    learner, env = new_learner(None, "sb3_sac", "walker", learning_starts=32)
    train(learner, env, 32)  # collection only: SB3 trains once more than learning_starts steps are in
    before = {n: [p.detach().clone() for p in net.parameters()] for n, net in learner.networks.items()}
    train(learner, env, 1)
    assert learner.updates == learner.model._n_updates == 1
    for name, rate in {"actor": 3e-4, "q1": 1e-3, "q2": 1e-3}.items():
        params = list(learner.networks[name].parameters())
        assert {int(learner.optimizers[name].state[p]["step"]) for p in params} == {1}
        moved = max((p.detach() - b).abs().max().item() for p, b in zip(params, before[name], strict=True))
        assert moved == pytest.approx(rate, rel=1e-3), name
    assert learner.model.ent_coef_optimizer.param_groups[0]["lr"] == learner.cfg.q_lr  # the temperature's, as ours
    assert {id(p) for p in learner.model.actor.parameters()} == {id(p) for p in learner.networks["actor"].parameters()}


def test_sac_does_not_read_the_suites_delayed_actor_update_and_refuses_one_given() -> None:
    walker = load_suite("walker").agents
    assert walker["sac"]["policy_frequency"] == 2  # CleanRL's delayed actor update, for our sac
    assert "policy_frequency" not in table_options(walker, "sac", "sb3_sac")
    assert table_options(walker, "sac", "sac")["policy_frequency"] == 2
    with pytest.raises(ValueError, match=r"agent\.policy_frequency: SB3.s SAC updates the actor at every gradient"):
        new_learner(None, "sb3_sac", "walker", policy_frequency=2)
    with pytest.raises(ValueError, match=r"agent\.target_network_frequency"):
        new_learner(None, "sb3_sac", "walker", target_network_frequency=2)
