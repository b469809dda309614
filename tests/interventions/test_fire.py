"""FIRE against the paper's definition: the polar factor U Vᵀ of the SVD, scaled by sqrt(out/in)/(kh*kw)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from rlplastic.agents.learner import LearnerBase
from rlplastic.envs import Phase
from rlplastic.interventions.base import Boundary
from rlplastic.interventions.fire import Fire, FireConfig, fire_weight, newton_schulz
from rlplastic.run.runner import act_at_boundary


def polar(matrix: torch.Tensor) -> torch.Tensor:
    u, _, vh = torch.linalg.svd(matrix.double(), full_matrices=False)
    return (u @ vh).float()


def well_conditioned(rows: int, cols: int, seed: int) -> torch.Tensor:
    """A random matrix with singular values in [0.8, 1.0]: Newton–Schulz converges within 10 iterations."""
    g = torch.Generator().manual_seed(seed)
    u, _ = torch.linalg.qr(torch.randn(rows, min(rows, cols), generator=g, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(cols, min(rows, cols), generator=g, dtype=torch.float64))
    s = torch.linspace(0.8, 1.0, min(rows, cols), dtype=torch.float64)
    return ((u * s) @ v.T).float()


def test_diagonal_example_by_hand() -> None:
    # diag(3, 4): Frobenius norm 5 -> singular values 0.6, 0.8; each follows s <- 1.5 s - 0.5 s^3.
    s = [0.6, 0.8]
    for _ in range(3):
        s = [1.5 * x - 0.5 * x**3 for x in s]
    got = newton_schulz(torch.diag(torch.tensor([3.0, 4.0])), iters=3)
    assert torch.allclose(got, torch.diag(torch.tensor(s)), atol=1e-6)


@pytest.mark.parametrize("shape", [(64, 32), (32, 64), (48, 48)])
def test_newton_schulz_matches_svd_polar_factor(shape: tuple[int, int]) -> None:
    w = well_conditioned(*shape, seed=sum(shape))
    got = newton_schulz(w, iters=10)
    assert torch.allclose(got, polar(w), atol=1e-4)
    small = got.T @ got if shape[0] >= shape[1] else got @ got.T
    assert torch.allclose(small, torch.eye(min(shape)), atol=1e-4)


def test_linear_scale_is_sqrt_out_over_in() -> None:
    w = well_conditioned(64, 16, seed=1)
    got = fire_weight(w)
    assert torch.allclose(got, polar(w) * math.sqrt(64 / 16), atol=1e-3)
    assert torch.allclose(torch.linalg.svdvals(got), torch.full((16,), 2.0), atol=1e-3)


def test_conv_is_orthogonalised_per_tap_and_scaled_by_kernel_area() -> None:
    out_ch, in_ch, kh, kw = 8, 4, 3, 2
    w = torch.stack(
        [torch.stack([well_conditioned(out_ch, in_ch, seed=10 * i + j) for j in range(kw)], -1) for i in range(kh)],
        -2,
    )
    got = fire_weight(w)
    scale = math.sqrt(out_ch / in_ch) / (kh * kw)
    for i in range(kh):
        for j in range(kw):
            assert torch.allclose(got[:, :, i, j], polar(w[:, :, i, j]) * scale, atol=1e-4)


def test_ill_conditioned_gap_is_the_official_behaviour() -> None:
    # Singular values spanning 1e-3..1: after Frobenius normalisation 10 iterations cannot lift the
    # smallest ones to 1 (documented in the module docstring), yet the largest converge.
    u, _ = torch.linalg.qr(torch.randn(32, 32, generator=torch.Generator().manual_seed(0)))
    w = (u * torch.logspace(-3, 0, 32)) @ u.T
    s = torch.linalg.svdvals(newton_schulz(w, iters=10))
    assert s.max() == pytest.approx(1.0, abs=1e-3)
    assert s.min() < 0.1


class TinyLearner(LearnerBase):
    """The Learner seam reduced to what FIRE and the runner's boundary step touch."""

    def __init__(self) -> None:
        self.networks = {"net": nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 4))}
        self.target_networks = {"net": nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 4))}
        self.optimizer_resets = 0

    def reset_optimizer(self, params=None) -> None:
        self.optimizer_resets += 1


def switch() -> Boundary:
    return Boundary(128, 0, Phase(1, "B", 128, 128), switch=True, probe=lambda n: {})


def test_intervention_keeps_biases_updates_target_and_resets_optimizer() -> None:
    learner = TinyLearner()
    net = learner.networks["net"]
    biases = [net[0].bias.clone(), net[3].bias.clone()]
    expected = [fire_weight(net[0].weight.detach()), fire_weight(net[3].weight.detach())]
    assert act_at_boundary(Fire(FireConfig()), learner, switch())  # type: ignore[arg-type]
    assert torch.equal(net[0].bias, biases[0]) and torch.equal(net[3].bias, biases[1])
    assert torch.allclose(net[0].weight, expected[0]) and torch.allclose(net[3].weight, expected[1])
    assert torch.equal(learner.target_networks["net"][0].weight, net[0].weight)
    assert learner.optimizer_resets == 1
    assert act_at_boundary(Fire(FireConfig(reset_optimizer=False)), learner, switch())  # type: ignore[arg-type]
    assert learner.optimizer_resets == 1


def test_init_scale_keeps_each_layer_s_initial_norm_by_hand() -> None:
    """scale = "init": the polar factor sized to the layer's norm when the learner was built. A layer born as
    diag(3, 4) (norm 5) and trained to diag(1, 2) (polar factor: the identity) becomes 5/sqrt(2) * I; the paper's
    scale sqrt(2/2) = 1 would make it I."""
    learner = TinyLearner()
    layer = nn.Linear(2, 2)
    learner.networks["net"] = nn.Sequential(layer)
    with torch.no_grad():
        layer.weight.copy_(torch.diag(torch.tensor([3.0, 4.0])))
    method = Fire(FireConfig(scale="init", iters=30, reset_optimizer=False))
    method.attach(learner)  # type: ignore[arg-type]
    with torch.no_grad():
        layer.weight.copy_(torch.diag(torch.tensor([1.0, 2.0])))
    restored = Fire(FireConfig(scale="init", iters=30, reset_optimizer=False))
    restored.load_state_dict(method.state_dict(), learner)  # type: ignore[arg-type]  (a resume keeps the norms)
    assert act_at_boundary(restored, learner, switch())  # type: ignore[arg-type]
    assert torch.allclose(layer.weight, torch.eye(2) * 5 / math.sqrt(2), atol=1e-5)
