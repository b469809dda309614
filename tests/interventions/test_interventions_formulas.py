"""Each method against a small example computed by hand from its paper's formula."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import trained_learner
from torch import nn

from rlplastic.agents.networks import ActorCritic, ArchSpec, CReLU, HiddenLayer
from rlplastic.interventions import MethodError, build, split_method
from rlplastic.interventions.cbp import replacement_count, update_utility
from rlplastic.interventions.dash import ema_negative_gradient, shrink
from rlplastic.interventions.injection import InjectedHead
from rlplastic.interventions.redo import Redo, RedoConfig, dormant_units
from rlplastic.interventions.units import outgoing_weight_magnitude, replace_units

# --- DASH ---------------------------------------------------------------------------------------------


def ac(learner) -> nn.Module:
    """The PPO learner's one network."""
    return learner.networks["actor_critic"]


def test_dash_linear_rows_shrink_by_clamped_cosine() -> None:
    w = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 0.0]])
    g = torch.tensor([[1.0, 1.0], [0.0, -1.0], [3.0, 0.0]])
    # cos: row 0 = 1/sqrt(2); row 1 = -1 -> clamped to lam = 0.3; row 2 = 1 -> unchanged.
    expected = torch.tensor([[1 / math.sqrt(2), 0.0], [0.0, 0.3], [2.0, 0.0]])
    assert torch.allclose(shrink(w, g, lam=0.3), expected, atol=1e-6)


def test_dash_conv_slices_and_bias_scalar() -> None:
    w = torch.tensor([[[[1.0, 0.0]]], [[[1.0, 1.0]]]])  # (out=2, in=1, kh=1, kw=2)
    g = torch.tensor([[[[1.0, 0.0]]], [[[1.0, -1.0]]]])  # cos per slice: 1 and 0 -> 0.3
    assert torch.allclose(shrink(w, g, 0.3), torch.tensor([[[[1.0, 0.0]]], [[[0.3, 0.3]]]]))
    bias, gb = torch.tensor([1.0, 1.0]), torch.tensor([1.0, 0.0])  # one cosine: 1/sqrt(2)
    assert torch.allclose(shrink(bias, gb, 0.3), torch.full((2,), 1 / math.sqrt(2)))


def test_dash_gradient_ema_weights_the_newest_batch_most() -> None:
    # g1 = 0.3*(-1) = -0.3; g2 = 0.7*(-0.3) + 0.3*(-2) = -0.81
    got = ema_negative_gradient([torch.tensor(1.0), torch.tensor(2.0)], alpha=0.3)
    assert got.item() == pytest.approx(-0.81)


def test_dash_keeps_optimizer_state_and_changes_only_weight_layers() -> None:
    method = build("dash")
    learner = trained_learner(method)
    state_before = {id(p): s["exp_avg"].clone() for p, s in learner.optimizers["actor_critic"].state.items()}
    before = {k: v.clone() for k, v in ac(learner).state_dict().items()}
    method.apply(learner)
    after = ac(learner).state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    for k in before:  # every change is a shrink: |w'| <= |w|
        assert (after[k].abs() <= before[k].abs() + 1e-7).all()
    assert {id(p) for p in learner.optimizers["actor_critic"].state} == set(state_before)


# --- ReDo ---------------------------------------------------------------------------------------------


def test_redo_dormant_set_from_normalised_scores() -> None:
    activity = torch.tensor([1.0, 0.02, 1.0, 2.0])  # mean 1.005 -> scores 0.995, 0.0199, 0.995, 1.99
    assert dormant_units(activity, tau=0.025).tolist() == [1]
    assert dormant_units(activity, tau=0.0).tolist() == []
    assert dormant_units(torch.tensor([0.0, 1.0]), tau=0.0).tolist() == [0]


def test_replace_units_resets_incoming_zeroes_outgoing_and_their_moments() -> None:
    torch.manual_seed(0)
    inc, out = nn.Linear(3, 4), nn.Linear(4, 2)
    opt = torch.optim.Adam([*inc.parameters(), *out.parameters()])
    out(torch.relu(inc(torch.randn(5, 3)))).sum().backward()
    opt.step()
    h = HiddenLayer(inc, nn.ReLU(), (out,))
    new = torch.full((4, 3), 7.0)
    old_w, old_out = inc.weight.detach().clone(), out.weight.detach().clone()
    replace_units(h, torch.tensor([2]), new, [opt])
    assert torch.equal(inc.weight[2], new[2]) and torch.equal(inc.weight[[0, 1, 3]], old_w[[0, 1, 3]])
    assert inc.bias[2] == 0 and torch.equal(out.weight[:, 2], torch.zeros(2))
    assert torch.equal(out.weight[:, [0, 1, 3]], old_out[:, [0, 1, 3]])
    m = opt.state[inc.weight]
    assert (m["exp_avg"][2] == 0).all() and (m["exp_avg_sq"][2] == 0).all()
    assert (m["exp_avg"][[0, 1, 3]] != 0).any()
    out_m = opt.state[out.weight]["exp_avg"]
    assert (out_m[:, 2] == 0).all() and (out_m[:, [0, 1, 3]] != 0).any()
    assert m["step"].item() == 1  # the step count is kept, as in the official code


def test_redo_recycles_a_silenced_unit_and_never_the_heads() -> None:
    learner = trained_learner()
    layer = ac(learner).hidden_layers()[-1]
    with torch.no_grad():
        layer.incoming.bias[5] = -1e4  # unit 5 can never fire
    heads_before = ac(learner).policy.weight.detach().clone()
    counts = Redo(RedoConfig()).recycle(learner)
    assert counts["actor_critic"][-1] >= 1
    assert layer.incoming.bias[5] == 0
    assert torch.equal(ac(learner).policy.weight[:, 5], torch.zeros(6))
    untouched = [c for c in range(128) if c != 5 and ac(learner).policy.weight[0, c] != 0]
    assert torch.equal(ac(learner).policy.weight[:, untouched], heads_before[:, untouched])


# --- Continual backprop -------------------------------------------------------------------------------


def test_cbp_utility_update() -> None:
    # u = 0.99 * 1.0 + 0.01 * 3 * 0.5 = 1.005
    got = update_utility(torch.tensor([1.0]), torch.tensor([3.0]), torch.tensor([0.5]), eta=0.99)
    assert got.item() == pytest.approx(1.005)


def test_cbp_replacement_count_carries_the_fraction() -> None:
    n, carry = replacement_count(0.0, eligible=150, rate=0.01)  # 1.5
    assert (n, carry) == (1, pytest.approx(0.5))
    n, carry = replacement_count(carry, eligible=150, rate=0.01)  # 0.5 + 1.5 = 2.0
    assert (n, carry) == (2, pytest.approx(0.0))
    assert replacement_count(0.0, eligible=0, rate=0.01) == (0, 0.0)


def test_outgoing_magnitude_after_a_flattened_conv_with_crelu() -> None:
    conv, fc = nn.Conv2d(1, 2, 1), nn.Linear(2 * 2 * 3, 1)  # 2 units, CReLU -> 4 channels x 3 positions
    with torch.no_grad():
        fc.weight.copy_(torch.arange(12.0).reshape(1, 12))
    h = HiddenLayer(conv, nn.ReLU(), (fc,), positions=3, copies=2)
    # unit 0 feeds channels 0 and 2: columns 0,1,2 and 6,7,8 -> mean 4; unit 1: 3,4,5,9,10,11 -> 7
    assert outgoing_weight_magnitude(h).tolist() == [4.0, 7.0]
    assert h.outgoing_columns(1) == [3, 4, 5, 9, 10, 11]


def test_cbp_replaces_mature_units_and_moves_their_contribution_into_the_next_bias() -> None:
    method = build("cbp", {"cbp": {"maturity": 0, "replacement_rate": 0.02}})
    learner = trained_learner(method)  # 2 updates x (16 + 128 units) x 0.02 -> units replaced
    assert any((st["age"] < 2).any() for st in method._stats["actor_critic"])
    h = ac(learner).hidden_layers()[-1]
    replaced = torch.nonzero(method._stats["actor_critic"][-1]["age"] == 0).flatten()  # in the last update
    assert len(replaced) and torch.equal(ac(learner).policy.weight[:, replaced], torch.zeros(6, len(replaced)))
    bound = math.sqrt(3 / h.incoming.weight.shape[1])
    assert (h.incoming.weight[replaced].abs() <= bound).all()


def test_cbp_replaces_lowest_corrected_utility_and_corrects_the_next_bias() -> None:
    method = build("cbp")
    inc, out = nn.Linear(2, 3), nn.Linear(3, 2)
    h = HiddenLayer(inc, nn.ReLU(), (out,))
    stats = {
        "util": torch.tensor([3.0, 1.0, 2.0]),
        "mean": torch.tensor([[0.5, 0.2, 0.1]]),
        "age": torch.tensor([10.0] * 3),
    }
    bias = out.bias.detach().clone()
    w_out = out.weight[:, 1].detach().clone()
    method._replace(h, stats, torch.arange(3), 1, [])
    # unit 1 has the lowest utility; its mean 0.2 is bias-corrected by 1 - 0.99^10 and moved into the bias
    assert torch.allclose(out.bias, bias + w_out * 0.2 / (1 - 0.99**10))
    assert torch.equal(out.weight[:, 1], torch.zeros(2)) and inc.bias[1] == 0
    assert stats["age"].tolist() == [10.0, 0.0, 10.0] and stats["util"][1] == 0


def test_cbp_bias_correction_uses_each_crelu_copys_own_mean() -> None:
    method = build("cbp")
    inc, out = nn.Linear(2, 2), nn.Linear(4, 1)  # 2 units, CReLU -> 4 features: unit 0 feeds columns 0 and 2
    h = HiddenLayer(inc, CReLU(), (out,), copies=2)
    mean = torch.tensor([[0.5, 0.1], [0.2, 0.3]])  # (copies, units)
    stats = {"util": torch.tensor([1.0, 2.0]), "mean": mean.clone(), "age": torch.tensor([5.0, 5.0])}
    bias, w = out.bias.detach().clone(), out.weight.detach().clone()
    method._replace(h, stats, torch.arange(2), 1, [])
    corr = 1 - 0.99**5
    assert torch.allclose(out.bias, bias + w[0, 0] * 0.5 / corr + w[0, 2] * 0.2 / corr)
    assert stats["mean"][:, 0].tolist() == [0.0, 0.0] and stats["mean"][:, 1].tolist() == pytest.approx([0.1, 0.3])


# --- Shrink & Perturb, L2-Init ------------------------------------------------------------------------


def test_shrink_and_perturb_is_the_exact_interpolation() -> None:
    learner = trained_learner()
    before = {k: v.clone() for k, v in ac(learner).state_dict().items()}
    fresh = ActorCritic(learner.arch, (10, 10, 10), 6)
    learner.fresh_network = lambda name: fresh  # type: ignore[method-assign]
    build("sp").apply(learner)
    for k, v in ac(learner).state_dict().items():
        assert torch.allclose(v, 0.4 * before[k] + 0.1 * fresh.state_dict()[k], atol=1e-6), k


def test_l2_init_gradient_is_two_lambda_delta() -> None:
    method = build("l2init", {"l2init": {"lam": 0.01}})
    learner = trained_learner(method)
    method.attach(learner)  # anchor at the current weights
    with torch.no_grad():
        ac(learner).value.weight += 0.5
    ac(learner).zero_grad()
    method.extra_loss(learner, "actor_critic").backward()
    assert torch.allclose(ac(learner).value.weight.grad, torch.full_like(ac(learner).value.weight, 2 * 0.01 * 0.5))
    assert torch.equal(ac(learner).policy.weight.grad, torch.zeros_like(ac(learner).policy.weight))


# --- Plasticity injection, head reset -------------------------------------------------------------------


def test_injection_keeps_the_output_and_trains_only_the_new_head_and_encoder() -> None:
    method = build("injection")
    learner = trained_learner(method)
    batch = learner.sample(64)
    logits, values = ac(learner)(batch["obs"])
    method.apply(learner)
    new_logits, new_values = ac(learner)(batch["obs"])
    assert torch.allclose(logits, new_logits, atol=1e-6) and torch.allclose(values, new_values, atol=1e-6)
    head = ac(learner).policy
    assert isinstance(head, InjectedHead)
    snapshot = {k: v.clone() for k, v in ac(learner).state_dict().items()}
    opt = learner.optimizers["actor_critic"]
    opt.zero_grad()
    learner.losses(batch)["actor_critic"].backward()
    opt.step()
    changed = {k for k, v in ac(learner).state_dict().items() if not torch.equal(v, snapshot[k])}
    assert {"policy.new.weight", "value.new.weight", "encoder.0.weight"} <= changed
    assert not any(k.startswith(("policy.old", "policy.new_frozen", "value.old", "value.new_frozen")) for k in changed)
    method.apply(learner)  # a second injection folds the first: still one level deep, output unchanged
    assert isinstance(ac(learner).policy.old, nn.Linear)
    assert torch.allclose(ac(learner)(batch["obs"])[0], ac(learner)(batch["obs"])[0])


def test_head_reset_reinitialises_heads_only_and_clears_their_optimizer_state() -> None:
    learner = trained_learner()
    encoder_before = ac(learner).encoder[0].weight.detach().clone()
    fresh = ActorCritic(learner.arch, (10, 10, 10), 6)
    learner.fresh_network = lambda name: fresh  # type: ignore[method-assign]
    build("headreset").apply(learner)
    assert torch.equal(ac(learner).policy.weight, fresh.policy.weight)
    assert torch.equal(ac(learner).encoder[0].weight, encoder_before)
    state = learner.optimizers["actor_critic"].state
    assert ac(learner).policy.weight not in state and ac(learner).encoder[0].weight in state


# --- Architecture and optimiser methods -----------------------------------------------------------------


def count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_crelu_parameter_count_by_hand() -> None:
    # MinAtar net, 10 input channels, 6 actions. ReLU: conv 10*16*9+16, fc 1024*128+128, heads 128*6+6, 128+1.
    relu = 10 * 16 * 9 + 16 + 1024 * 128 + 128 + 128 * 6 + 6 + 128 + 1
    # CReLU, width 0.5: conv 10*8*9+8 -> 16 channels x 64 = 1024 inputs, fc 1024*64+64 -> 128 features.
    crelu = 10 * 8 * 9 + 8 + 1024 * 64 + 64 + 128 * 6 + 6 + 128 + 1
    assert count(ActorCritic(ArchSpec("minatar_cnn"), (10, 10, 10), 6)) == relu
    arch = build("crelu").modify_arch(ArchSpec("minatar_cnn"))
    assert count(ActorCritic(arch, (10, 10, 10), 6)) == crelu


def test_layer_norm_before_every_hidden_nonlinearity_and_decoupled_weight_decay() -> None:
    method = build("lnwd", {"lnwd": {"weight_decay": 1e-3}})
    learner = trained_learner(method)
    mods = list(ac(learner).encoder)
    for i, m in enumerate(mods):
        if isinstance(m, nn.ReLU):
            assert isinstance(mods[i - 1], (nn.LayerNorm, nn.GroupNorm))
    opt = learner.optimizers["actor_critic"]
    assert isinstance(opt, torch.optim.AdamW) and opt.param_groups[0]["weight_decay"] == 1e-3
    # AdamW with a zero gradient only decays: w <- w * (1 - lr * wd)
    w = ac(learner).value.weight.detach().clone()
    opt.zero_grad()
    for p in ac(learner).parameters():
        p.grad = torch.zeros_like(p)
    opt.state.clear()
    lr = opt.param_groups[0]["lr"]
    opt.step()
    assert torch.allclose(ac(learner).value.weight, w * (1 - lr * 1e-3), atol=1e-7)


# --- Composition and scheduling -------------------------------------------------------------------------


def test_composition_applies_in_order_and_refuses_conflicts() -> None:
    method = build("lnwd+fire")
    assert [p.name for p in method.parts] == ["lnwd", "fire"]
    assert method.modify_arch(ArchSpec("minatar_cnn")).layer_norm
    with pytest.raises(MethodError, match="'injection' and 'redo' cannot be combined: injection wraps"):
        split_method("injection+redo")
    with pytest.raises(MethodError, match="cannot be combined"):
        split_method("ln+wd")
    for other in ("sp", "reset", "dash", "headreset", "cbp", "fire"):  # fire: its linear=reset snapshots the heads
        with pytest.raises(MethodError, match="injection wraps the output heads"):
            split_method(f"{other}+injection")


def boundary(step: int, previous: int, switch: bool = False):
    from rlplastic.envs import Phase
    from rlplastic.interventions.base import Boundary

    return Boundary(step, previous, Phase(0, "Breakout", 0, 1), switch, probe=lambda n: {})


def test_point_methods_act_at_switches_every_k_steps_and_at_listed_steps() -> None:
    calls: list[int] = []
    method = build("fire", {"fire": {"at_switch": False, "every": 1000, "at_steps": [700]}})
    method.apply = lambda learner, b=None: calls.append(b.step)  # type: ignore[method-assign]
    for step in range(0, 4096, 512):  # iteration boundaries 0, 512, ..., 3584
        method.act(None, boundary(step, step - 512))  # type: ignore[arg-type]
    assert calls == [1024, 2048, 3072]  # 700 and 1000 both fall due at 1024: one application
    assert not method.act(None, boundary(3700, 3600, switch=True))  # type: ignore[arg-type]  # at_switch=false
