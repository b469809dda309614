"""The fidelity findings of issue 23, each checked against the official code's behaviour: FIRE's DQN script
(Linear layers back to their initial values, convolutions projected), ReDo's order (dopamine zeroes a weight
that is both outgoing of a recycled unit and incoming of the next recycled unit), and continual backprop's
official Adam (beta1 = beta2 = 0.99, L2 weight decay 1e-4 in the gradient)."""

from __future__ import annotations

import pytest
import torch
from conftest import new_learner, trained_learner
from torch import nn

from rlplastic.envs import Phase
from rlplastic.interventions import build
from rlplastic.interventions.base import Boundary
from rlplastic.interventions.cchain import PROFILES
from rlplastic.interventions.fire import fire_weight
from rlplastic.interventions.redo import Redo, RedoConfig
from rlplastic.run.plan import resolve
from rlplastic.run.runner import act_at_boundary
from rlplastic.suites import load_suite


def switch() -> Boundary:
    return Boundary(128, 0, Phase(1, "B", 128, 128), switch=True, probe=lambda n: {})


def layers(net: nn.Module, kind: type) -> dict[str, nn.Module]:
    return {name: m for name, m in net.named_modules() if isinstance(m, kind)}


def test_fire_dqn_preset_resets_linears_and_keeps_adam() -> None:
    options = resolve(load_suite("atari"), "smoke", "fire", 0, {}, preset="fire_dqn").method_options["fire"]
    assert options["linear"] == "reset" and options["reset_optimizer"] is False


def test_cchain_dqn_preset_is_the_official_continual_minatar_setting() -> None:
    """The values read from bluecontra/C-CHAIN crl_minatar (run script and DoubleDQN_CCHAIN's defaults)."""
    config = resolve(load_suite("cminatar"), "paper", "cchain", 0, {}, preset="cchain_dqn")
    assert config.tasks == ("SpaceInvaders", "Asterix", "Seaquest") and config.steps_per_phase == 2_000_000
    official = {
        "double": True,
        "optimizer": "adam",
        "learning_rate": 3e-4,
        "eps": 1e-8,
        "loss": "mse",
        "batch_size": 32,
        "buffer_size": 100_000,
        "train_frequency": 1,
        "gradient_steps": 1,
        "target_network_frequency": 1000,
        "learning_starts": 10_000,
        "start_e": 1.0,
        "end_e": 0.1,
        "epsilon_schedule": "run",  # one agent for all games: epsilon never restarts
        "gamma": 0.99,
        "clip_reward": False,
        "encoder": "minatar_cnn",  # 16 3x3 filters, 128 units
        "init": "torch",
    }
    assert {k: config.agent_options[k] for k in official} == official
    assert config.agent_options["exploration_steps"] == 110_000  # 10k warm-up + 100k of decay
    assert config.env_options["seaquest_stall_steps"] == 1000 and config.env_options["sticky_action_prob"] == 0.1
    assert config.method_options["cchain"]["target_scale"] == 0.0  # each output kind's official value:
    q = PROFILES["q"]  # target_rel_loss_scale 0.01, reg_coef 50 until update 10,000, a 50,000-update window
    assert (q.distance, q.target, q.initial, q.warmup, q.window, q.restart_at_switch) == (
        "mse",
        0.01,
        50.0,
        10_000,
        50_000,
        False,
    )


def test_fire_linear_reset_returns_linears_to_init_and_projects_convs() -> None:
    hooks = build("fire", {"fire": {"linear": "reset", "reset_optimizer": False}})
    learner, env = new_learner(hooks, agent="dqn")  # MinAtar's CNN: one conv, a hidden Linear and the Q head
    env.close()
    net = learner.networks["q"]
    initial = {k: v.clone() for k, v in net.state_dict().items()}
    with torch.no_grad():  # training's stand-in: every weight moves away from its initial value
        for p in net.parameters():
            p.add_(torch.randn_like(p))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    state_before = set(learner.optimizers["q"].state)
    assert act_at_boundary(hooks, learner, switch())
    assert len(layers(net, nn.Linear)) == 2 and len(layers(net, nn.Conv2d)) == 1
    for name in layers(net, nn.Linear):
        for p in ("weight", "bias"):
            assert torch.equal(net.state_dict()[f"{name}.{p}"], initial[f"{name}.{p}"]), (name, p)
    for name, conv in layers(net, nn.Conv2d).items():
        w = before[f"{name}.weight"]
        assert torch.allclose(conv.weight, fire_weight(w), atol=1e-6)
        # FIRE's conv: every tap's (out, in) slice a scaled near-isometry, singular values sqrt(out/in)/(kh*kw)
        out_ch, in_ch, kh, kw = w.shape
        scale = (out_ch / in_ch) ** 0.5 / (kh * kw)
        for i in range(kh):
            for j in range(kw):
                s = torch.linalg.svdvals(conv.weight.detach()[:, :, i, j] / scale)
                assert s.max() == pytest.approx(1.0, abs=1e-2)
        assert torch.equal(conv.bias, before[f"{name}.bias"])  # the official script leaves conv biases alone
    assert set(learner.optimizers["q"].state) == state_before  # Adam's state kept, as the DQN script does
    assert torch.equal(learner.target_networks["q"].state_dict()["q.weight"], initial["q.weight"])


def test_fire_linear_reset_survives_a_checkpoint() -> None:
    hooks = build("fire", {"fire": {"linear": "reset"}})
    learner, env = new_learner(hooks, agent="dqn")
    env.close()
    state = hooks.state_dict()
    fresh = build("fire", {"fire": {"linear": "reset"}})
    fresh.load_state_dict(state, learner)
    assert fresh.state_dict()["initial"].keys() == state["initial"].keys()
    with pytest.raises(ValueError, match="linear must be one of project, reset"):
        build("fire", {"fire": {"linear": "zero"}})


def test_redo_zeroes_a_weight_outgoing_of_one_recycled_unit_and_incoming_of_the_next() -> None:
    learner = trained_learner()  # PPO on MinAtar: a conv layer of 16 channels, then a Linear layer of 128 units
    net = learner.networks["actor_critic"]
    conv, fc = (h.incoming for h in net.hidden_layers())
    first = net.hidden_layers()[0]
    with torch.no_grad():  # channel 3 of the conv and unit 7 of the Linear layer output 0 always: dormant
        conv.weight[3], conv.bias[3] = 0.0, 0.0
        fc.weight[7], fc.bias[7] = 0.0, 0.0
    counts = Redo(RedoConfig()).recycle(learner)
    assert counts["actor_critic"][0] >= 1 and counts["actor_critic"][1] >= 1
    shared = first.outgoing_columns(3)  # fc's columns that read channel 3
    others = [c for c in range(fc.in_features) if c not in set(shared)]
    assert torch.equal(fc.weight[7, shared], torch.zeros(len(shared)))  # zeroed, as dopamine's order gives
    assert (fc.weight[7, others] != 0).all()  # the rest of unit 7's incoming weights: re-initialised
    assert torch.equal(fc.weight[:, shared], torch.zeros(fc.out_features, len(shared)))


def test_cbp_official_adam_by_hand() -> None:
    hooks = build("cbp", {"cbp": {"adam_betas": [0.99, 0.99], "adam_weight_decay": 1e-4}})
    learner, env = new_learner(hooks, agent="ppo", suite="walker")
    env.close()
    for opt in learner.optimizers.values():
        assert type(opt) is torch.optim.Adam  # L2 in the gradient, not AdamW's decoupled decay
        assert all(g["betas"] == (0.99, 0.99) and g["weight_decay"] == 1e-4 for g in opt.param_groups)
    params = [p for opt in learner.optimizers.values() for g in opt.param_groups for p in g["params"]]
    before = [p.detach().clone() for p in params]
    for p in params:
        p.grad = torch.ones_like(p)
    for opt in learner.optimizers.values():
        opt.step()
    for p, w in zip(params, before, strict=True):
        state = learner.optimizers["actor" if p in set(learner.networks["actor"].parameters()) else "critic"].state[p]
        g = 1.0 + 1e-4 * w  # the gradient plus the L2 term
        assert torch.allclose(state["exp_avg"], (1 - 0.99) * g)  # beta1 = 0.99
        assert torch.allclose(state["exp_avg_sq"], (1 - 0.99) * g * g)  # beta2 = 0.99


def test_cbp_keeps_the_agents_adam_by_default_and_the_preset_sets_the_official_one() -> None:
    learner, env = new_learner(build("cbp"), agent="ppo", suite="walker")
    env.close()
    groups = [g for opt in learner.optimizers.values() for g in opt.param_groups]
    assert all(g["betas"] == (0.9, 0.999) and g["weight_decay"] == 0.0 for g in groups)
    for suite in ("walker", "humanoid", "slippery"):
        options = resolve(load_suite(suite), "smoke", "cbp", 0, {}, preset="cbp_official").method_options["cbp"]
        assert options["adam_betas"] == [0.99, 0.99] and options["adam_weight_decay"] == 1e-4


def test_cbp_official_adam_refuses_other_optimisers_and_bad_betas() -> None:
    with pytest.raises(ValueError, match="trains with CenteredRMSprop"):
        new_learner(build("cbp", {"cbp": {"adam_betas": [0.99, 0.99]}}), agent="dqn")  # MinAtar DQN's RMSprop
    with pytest.raises(ValueError, match="trains with AdamW"):
        new_learner(build("wd+cbp", {"cbp": {"adam_weight_decay": 1e-4}}), agent="ppo", suite="walker")
    with pytest.raises(ValueError, match=r"adam_betas must be \[\] or \[beta1, beta2\]"):
        build("cbp", {"cbp": {"adam_betas": [0.9]}})
