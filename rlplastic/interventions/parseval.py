"""Parseval regularisation (Chung, Cherif, Precup & Meger, "Parseval Regularization for Continual Reinforcement
Learning", NeurIPS 2024, arXiv 2412.07224; official code wechu/parseval_reg).

Every update's loss gets lam * sum_l c_l * ||W_l W_l^T - s I||_F^2 over the hidden layers l of each network, which
keeps the rows of every hidden weight matrix orthogonal with squared norm s, and so keeps the optimisation
properties of the (orthogonal) initialisation. As in the official code (``agent.py``): the hidden layers of
every network are regularised (actor and critic), not the output layers and not the biases; s = gain^2 = 2 for
the sqrt(2)-gain orthogonal initialisation (their default, and ours for PPO), so an orthogonally initialised
layer starts at the minimum; lam = 1e-3 (their gridworld and MetaWorld value; 1e-4 on LunarLander and the
quadruped); c_l = (64 / rows_l)^2, the official correction for widths other than the 64 lam was tuned at
(``reference_width = 0`` switches it off). A conv layer's kernel is flattened to (out channels, in x kernel)
rows (an extension: the official code has MLPs only). Each network's term goes into that network's own loss.
Not implemented: the official MetaWorld configuration also adds a learnable per-unit scale and offset after
every hidden layer (``add_diag_layer``) and the quadruped one a learnable input scale; both change the network
and are off in the official code's other settings. Plasticine (RLE-Foundation/Plasticine) regularises only one
Linear layer of the actor's encoder with s = 1 and lam = 1e-3, and no c_l.
With SAC: the actor and both critics are regularised in their own losses; targets follow by Polyak averaging;
the temperature and the replay buffer are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rlplastic import checks
from rlplastic.agents import Learner
from rlplastic.interventions.base import Intervention


@dataclass(frozen=True)
class ParsevalConfig:
    lam: float = 1e-3
    """Weight of the Parseval term in every update's loss (official gridworld and MetaWorld value)."""
    scale: float = 2.0
    """s: the target W W^T = s I (official: gain^2 of the sqrt(2)-gain orthogonal initialisation)."""
    reference_width: int = 64
    """Each layer's term is scaled by (reference_width / its rows)^2, as officially (lam tuned at 64); 0: off."""

    def __post_init__(self) -> None:
        checks.non_negative("", {"lam": self.lam, "scale": self.scale})
        checks.counts("", {"reference_width": self.reference_width}, minimum=0)


def parseval_term(weight: torch.Tensor, scale: float) -> torch.Tensor:
    """||W W^T - s I||_F^2 of a weight, its conv kernel flattened to one row per output channel.

    A tall W (more rows than columns, e.g. a SimBa block's 4x widening) uses the smaller Gram matrix:
    ||W W^T||^2 = ||W^T W||^2 and trace(W W^T) = ||W||^2, so the term is ||W^T W||^2 - 2 s ||W||^2 + s^2 rows."""
    w = weight.flatten(1)
    rows, cols = w.shape
    if rows <= cols:
        return (w @ w.T - scale * torch.eye(rows, dtype=w.dtype, device=w.device)).pow(2).sum()
    return (w.T @ w).pow(2).sum() - 2 * scale * w.pow(2).sum() + scale**2 * rows


def regularised_layers(net: nn.Module) -> list[nn.Linear | nn.Conv2d]:
    """The hidden layers of ``net`` (each layer of hidden units' incoming layer): not the output heads."""
    return [h.incoming for h in net.hidden_layers()]


class Parseval(Intervention):
    name = "parseval"
    paper = "arXiv 2412.07224"
    Config = ParsevalConfig

    def extra_loss(self, learner: Learner, network: str) -> torch.Tensor | None:
        cfg = self.config
        terms = []
        for layer in regularised_layers(learner.networks[network]):
            rows = layer.weight.shape[0]
            width_factor = (cfg.reference_width / rows) ** 2 if cfg.reference_width else 1.0
            terms.append(width_factor * parseval_term(layer.weight, cfg.scale))
        return cfg.lam * torch.stack(terms).sum() if terms else None
