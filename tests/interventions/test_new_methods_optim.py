"""C-CHAIN, TRAC and PSGD Kron against small examples computed by hand from their papers' formulas (mpmath's
erfi is the independent oracle for TRAC's; it ships with torch through sympy)."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch
from conftest import new_learner
from torch import nn

from rlplastic.agents.learner import train
from rlplastic.interventions import build
from rlplastic.interventions.cchain import PROFILES, Profile, Scale, churn
from rlplastic.interventions.trac import TracConfig, TracOptimizer, erfi

# --- TRAC ---------------------------------------------------------------------------------------------


def test_erfi_matches_mpmath_and_is_odd() -> None:
    xs = [0.0, 0.1, 0.5, 1 / math.sqrt(2), 1.0, 2.0, 5.0, 9.0]
    ours = erfi(torch.tensor(xs, dtype=torch.float64))
    for x, value in zip(xs, ours.tolist(), strict=True):
        assert value == pytest.approx(float(mpmath.erfi(x)), rel=1e-12, abs=1e-300)
    assert torch.equal(erfi(-torch.tensor(xs)), -erfi(torch.tensor(xs)))
    assert erfi(torch.tensor(0.5)).item() == pytest.approx(0.614952094696511, rel=1e-5)  # float32


def hand_scale(sigma: list[float], v: list[float], s_init: float = 1e-8, eps: float = 1e-8) -> float:
    """S = sum_j s_init / erfi(1/sqrt 2) * erfi(sigma_j / (sqrt(2 v_j) + eps)), in mpmath."""
    unit = mpmath.erfi(1 / mpmath.sqrt(2))
    return float(
        sum(s_init / unit * mpmath.erfi(s / (mpmath.sqrt(2 * w) + eps)) for s, w in zip(sigma, v, strict=True))
    )


def test_trac_two_sgd_steps_by_hand() -> None:
    """One weight at 1, SGD(lr 0.1) as the base, gradients 2 then -1, betas (0.9, 0.99). In float64: the first
    moves are ~1e-8, below float32's resolution at 1."""
    betas, eps = [0.9, 0.99], 1e-8
    w = nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    opt = TracOptimizer(torch.optim.SGD([w], lr=0.1), TracConfig(betas=betas))
    # step 1: theta_ref = 1, offset 0, so h = 0; v = 0, sigma = beta * 1e-8, argument sigma / eps = beta.
    w.grad = torch.tensor([2.0], dtype=torch.float64)
    opt.step()
    sigma1 = [b * 1e-8 for b in betas]
    s1 = hand_scale(sigma1, [0.0, 0.0])
    offset1 = -0.2  # the base's update u_1 = -0.1 * 2
    assert opt.scale == pytest.approx(s1, rel=1e-5)
    assert w.item() == pytest.approx(1 + offset1 * s1, rel=1e-6)
    # step 2: offset recovered as (theta - ref) / (S_1 + eps); h = offset * g; then u_2 = +0.1 is added.
    w.grad = torch.tensor([-1.0], dtype=torch.float64)
    opt.step()
    offset = offset1 * s1 / (s1 + eps)
    h = offset * -1.0
    sigma2 = [b * s - h for b, s in zip(betas, sigma1, strict=True)]
    s2 = hand_scale(sigma2, [h * h, h * h])
    assert opt.scale == pytest.approx(s2, rel=1e-4)
    assert w.item() == pytest.approx(1 + (offset + 0.1) * max(s2, 0.0), rel=1e-5)
    assert opt.steps == 2


def test_trac_scale_below_zero_leaves_the_reference_weights() -> None:
    w = nn.Parameter(torch.tensor([1.0, -1.0]))
    opt = TracOptimizer(torch.optim.SGD([w], lr=0.5), TracConfig())
    w.grad = torch.tensor([1.0, -1.0])
    opt.step()
    w.grad = torch.tensor([-1.0, 1.0])  # now along the offset: h = <offset, g> > 0 drives sigma, so S, below 0
    opt.step()
    assert opt.scale < 0 and torch.equal(w.detach(), torch.tensor([1.0, -1.0]))  # theta_ref + 0 * offset


def test_trac_checkpoint_round_trip_continues_exactly() -> None:
    torch.manual_seed(0)
    nets = [nn.Linear(3, 2) for _ in range(2)]
    nets[1].load_state_dict(nets[0].state_dict())
    opts = [TracOptimizer(torch.optim.Adam(n.parameters(), lr=0.01), TracConfig()) for n in nets]
    x = torch.randn(8, 3)
    for _ in range(3):
        for n, o in zip(nets, opts, strict=True):
            o.zero_grad()
            n(x).square().mean().backward()
            o.step()
    fresh = TracOptimizer(torch.optim.Adam(nets[1].parameters(), lr=0.01), TracConfig())
    fresh.load_state_dict(opts[0].state_dict())
    for n, o in ((nets[0], opts[0]), (nets[1], fresh)):
        o.zero_grad()
        n(x).square().mean().backward()
        o.step()
    assert all(torch.equal(a, b) for a, b in zip(nets[0].parameters(), nets[1].parameters(), strict=True))


def test_trac_after_a_load_still_shares_the_base_optimiser_s_groups_and_state() -> None:
    """Learning-rate schedules and optimiser resets go through the wrapper: after a resume they must still reach
    the base optimiser (torch's load_state_dict gives the base new groups and a new state)."""
    net = nn.Linear(3, 2)
    opt = TracOptimizer(torch.optim.Adam(net.parameters(), lr=0.01), TracConfig())
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    opt.load_state_dict(opt.state_dict())
    for group in opt.param_groups:
        group["lr"] = 0.5
    assert [g["lr"] for g in opt.base.param_groups] == [0.5]
    opt.state.clear()
    assert len(opt.base.state) == 0


def test_cchain_refuses_a_method_that_edits_weights_outside_the_step() -> None:
    from rlplastic.interventions.registry import MethodError, split_method

    for other in ("wclip", "nap", "fire", "cbp"):
        with pytest.raises(MethodError, match=f"'cchain' and '{other}'|'{other}' and 'cchain'"):
            split_method(f"cchain+{other}")
    assert split_method("lnwd+cchain") == ["lnwd", "cchain"]


# --- Kron ---------------------------------------------------------------------------------------------


def test_kron_first_step_on_a_vector_by_hand() -> None:
    """A vector gets a diagonal preconditioner q (init 1). First step: m = g; with noise V ~ N(0, 1) (the step's
    first draw), G = m + sqrt(eps32) * mean|m| * V, A = q G, B = V / q; q <- q - 0.1 (A^2 - B^2) q / max(A^2 + B^2);
    step = q^2 G, its RMS clipped to 1.1; w <- w - lr * step."""
    pytest.importorskip("kron_torch")
    from rlplastic.interventions.kron import Kron, KronConfig

    w = nn.Parameter(torch.tensor([0.5, -1.0, 2.0]))
    g = torch.tensor([3.0, -0.5, 1.0], dtype=torch.float64)
    opt = Kron.make([{"params": [w], "lr": 0.01}], KronConfig())
    w.grad = g.float().clone()
    torch.manual_seed(0)
    opt.step()
    torch.manual_seed(0)
    v = torch.randn(3).double()
    noisy = g + math.sqrt(torch.finfo(torch.float32).eps) * g.abs().mean() * v
    a2, b2 = noisy**2, v**2
    q = 1 - 0.1 * (a2 - b2) / (a2 + b2).max()
    step = q**2 * noisy
    step = step * min(1.0, 1.1 / float(step.square().mean().sqrt()))
    expected = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64) - 0.01 * step
    assert torch.allclose(w.detach().double(), expected, rtol=1e-5, atol=1e-7)
    assert torch.allclose(opt.state[w]["Q"][0].double(), q, rtol=1e-5)


def test_kron_matrix_factors_stay_upper_triangular_with_positive_diagonal() -> None:
    """PSGD fits each triangular factor on the group of upper-triangular matrices with positive diagonal
    (arXiv 1809.10232): an update must keep it there."""
    pytest.importorskip("kron_torch")
    from rlplastic.interventions.kron import Kron, KronConfig

    torch.manual_seed(0)
    layer = nn.Linear(5, 4)
    opt = Kron.make([{"params": list(layer.parameters()), "lr": 0.01}], KronConfig())
    for _ in range(20):
        opt.zero_grad()
        layer(torch.randn(16, 5)).square().mean().backward()
        opt.step()
    for q in opt.state[layer.weight]["Q"]:
        assert q.dim() == 2 and torch.equal(q, q.triu()) and (q.diagonal() > 0).all()


def test_kron_checkpoint_survives_a_weights_only_load(tmp_path) -> None:
    pytest.importorskip("kron_torch")
    from rlplastic.interventions.kron import Kron, KronConfig

    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3).to(memory_format=torch.channels_last)  # the package alone fails on these
    opt = Kron.make([{"params": list(conv.parameters()), "lr": 0.01}], KronConfig())
    for _ in range(3):
        opt.zero_grad()
        conv(torch.randn(4, 2, 5, 5)).square().mean().backward()
        opt.step()
    torch.save(opt.state_dict(), tmp_path / "opt.pt")
    again = Kron.make([{"params": list(conv.parameters()), "lr": 0.01}], KronConfig())
    again.load_state_dict(torch.load(tmp_path / "opt.pt", weights_only=True))
    assert int(again._prob_step) == 3 and again.rng.getstate() == opt.rng.getstate()
    assert torch.equal(again.state[conv.weight]["Q"][0], opt.state[conv.weight]["Q"][0])
    assert again.state[conv.weight]["exprs"] == opt.state[conv.weight]["exprs"]
    again.zero_grad()
    conv(torch.randn(4, 2, 5, 5)).square().mean().backward()
    again.step()  # the restored state steps


# --- C-CHAIN ------------------------------------------------------------------------------------------


def test_churn_distances_by_hand() -> None:
    out, ref = torch.tensor([[1.0, 2.0], [0.0, 0.0]]), torch.tensor([[0.0, 2.0], [1.0, 3.0]])
    assert churn(out, ref, "mse").item() == pytest.approx((1 + 0 + 1 + 9) / 4)
    logits_ref, logits = torch.tensor([[0.0, math.log(3.0)]]), torch.tensor([[0.0, 0.0]])  # pi_ref = (1/4, 3/4)
    assert churn(logits, logits_ref, "cross_entropy").item() == pytest.approx(-math.log(0.5 + 1e-8), rel=1e-6)


def test_lambda_waits_for_the_warmup_then_follows_the_loss_ratio() -> None:
    scale = Scale(Profile("mse", 0.5, 7.0, warmup=2, window=2, floor=0.0, restart_at_switch=True), target=0.0)
    scale.record(torch.tensor(-4.0), torch.tensor(1.0))  # |L_main| counts
    scale.record(torch.tensor(2.0), torch.tensor(3.0))  # iteration 1: means 3 and 2
    scale.end_iteration()
    assert scale.value == 7.0  # still warming up
    scale.record(torch.tensor(1.0), torch.tensor(2.0))  # iteration 2: 1 and 2
    scale.end_iteration()
    assert scale.value == pytest.approx(0.5 * 2.0 / (2.0 + 1e-8))  # window means 2 and 2
    scale.record(torch.tensor(5.0), torch.tensor(1.0))  # iteration 3 evicts iteration 1: means 3 and 1.5
    scale.end_iteration()
    assert scale.value == pytest.approx(0.5 * 3.0 / (1.5 + 1e-8))
    floored = Scale(PROFILES["policy"], target=0.0)
    for _ in range(PROFILES["policy"].warmup):
        floored.record(torch.tensor(0.0), torch.tensor(1.0))
        floored.end_iteration()
    assert floored.value == 1.0  # procgen's max(., 1)


def test_cchain_dqn_term_is_lambda_times_q_churn_against_the_weights_before_the_last_update() -> None:
    hooks = build("cchain")
    learner, env = new_learner(hooks, agent="dqn")
    train(learner, env, 64, hooks)  # past learning_starts
    net = learner.networks["q"]
    before = [p.detach().clone() for p in net.parameters()]
    learner.collect(lambda step, episode: None)
    learner.update(hooks)  # one more update
    env.close()
    previous = hooks._previous["q"].copy
    assert all(torch.equal(a, b) for a, b in zip(previous.parameters(), before, strict=True))
    state = hooks._rng.bit_generator.state
    hooks._cache = None
    term = hooks.extra_loss(learner, "q")
    rng = np.random.default_rng()
    rng.bit_generator.state = state
    batch = learner.sample(learner.cfg.batch_size, rng)
    with torch.no_grad():
        expected = 50.0 * ((net(batch["obs"]) - previous(batch["obs"])) ** 2).mean()
    assert term.item() == pytest.approx(expected.item(), rel=1e-5) and term.item() > 0
    with torch.no_grad():  # another method edits the weights: no term until the next step
        net.q.bias.add_(1.0)
    assert hooks.extra_loss(learner, "q") is None
