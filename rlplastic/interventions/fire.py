"""FIRE: Frobenius-Isometry REinitialisation (arXiv 2602.08040, ICLR 2026; code: isaac7778/FIRE).

At every task switch each Linear and Conv2d weight is replaced by (an approximation of) its nearest
isometry in Frobenius norm, the polar factor U Vᵀ of its SVD, computed by Newton–Schulz iteration:
normalise by the Frobenius norm, then X <- 1.5 X - 0.5 X XᵀX (wide matrices are transposed to tall
first). A conv weight (out, in, kh, kw) is orthogonalised separately for each spatial tap. The result is
scaled by sqrt(out/in) / (kh*kw). Biases and normalisation parameters are untouched; output heads are
included, as in the official vision code.

Defaults follow the official vision code: 10 iterations, fresh optimiser state after the projection
(``reset_optimizer``; the official DQN code keeps Adam state, set ``fire.reset_optimizer=false`` for that).
Known gap, inherited from the official code: after Frobenius normalisation, 10 iterations leave the
small singular values of an ill-conditioned matrix below 1, so the result is not an exact isometry.
Deliberate deviation: none. (The official DQN script resets its Linear layers to their initial weights
instead of projecting them; we apply FIRE to every layer, as the paper's method statement does.)
Target networks, where a learner has them, are set to the projected online weights (official SAC code).
With SAC, as the official SAC code (``rl/sac/scale_rl/agents/simba/projection.py``) rebuilds its agent: the
actor and both critics are projected, the target critics become the projected critics, the optimisers are
reset and the temperature returns to its initial value (``reset_temperature``); the replay buffer is kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from rlplastic import checks
from rlplastic.agents import Learner
from rlplastic.interventions.base import Boundary, PointIntervention, When, weight_layers


def newton_schulz(matrix: torch.Tensor, iters: int = 10) -> torch.Tensor:
    """Approximate the polar factor of a 2-D ``matrix`` with the cubic Newton–Schulz iteration."""
    wide = matrix.shape[1] > matrix.shape[0]
    x = matrix.T if wide else matrix
    x = x / x.norm()
    for _ in range(iters):
        x = 1.5 * x - 0.5 * x @ (x.T @ x)
    return x.T if wide else x


def fire_weight(weight: torch.Tensor, iters: int = 10) -> torch.Tensor:
    """FIRE's projection of one Linear (out, in) or Conv2d (out, in, kh, kw) weight."""
    if weight.dim() == 2:
        return newton_schulz(weight, iters) * math.sqrt(weight.shape[0] / weight.shape[1])
    if weight.dim() != 4:
        raise ValueError(f"FIRE handles 2-D and 4-D weights, not shape {tuple(weight.shape)}")
    out_ch, in_ch, kh, kw = weight.shape
    projected = torch.empty_like(weight)
    for i in range(kh):
        for j in range(kw):
            projected[:, :, i, j] = newton_schulz(weight[:, :, i, j], iters)
    return projected * (math.sqrt(out_ch / in_ch) / (kh * kw))


@dataclass(frozen=True)
class FireConfig(When):
    iters: int = 10
    """Newton–Schulz iterations toward the nearest isometry."""
    reset_optimizer: bool = True
    """Clear the optimiser state after the projection (official vision code; its DQN code keeps it)."""
    reset_temperature: bool = True
    """Return a learned entropy temperature (SAC) to its start, as the official SAC code rebuilds its agent."""

    def check(self) -> None:
        checks.counts("", {"iters": self.iters})


class Fire(PointIntervention):
    """Project every Linear/Conv2d weight onto (nearly) its nearest isometry at each task switch."""

    name = "fire"
    paper = "arXiv 2602.08040"
    Config = FireConfig

    @torch.no_grad()
    def apply(self, learner: Learner, boundary: Boundary | None = None) -> None:
        for net in learner.networks.values():
            for layer in weight_layers(net):
                layer.weight.copy_(fire_weight(layer.weight.float(), self.config.iters))
        if self.config.reset_optimizer:
            learner.reset_optimizer()
        if self.config.reset_temperature:
            learner.reset_temperature()
