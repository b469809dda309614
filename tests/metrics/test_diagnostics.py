"""Plasticity diagnostics and training dynamics against answers known by construction."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from rlplastic.metrics import diagnostics as dg
from rlplastic.metrics import dynamics as dyn


def test_ranks_of_diagonal_matrices() -> None:
    assert dg.srank(torch.diag(torch.tensor([4.0, 3.0, 2.0, 1.0]))) == 4  # cumulative shares 0.4 0.7 0.9 1.0
    assert dg.srank(torch.diag(torch.tensor([100.0, 1.0, 0.5, 0.0]))) == 2  # 100/101.5 < 0.99 <= 101/101.5
    assert dg.effective_rank(torch.eye(4)) == pytest.approx(4.0)
    assert dg.effective_rank(torch.diag(torch.tensor([1.0, 0.0, 0.0]))) == pytest.approx(1.0)
    # p = (1/2, 1/4, 1/4): entropy 1.5 ln 2, effective rank 2^1.5.
    assert dg.effective_rank(torch.diag(torch.tensor([2.0, 1.0, 1.0]))) == pytest.approx(2**1.5)
    # Φ / sqrt(4) has singular values 1, 0.015, 0.005: two above ε = 0.01.
    features = torch.zeros(4, 3)
    features[0, 0], features[1, 1], features[2, 2] = 2.0, 0.03, 0.01
    assert dg.feature_rank(features) == 2


def test_dormant_set_of_given_activations() -> None:
    post = torch.tensor([[2.0, 0.04, 0.0, 4.0], [0.0, 0.0, 2.0, 0.0]])  # E|h| = 1, 0.02, 1, 2: mean 1.005
    scores = dg.normalised_scores(dg.activity(post))
    assert scores.tolist() == pytest.approx([1 / 1.005, 0.02 / 1.005, 1 / 1.005, 2 / 1.005])
    assert dg.dormant_fraction(scores, 0.025) == 0.25 and dg.dormant_fraction(scores, 0.0) == 0.0
    assert dg.active_fraction(post) == 4 / 8
    # CReLU: unit i owns channels i and i + 2; unit 1's two channels are silent.
    crelu = torch.tensor([[1.0, 0.0, 3.0, 0.0]])
    assert dg.activity(crelu, copies=2).tolist() == [2.0, 0.0]


def test_grama_scores_a_dead_unit_of_a_hand_built_net() -> None:
    layer = nn.Linear(2, 3)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 1.0], [0.5, -0.5], [1.0, 1.0]]))
        layer.bias.copy_(torch.tensor([0.0, 0.0, -100.0]))  # unit 2 never fires
    x = torch.tensor([[1.0, 2.0]])
    loss = torch.relu(layer(x)).sum()  # pre-activations 3, -0.5, -97: only unit 0 passes a gradient
    (grad,) = torch.autograd.grad(loss, [layer.weight])
    # dL/dW_i = x for active units, 0 otherwise: mean |.| = 1.5, 0, 0 -> normalised 3, 0, 0.
    assert dg.grama_scores(grad).tolist() == pytest.approx([3.0, 0.0, 0.0])
    assert dg.dormant_fraction(dg.grama_scores(grad), 0.025) == pytest.approx(2 / 3)


def test_zombies_drift_and_amplitudes() -> None:
    pre = torch.tensor([[1.0, -1.0], [2.0, 0.5]])
    assert dg.zombie_fraction(pre) == 0.5  # unit 0 is positive on every sample
    mean_drift, var_drift = dg.drift(torch.tensor([1.0]), torch.tensor([2.0]), torch.tensor([0.0]), torch.tensor([1.0]))
    assert mean_drift == pytest.approx(1.0) and var_drift == pytest.approx(math.log(2))
    assert dg.amplitude_w1(torch.tensor([3.0, 1.0, 2.0]), torch.tensor([2.0, 4.0, 3.0])) == pytest.approx(1.0)
    assert dg.amplitudes(torch.tensor([[3.0, 4.0], [0.0, 1.0]])).tolist() == [5.0, 1.0]


def test_condensation_of_aligned_and_orthogonal_weights() -> None:
    aligned = torch.tensor([[1.0, 2.0], [2.0, 4.0], [-0.5, -1.0]])  # one direction (and its opposite)
    assert dg.condensation(aligned) == pytest.approx(1.0)
    assert dg.condensation(torch.eye(3)) == pytest.approx(1 / 3)


def test_plateaus_on_a_curve_with_known_stages() -> None:
    curve = np.array([0, 0, 0, 0, 1, 2, 3, 3, 3, 3, 4, 5], dtype=float)  # plateau, rise, plateau, rise
    assert dyn.plateau_steps(curve, 10, smooth=1) == 30  # the first rise starts at bin 3
    assert dyn.secondary_plateau(curve, smooth=1)
    assert not dyn.secondary_plateau(np.array([0, 0, 1, 2, 3, 4, 5, 5, 5.0]), smooth=1)  # it never rises again
    assert dyn.steepest_rise(curve, 10, smooth=1) == pytest.approx(100.0)  # 1 per 10 steps
    assert dyn.recovery_steps(curve, 10, target=3.0, smooth=1) == 70  # bin 6 reaches 3: its end is step 70
    assert math.isnan(dyn.recovery_steps(curve, 10, target=9.0, smooth=1))
    assert dyn.plateau_steps(np.zeros(5), 10) == 50  # never rises: the whole phase
    gaps = np.array([0, np.nan, 0, 4, np.nan, 8])  # bins without episodes are skipped
    # Finite bins 0, 2, 3, 5 hold 0, 0, 4, 8: the first rise starts at bin 2; 4 per 10 steps is the steepest.
    assert dyn.plateau_steps(gaps, 10, smooth=1) == 20 and dyn.steepest_rise(gaps, 10, smooth=1) == 400
