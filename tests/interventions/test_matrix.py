"""Every (agent, method) pair through one task switch, asserting the effect the method promises: the weights
changed the way its paper says, targets equal the online networks after an edit, and the optimiser state (and
SAC's temperature) is kept or cleared as documented. Discrete agents run on real MinAtar, continuous ones
(SAC, Gaussian PPO) on real dm_control walker. An agent another package registers (the A2C of
tests/agents/plugin_a2c) goes through the same checks: methods know only the Learner seam."""

from __future__ import annotations

import math

import mpmath
import pytest
import torch
from conftest import trained_learner
from torch import nn

from rlplastic.agents.networks import CReLU, DeepFourier
from rlplastic.envs import Phase, make_env
from rlplastic.envs.seeding import env_seeds
from rlplastic.interventions import build
from rlplastic.interventions.base import Boundary
from rlplastic.interventions.cchain import PROFILES as CCHAIN_PROFILES
from rlplastic.interventions.fire import fire_weight
from rlplastic.interventions.injection import InjectedHead
from rlplastic.interventions.nap import joint_norm, projected
from rlplastic.interventions.parseval import parseval_term
from rlplastic.interventions.registry import BUILTINS
from rlplastic.interventions.trac import TracOptimizer
from rlplastic.interventions.wclip import clipped_layers, init_bound
from rlplastic.run.runner import act_at_boundary
from rlplastic.suites import load_suite

# case -> (agent, suite, the incoming task of the switch)
CASES = {
    "ppo": ("ppo", "minatar", "SpaceInvaders"),
    "dqn": ("dqn", "minatar", "SpaceInvaders"),
    "sac": ("sac", "walker", "walker-walk"),
    "ppo-gaussian": ("ppo", "walker", "walker-walk"),
    "a2c-plugin": ("a2c", "minatar", "SpaceInvaders"),  # an out-of-tree agent (tests/agents/plugin_a2c)
    "sac-simba": ("sac", "walker", "walker-walk"),
    "ppo-gaussian-simba": ("ppo", "walker", "walker-walk"),
    "sb3_ppo": ("sb3_ppo", "minatar", "SpaceInvaders"),  # SB3's own PPO through its policy views (agents/sb3)
    "sb3_dqn": ("sb3_dqn", "minatar", "SpaceInvaders"),
    "sb3_sac": ("sb3_sac", "walker", "walker-walk"),
}
# agent options of a case: the SimBa residual torso (rlplastic/agents/networks.py), whose units sit in its blocks
CASE_OPTIONS = {"sac-simba": {"encoder": "simba"}, "ppo-gaussian-simba": {"encoder": "simba"}}
OPTIONS = {"cbp": {"cbp": {"maturity": 0, "replacement_rate": 0.05}}, "lnwd": {"lnwd": {"weight_decay": 1e-3}}}
# DASH probes 4 x 64 transitions instead of its default 8 x 256 (2,048 single-env steps for DQN and SAC took 10-20 s
# a case): check_dash holds for any probe size, since it reads batches x batch_size from the config it ran with.
OPTIONS["dash"] = {"dash": {"batches": 4, "batch_size": 64}}
OPTIONS["kron"] = {"kron": {"max_size_triangular": 256}}  # SimBa's 512/2048-wide factors diagonal: 70 s -> seconds
OPTIONS["wclip"] = {"wclip": {"kappa": 0.5}}  # tight enough that training surely pushes weights to the bound


def switch(learner, probes: list[int], suite_name: str, task: str) -> Boundary:
    """The first boundary of phase 2 (``task``), with a real probe that records how much it gathered."""
    suite = load_suite(suite_name)

    def probe(n: int):
        probes.append(n)
        num_envs = learner.cfg.num_envs
        env = make_env(suite.env, task, env_seeds(0, 1, num_envs, "probe"), suite.env_options)
        return learner.probe(env, n)

    step = learner.global_step
    return Boundary(step, step - learner.iteration_steps, Phase(1, task, step, 1024), True, probe)


def snapshot(learner) -> dict[str, dict[str, torch.Tensor]]:
    return {name: {k: v.clone() for k, v in net.state_dict().items()} for name, net in learner.networks.items()}


def optimizer_params(learner) -> set[int]:
    return {id(p) for opt in learner.optimizers.values() for p in opt.state}


def fresh_under_seed(learner, name: str, seed: int = 1234) -> dict[str, torch.Tensor]:
    """The fresh weights a method drew for network ``name`` after ``torch.manual_seed(seed)``, drawing fresh
    networks in the learner's order as the methods do."""
    torch.manual_seed(seed)
    draws = {n: learner.fresh_network(n).state_dict() for n in learner.networks}
    return draws[name]


def assert_targets_follow(learner) -> None:
    for name, target in learner.target_networks.items():
        online = learner.networks[name].state_dict()
        for k, v in target.state_dict().items():
            assert torch.equal(v, online[k]), f"target {name}.{k} differs from the online network"


def head_outputs(learner, batch) -> dict[str, dict[str, torch.Tensor]]:
    return {n: {h: head(net.features(batch)) for h, head in net.heads.items()} for n, net in learner.networks.items()}


def temperature_reset(learner) -> bool:
    """True where the learner has a learned temperature and it is back at its start, with fresh optimiser state."""
    return learner.log_alpha.item() == 0.0 and not learner.alpha_optimizer.state


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("method", list(BUILTINS))
def test_method_acts_as_its_paper_says(case: str, method: str, request: pytest.FixtureRequest) -> None:
    agent, suite, task = CASES[case]
    if agent == "a2c":
        request.getfixturevalue("a2c_agent")  # registered by its entry point, for this test only
    if method == "kron":
        pytest.importorskip("kron_torch", reason="kron needs the kron extra: pip install 'rlplastic[kron]'")
    hooks = build(method, OPTIONS.get(method))
    learner = trained_learner(hooks, agent=agent, suite=suite, **CASE_OPTIONS.get(case, {}))
    learns_temperature = agent in ("sac", "sb3_sac")
    if learns_temperature:
        assert learner.log_alpha.item() != 0.0  # the temperature has moved, so a reset is visible
    alpha_before = getattr(learner, "log_alpha", torch.zeros(1)).item()
    before, state_before = snapshot(learner), optimizer_params(learner)
    probes: list[int] = []
    if method == "redo":  # a unit whose pre-activation is always 0 outputs 0 (ReLU and tanh): dormant
        with torch.no_grad():
            incoming = next(iter(learner.networks.values())).hidden_layers()[-1].incoming
            incoming.weight[5] = 0.0
            incoming.bias[5] = 0.0
        before = snapshot(learner)
    if method == "injection":
        batch = learner.sample(32)
        outputs = head_outputs(learner, batch)
    torch.manual_seed(1234)
    acted = act_at_boundary(hooks, learner, switch(learner, probes, suite, task))
    after = snapshot(learner)
    check = CHECKS[method]
    check(learner, hooks, before, after, state_before, probes, acted, locals())
    if acted:
        assert_targets_follow(learner)
        model = getattr(learner, "model", None)  # SB3 trains on its aliases of the targets: the rebuilt ones
        if model is not None and hasattr(model, "q_net_target"):
            assert model.q_net_target is model.policy.q_net_target
        if model is not None and hasattr(model, "critic_target"):
            assert model.critic_target.q_networks == list(learner.target_networks.values())
            assert list(model.critic_target.children())[1:] == model.critic_target.q_networks
    if learns_temperature and method not in ("reset", "fire"):  # only those two reset the temperature
        assert learner.log_alpha.item() == alpha_before


# --- what each method promises ------------------------------------------------------------------------
def check_none(learner, hooks, before, after, state_before, probes, acted, ctx) -> None:
    assert not acted and before.keys() == after.keys()
    for name in before:
        assert all(torch.equal(before[name][k], after[name][k]) for k in before[name])


def check_reset(learner, hooks, before, after, state_before, probes, acted, ctx) -> None:
    assert acted
    for name in after:
        fresh = fresh_under_seed(learner, name)
        assert all(torch.equal(after[name][k], fresh[k]) for k in fresh)
    assert optimizer_params(learner) == set()
    if hasattr(learner, "log_alpha"):
        assert temperature_reset(learner)


def check_fire(learner, hooks, before, after, state_before, probes, acted, ctx) -> None:
    assert acted
    for name in learner.networks:
        for k, v in after[name].items():
            if not k.endswith("weight"):
                continue
            if v.dim() == 1:  # a LayerNorm gain (SimBa's torso): normalisation parameters are untouched
                assert torch.equal(v, before[name][k]), k
                continue
            assert torch.allclose(v, fire_weight(before[name][k]), atol=1e-5), k
            if v.dim() == 2:  # a scaled near-isometry: the largest singular value is sqrt(out/in)
                scale = math.sqrt(v.shape[0] / v.shape[1])
                assert torch.linalg.svdvals(v / scale).max() == pytest.approx(1.0, abs=1e-2), k
        assert all(torch.equal(before[name][k], after[name][k]) for k in after[name] if k.endswith("bias"))
    assert optimizer_params(learner) == set()  # fresh optimiser state (official vision code)
    if hasattr(learner, "log_alpha"):
        assert temperature_reset(learner)  # official SAC code: the agent is rebuilt around the projected weights


def check_sp(learner, hooks, before, after, state_before, probes, acted, ctx) -> None:
    assert acted
    for name in after:
        fresh = fresh_under_seed(learner, name)
        for k in after[name]:
            assert torch.allclose(after[name][k], 0.4 * before[name][k] + 0.1 * fresh[k], atol=1e-6), k
    assert optimizer_params(learner) == state_before  # kept by default


def check_headreset(learner, hooks, before, after, state_before, probes, acted, ctx) -> None:
    assert acted
    for name, net in learner.networks.items():
        fresh = fresh_under_seed(learner, name)
        for k in after[name]:
            is_head = k.split(".")[0] in net.head_names
            expected = fresh[k] if is_head else before[name][k]
            assert torch.equal(after[name][k], expected), k
    heads = {id(p) for net in learner.networks.values() for h in net.heads.values() for p in h.parameters()}
    assert not heads & optimizer_params(learner) and optimizer_params(learner) == state_before - heads


def check_dash(learner, hooks, before, after, state_before, probes, acted, ctx) -> None:
    assert acted and probes == [hooks.config.batches * hooks.config.batch_size]  # data of the incoming task
    changed = 0
    for name in after:
        for k, v in after[name].items():
            old = before[name][k]
            rows = old.reshape(old.shape[0], -1) if v.dim() == 2 else old.reshape(1, -1)  # a bias: one factor
            new_rows = v.reshape(rows.shape)
            if v.dim() == 4:  # one factor per (out, in) slice
                rows, new_rows = old.flatten(0, 1).flatten(1), v.flatten(0, 1).flatten(1)
            factor = (new_rows * rows).sum(1) / (rows * rows).sum(1).clamp_min(1e-30)
            live = (rows != 0).any(1)
            assert torch.allclose(new_rows[live], rows[live] * factor[live, None], atol=1e-6), k
            assert ((factor[live] >= 0.3 - 1e-5) & (factor[live] <= 1 + 1e-5)).all(), k
            changed += int((factor[live] < 1 - 1e-6).sum())
    assert changed > 0 and optimizer_params(learner) == state_before  # shrinks, keeps optimiser state


def check_redo(learner, hooks, before, after, state_before, probes, acted, ctx) -> None:
    assert acted
    net = next(iter(learner.networks.values()))
    layer = net.hidden_layers()[-1]
    assert layer.incoming.bias[5] == 0 and layer.incoming.weight[5].abs().sum() > 0  # re-initialised
    for head in layer.outgoing:
        assert torch.equal(head.weight[:, 5], torch.zeros_like(head.weight[:, 5]))


def check_cbp(learner, hooks, before, after, state_before, probes, acted, ctx) -> None:
    assert not acted  # acts inside updates: during the training the fixture did
    for target in learner.target_networks.values():  # its activation hooks watch the online network only
        assert not any(m._forward_hooks for m in target.modules())
    stats = next(iter(hooks._stats.values()))
    assert any((st["age"] < st["age"].max()).any() for st in stats), "no unit was ever replaced"


def check_l2init(learner, hooks, before, after, state_before, probes, acted, ctx) -> None:
    assert not acted
    name, net = next(iter(learner.networks.items()))
    head = next(iter(net.heads.values()))
    hooks.attach(learner)  # anchor here, then move one weight by 0.5: the gradient is 2 * lam * 0.5
    with torch.no_grad():
        head.weight += 0.5
    net.zero_grad()
    hooks.extra_loss(learner, name).backward()
    assert torch.allclose(head.weight.grad, torch.full_like(head.weight, 2 * 1e-2 * 0.5))


def check_injection(learner, hooks, before, after, state_before, probes, acted, ctx) -> None:
    assert acted
    now = head_outputs(learner, ctx["batch"])
    for name, net in learner.networks.items():
        assert all(isinstance(h, InjectedHead) for h in net.heads.values())
        for head, out in now[name].items():
            assert torch.allclose(out, ctx["outputs"][name][head], atol=1e-5), (name, head)


def check_arch(learner, hooks, before, after, state_before, probes, acted, ctx) -> None:
    assert not acted
    method = hooks.name
    for net in learner.networks.values():
        mods = list(net.encoder.modules())  # in order, through a residual torso's blocks too
        acts = [i for i, m in enumerate(mods) if isinstance(m, (nn.ReLU, nn.Tanh, CReLU))]
        if method in ("ln", "lnwd"):
            assert all(isinstance(mods[i - 1], (nn.LayerNorm, nn.GroupNorm)) for i in acts)
        if method == "crelu":
            assert acts and all(isinstance(mods[i], CReLU) for i in acts)
    decay = {g["weight_decay"] for opt in learner.optimizers.values() for g in opt.param_groups}
    assert decay == ({1e-3} if method == "lnwd" else {1e-5} if method == "wd" else {0.0})


def check_wclip(learner, hooks, before, after, state_before, probes, acted, ctx) -> None:
    assert not acted  # clips after every optimiser step, during the training the fixture did
    at_bound = 0
    for net in learner.networks.values():
        for layer in clipped_layers(net, heads=True):
            bound = 0.5 * init_bound(layer)
            for p in (layer.weight, layer.bias):
                assert p.abs().max() <= bound * (1 + 1e-6), layer
                at_bound += int(torch.isclose(p.abs(), torch.tensor(bound)).sum())
    assert at_bound > 0, "no weight reached the clipping bound"


def check_parseval(learner, hooks, before, after, state_before, probes, acted, ctx) -> None:
    assert not acted
    for name, net in learner.networks.items():
        hidden = [h.incoming.weight for h in net.hidden_layers()]
        expected = 1e-3 * sum((64 / w.shape[0]) ** 2 * parseval_term(w, 2.0) for w in hidden)
        net.zero_grad()
        loss = hooks.extra_loss(learner, name)
        assert torch.allclose(loss, expected), name
        loss.backward()
        assert all(w.grad is not None and w.grad.abs().sum() > 0 for w in hidden), name
        heads = [p for h in net.heads.values() for p in h.parameters()]
        assert all(p.grad is None for p in heads), name  # the output layers are not regularised


def check_nap(learner, hooks, before, after, state_before, probes, acted, ctx) -> None:
    assert not acted
    for net_name, net in learner.networks.items():
        mods = list(net.encoder.modules())  # in order, through a residual torso's blocks too
        acts = [i for i, m in enumerate(mods) if isinstance(m, (nn.ReLU, nn.Tanh))]
        assert acts and all(isinstance(mods[i - 1], (nn.LayerNorm, nn.GroupNorm)) for i in acts)
        groups = projected(net, hooks.config)
        assert len(groups) == 2 * len(net.hidden_layers())  # each hidden layer and its normalisation
        for name, group in groups.items():  # back at the initial norm after training's last step
            assert joint_norm(group).item() == pytest.approx(hooks._norms[(net_name, name)], rel=1e-4), name


def check_dff(learner, hooks, before, after, state_before, probes, acted, ctx) -> None:
    assert not acted
    for net in learner.networks.values():
        layers = net.hidden_layers()
        assert layers and all(isinstance(h.activation, DeepFourier) and h.copies == 2 for h in layers)
        for head in layers[-1].outgoing:
            assert head.in_features == 2 * layers[-1].units


def check_cchain(learner, hooks, before, after, state_before, probes, acted, ctx) -> None:
    assert not acted  # acts inside every update; at a boundary only lambda's schedule moves
    regularised = 0
    for name, net in learner.networks.items():
        term = hooks.extra_loss(learner, name)
        heads = [h for h in net.head_names if h in CCHAIN_PROFILES]
        if not heads:  # a value network (Gaussian PPO's critic): the official code reduces policy churn only
            assert term is None, name
            continue
        regularised += 1
        previous = hooks._previous[name].copy  # the weights before the last update, not the live ones
        assert any(not torch.equal(a, b) for a, b in zip(previous.parameters(), net.parameters(), strict=True)), name
        assert term is not None and torch.isfinite(term) and term > 0, name
        assert hooks.coefficient(name) == CCHAIN_PROFILES[heads[0]].initial, name  # still warming up
        net.zero_grad()
        term.backward()
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters()), name
    assert regularised > 0


def check_trac(learner, hooks, before, after, state_before, probes, acted, ctx) -> None:
    assert not acted  # acts inside every optimiser step
    unit = mpmath.erfi(1 / mpmath.sqrt(2))
    for name, opt in learner.optimizers.items():
        assert isinstance(opt, TracOptimizer) and not isinstance(opt.base, TracOptimizer) and opt.steps > 0, name
        tuner = opt.tuner  # s_j = s_init / erfi(1/sqrt 2) * erfi(sigma_j / (sqrt(2 v_j) + eps)), by mpmath
        for s, sigma, v in zip(*(tuner[k].tolist() for k in ("s", "sigma", "v")), strict=True):
            expected = float(1e-8 / unit * mpmath.erfi(sigma / (mpmath.sqrt(2 * v) + 1e-8)))
            assert s == pytest.approx(expected, rel=1e-4, abs=1e-14), name
        assert opt.refs and all(p in opt.refs for p in learner.networks[name].parameters() if p.grad is not None)
        if opt.scale <= 0:  # the scale is clipped at 0: every weight sits at its reference
            assert all(torch.equal(p, ref) for p, ref in opt.refs.items()), name


def check_kron(learner, hooks, before, after, state_before, probes, acted, ctx) -> None:
    assert not acted  # acts inside every optimiser step
    import kron_torch

    for name, opt in learner.optimizers.items():
        assert isinstance(opt, kron_torch.Kron), name
        trained = [st for st in opt.state.values() if st]
        assert trained, name
        for st in trained:
            assert st["momentum_buffer"].abs().sum() > 0
            for q in st["Q"]:  # each factor stays in PSGD's group: upper triangular, positive diagonal
                assert torch.equal(q, q.triu()) if q.dim() == 2 else True
                assert (q.diagonal() if q.dim() == 2 else q).gt(0).all(), name


CHECKS = {
    "none": check_none,
    "reset": check_reset,
    "fire": check_fire,
    "sp": check_sp,
    "headreset": check_headreset,
    "dash": check_dash,
    "redo": check_redo,
    "cbp": check_cbp,
    "l2init": check_l2init,
    "injection": check_injection,
    "ln": check_arch,
    "wd": check_arch,
    "lnwd": check_arch,
    "crelu": check_arch,
    "wclip": check_wclip,
    "parseval": check_parseval,
    "nap": check_nap,
    "dff": check_dff,
    "cchain": check_cchain,
    "trac": check_trac,
    "kron": check_kron,
}


def test_every_builtin_has_a_check() -> None:
    assert set(CHECKS) == set(BUILTINS)
