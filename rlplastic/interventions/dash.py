"""DASH: Direction-Aware SHrinking (Shin et al., arXiv 2410.23495, NeurIPS 2024;
code: baekrok/DASH-Direction-Aware-SHrinking).

Before training on a new task: accumulate an exponential moving average of negative loss gradients over
batches of the data seen so far, g <- (1 - alpha)*g + alpha*(-grad L(batch)) with g = 0 at the start, then
shrink every Linear/Conv2d weight by its agreement with g: for a Linear, each output row i is multiplied by
s_i = clamp(cos(g_i, W_i), lam, 1); for a Conv2d, each (out, in) kernel slice by the cosine over its kh*kw
taps; each bias vector by one scalar cosine. Rows that the new gradient would keep growing stay; rows
pointing elsewhere shrink toward lam. Normalisation layers are untouched; output layers are included;
optimiser state is kept.

Defaults: alpha = 0.3, lam = 0.3 (the paper's). RL adaptation (deliberate deviation): the data seen so far is
the learner's buffer (for PPO the last rollout of the previous task), sampled as ``batches`` batches of
``batch_size``; the official code iterates over whole stored chunks, oldest first.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from rlplastic.agents import Learner
from rlplastic.interventions.base import PointIntervention, When, weight_layers


def ema_negative_gradient(grads: list[torch.Tensor], alpha: float) -> torch.Tensor:
    """g after feeding gradients oldest first: g <- (1 - alpha)*g + alpha*(-grad), from g = 0."""
    g = torch.zeros_like(grads[0])
    for grad in grads:
        g = (1 - alpha) * g + alpha * (-grad)
    return g


def shrink_factors(weight: torch.Tensor, direction: torch.Tensor, lam: float) -> torch.Tensor:
    """clamp(cos, lam, 1) per Linear row, per Conv2d (out, in) slice, or one scalar for a 1-D bias."""
    if weight.dim() == 1:
        return F.cosine_similarity(direction.flatten(), weight.flatten(), dim=0).clamp(lam, 1.0)
    if weight.dim() == 4:
        o, i = weight.shape[:2]
        return F.cosine_similarity(direction.reshape(o, i, -1), weight.reshape(o, i, -1), dim=-1).clamp(lam, 1.0)
    return F.cosine_similarity(direction, weight, dim=-1).clamp(lam, 1.0)


def shrink(weight: torch.Tensor, direction: torch.Tensor, lam: float) -> torch.Tensor:
    """The weight multiplied by its shrink factors, broadcast over rows, slices or the whole bias."""
    s = shrink_factors(weight, direction, lam)
    return weight * s.reshape(*s.shape, *([1] * (weight.dim() - s.dim())))


@dataclass(frozen=True)
class DashConfig(When):
    alpha: float = 0.3
    lam: float = 0.3
    batches: int = 8
    batch_size: int = 256


class Dash(PointIntervention):
    """Shrink weights by their cosine with an EMA of recent negative gradients, before each new task."""

    name = "dash"
    paper = "arXiv 2410.23495"
    Config = DashConfig

    def apply(self, learner: Learner) -> None:
        cfg = self.config
        params = [p for net in learner.networks.values() for layer in weight_layers(net) for p in layer.parameters()]
        history: list[list[torch.Tensor]] = []
        for _ in range(cfg.batches):
            grads = torch.autograd.grad(learner.loss(learner.sample(cfg.batch_size)), params, allow_unused=True)
            history.append([torch.zeros_like(p) if g is None else g for p, g in zip(params, grads, strict=True)])
        with torch.no_grad():
            for k, p in enumerate(params):
                p.copy_(shrink(p, ema_negative_gradient([h[k] for h in history], cfg.alpha), cfg.lam))
