"""Weight clipping, Parseval regularisation, Normalize-and-Project and deep Fourier features, each against a small
example computed by hand from its paper's formula."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from rlplastic.agents.networks import ArchSpec, DeepFourier, QNetwork, build_encoder
from rlplastic.interventions import MethodError, build, split_method
from rlplastic.interventions.nap import NaP, project
from rlplastic.interventions.parseval import Parseval, parseval_term
from rlplastic.interventions.wclip import WeightClipping, clip_layer, init_bound


class OneNet:
    """A learner stand-in holding one network, enough for hooks that read ``learner.networks`` only."""

    def __init__(self, net: nn.Module) -> None:
        self.networks = {"q": net}


def qnet(**arch) -> QNetwork:
    torch.manual_seed(0)
    return QNetwork(ArchSpec("mlp_64", **arch), (3,), 2)


# --- weight clipping --------------------------------------------------------------------------------------
def test_wclip_bound_is_one_over_sqrt_fan_in() -> None:
    assert init_bound(nn.Linear(16, 3)) == pytest.approx(1 / 4)
    assert init_bound(nn.Conv2d(4, 8, 2)) == pytest.approx(1 / 4)  # fan_in = 4 channels x 2 x 2


def test_wclip_clamps_weights_and_bias_to_kappa_times_bound() -> None:
    layer = nn.Linear(4, 2)  # s = 1/sqrt(4) = 0.5; kappa = 2 -> [-1, 1]
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.3, -1.7, 2.0, 1.0], [-0.9, 5.0, -1.0, 0.0]]))
        layer.bias.copy_(torch.tensor([1.5, -0.2]))
    clip_layer(layer, kappa=2.0)
    expected = torch.tensor([[0.3, -1.0, 1.0, 1.0], [-0.9, 1.0, -1.0, 0.0]])
    assert torch.equal(layer.weight, expected) and torch.equal(layer.bias, torch.tensor([1.0, -0.2]))


def test_wclip_after_update_clips_every_layer_heads_optional() -> None:
    for heads in (True, False):
        net = qnet()
        with torch.no_grad():
            for p in net.parameters():
                p.fill_(10.0)
        WeightClipping(WeightClipping.Config(kappa=1.0, heads=heads)).after_update(OneNet(net), 1)
        first, second = net.encoder[1], net.encoder[3]  # Linear(3, 64), Linear(64, 64)
        assert torch.all(first.weight == 1 / math.sqrt(3)) and torch.all(first.bias == 1 / math.sqrt(3))
        assert torch.all(second.weight == 1 / 8)
        assert torch.all(net.q.weight == (1 / 8 if heads else 10.0))


def test_wclip_rejects_a_non_positive_kappa() -> None:
    with pytest.raises(ValueError, match="kappa"):
        build("wclip", {"wclip": {"kappa": 0}})


# --- Parseval regularisation -------------------------------------------------------------------------------
def test_parseval_term_by_hand() -> None:
    w = torch.tensor([[1.0, 1.0], [0.0, 2.0]])  # W W^T = [[2, 2], [2, 4]]; minus 2 I = [[0, 2], [2, 2]]
    assert parseval_term(w, scale=2.0).item() == pytest.approx(0 + 4 + 4 + 4)
    conv = torch.tensor([[[[1.0, 0.0]]], [[[0.0, 1.0]]]])  # rows (1, 0), (0, 1): W W^T = I
    assert parseval_term(conv, scale=1.0).item() == 0.0


def test_parseval_loss_sums_hidden_layers_with_width_factor_not_heads() -> None:
    net = qnet()
    first, second = net.encoder[1].weight, net.encoder[3].weight  # 64 rows each: width factor 1
    with torch.no_grad():
        first.zero_()  # ||0 - 2 I_64||^2 = 64 * 4
        second.copy_(math.sqrt(2) * torch.eye(64))  # orthogonal with gain sqrt(2): exactly 0
        net.q.weight.fill_(3.0)  # a head: not regularised
    hooks = Parseval(Parseval.Config(lam=0.5))
    assert hooks.extra_loss(OneNet(net), "q").item() == pytest.approx(0.5 * 256)
    net_small = QNetwork(ArchSpec("mlp_64", width=0.5), (3,), 2)  # 32 rows: factor (64 / 32)^2 = 4
    with torch.no_grad():
        for layer in (net_small.encoder[1], net_small.encoder[3]):
            layer.weight.zero_()
    assert hooks.extra_loss(OneNet(net_small), "q").item() == pytest.approx(0.5 * 2 * 4 * 32 * 4)


def test_parseval_term_of_a_tall_matrix_by_hand() -> None:
    w = torch.tensor([[1.0], [1.0], [0.0]])  # W W^T = [[1, 1, 0], [1, 1, 0], [0, 0, 0]]; minus 2 I: 1+1+1+1+4
    assert parseval_term(w, scale=2.0).item() == pytest.approx(8.0)
    tall = torch.randn(40, 7)
    direct = (tall @ tall.T - 2 * torch.eye(40)).pow(2).sum()
    assert parseval_term(tall, 2.0).item() == pytest.approx(direct.item(), rel=1e-5)


def test_parseval_gradient_pulls_rows_toward_orthogonality() -> None:
    # d/dW ||W W^T - s I||^2 = 4 (W W^T - s I) W; for W = 2 I (2x2), s = 2: 4 * (4 - 2) * 2 = 16 on the diagonal
    w = (2 * torch.eye(2)).requires_grad_()
    parseval_term(w, 2.0).backward()
    assert torch.allclose(w.grad, 16 * torch.eye(2))


# --- Normalize-and-Project --------------------------------------------------------------------------------
def test_nap_project_rescales_jointly_to_the_target_norm() -> None:
    a, b = torch.tensor([3.0, 0.0]), torch.tensor([0.0, 4.0])  # joint norm 5 -> 10: factor 2
    project([a, b], 10.0)
    assert a.tolist() == [6.0, 0.0] and b.tolist() == [0.0, 8.0]
    zero = torch.zeros(2)
    project([zero], 1.0)  # nothing to rescale
    assert zero.tolist() == [0.0, 0.0]


def test_nap_inserts_layer_norm_and_projects_hidden_layers_to_initial_norm() -> None:
    hooks = NaP()
    net = QNetwork(hooks.modify_arch(ArchSpec("mlp_64")), (3,), 2)
    mods = list(net.encoder)
    assert [type(m) for m in mods] == [nn.Flatten, nn.Linear, nn.LayerNorm, nn.ReLU, nn.Linear, nn.LayerNorm, nn.ReLU]
    learner = OneNet(net)
    hooks.attach(learner)
    w1, ln = mods[1].weight, mods[2]
    norm0 = w1.norm().item()  # orthogonal init, gain sqrt(2): sqrt(2) * sqrt(min(64, 3))
    assert norm0 == pytest.approx(math.sqrt(2) * math.sqrt(3), rel=1e-5)
    head0 = net.q.weight.clone()
    with torch.no_grad():
        w1.mul_(3.0)  # weight growth, as an optimiser step might do
        mods[1].bias.fill_(0.7)
        ln.weight.fill_(2.0)  # scale 2, offset 0: joint norm 2 sqrt(64) = 16 -> back to sqrt(64) = 8
        net.q.weight.mul_(5.0)
    hooks.after_update(learner, 1)
    assert w1.norm().item() == pytest.approx(norm0, rel=1e-5)
    assert torch.all(mods[1].bias == 0.7)  # biases are not projected
    assert torch.allclose(ln.weight, torch.ones(64)) and torch.all(ln.bias == 0)
    assert torch.equal(net.q.weight, 5 * head0)  # heads stay free by default


def test_nap_heads_option_projects_the_output_layer() -> None:
    hooks = NaP(NaP.Config(heads=True, affine=False))
    net = QNetwork(hooks.modify_arch(ArchSpec("mlp_64")), (3,), 2)
    hooks.attach(OneNet(net))
    head0, ln = net.q.weight.norm().item(), net.encoder[2]
    with torch.no_grad():
        net.q.weight.mul_(5.0)
        ln.weight.fill_(2.0)
    hooks.after_update(OneNet(net), 1)
    assert net.q.weight.norm().item() == pytest.approx(head0, rel=1e-5)
    assert torch.all(ln.weight == 2.0)  # affine = false: scale and offset left alone


def test_nap_conflicts_with_layer_norm_methods() -> None:
    with pytest.raises(MethodError, match="LayerNorm"):
        split_method("nap+lnwd")


# --- deep Fourier features --------------------------------------------------------------------------------
def test_dff_activation_is_sin_then_cos() -> None:
    z = torch.tensor([[0.0, math.pi / 2], [math.pi, -math.pi / 2]])
    out = DeepFourier()(z)
    expected = torch.tensor([[0.0, 1.0, 1.0, 0.0], [0.0, -1.0, -1.0, 0.0]])
    assert torch.allclose(out, expected, atol=1e-6)


def test_dff_doubles_the_features_each_layer_passes_on() -> None:
    arch = build("dff").modify_arch(ArchSpec("minatar_cnn"))
    encoder, width = build_encoder(arch, (4, 10, 10))
    conv, fc = encoder[0], encoder[3]
    assert conv.out_channels == 16 and fc.in_features == 2 * 16 * 8 * 8 and fc.out_features == 128
    assert width == 2 * 128 and sum(isinstance(m, DeepFourier) for m in encoder) == 2
    half = build("dff", {"dff": {"width": 0.5}}).modify_arch(ArchSpec("minatar_cnn"))
    assert build_encoder(half, (4, 10, 10))[1] == 128  # as many features as the plain network
