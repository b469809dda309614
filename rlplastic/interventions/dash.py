"""DASH: Direction-Aware SHrinking (Shin et al., arXiv 2410.23495, NeurIPS 2024;
code: baekrok/DASH-Direction-Aware-SHrinking).

Before training on a new task: accumulate an exponential moving average of negative loss gradients over
batches of the data seen so far, g <- (1 - alpha)*g + alpha*(-grad L(batch)) with g = 0 at the start, then
shrink every Linear/Conv2d weight by its agreement with g: for a Linear, each output row i is multiplied by
s_i = clamp(cos(g_i, W_i), lam, 1); for a Conv2d, each (out, in) kernel slice by the cosine over its kh*kw
taps; each bias vector by one scalar cosine. Rows that the new gradient would keep growing stay; rows
pointing elsewhere shrink toward lam. Normalisation layers are untouched; output layers are included;
optimiser state is kept.

Defaults: alpha = 0.3, lam = 0.3 (the paper's). Data, officially (``utils/train_utils.py::perform_dash``):
the incoming chunk is appended to every chunk seen so far and fed one batch per chunk, oldest first, so
with k chunks the incoming one weighs alpha = 0.3 in g and the older ones alpha(1 - alpha)^j each, together
0.7 - 0.7^k (about 0.7): most of g's weight is the old data's. Here, at a task switch, the runner gathers
``batches`` x ``batch_size`` transitions of the incoming task with the current policy (a probe that is
neither trained on nor counted as training steps) and feeds them as ``batches`` consecutive batches, so g
is the incoming task's alone (its weights sum to 1 - 0.7^batches, 94 % at 8). Deliberate deviation, and
why: the official setting is warm-starting on a growing data set, where the old chunks stay part of the
objective the network trains on next; after a task switch in continual RL the objective is the incoming
task alone (old tasks are not trained on), so the direction that says which weights the coming training
will keep growing is that of the incoming task's loss; and a PPO learner holds no data of older tasks at
all. When DASH is applied outside a switch (``every``/``at_steps``), the batches come from the learner's
buffer instead. Each network's gradient is that of its own loss (``Learner.losses``).
With SAC: each of the actor and the two critics is shrunk by the gradient of its own loss (``Learner.losses``)
on the probe of the incoming task; the targets become copies of the shrunk critics (the runner's sync); the
temperature, the optimiser state and the replay buffer are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from rlplastic import checks
from rlplastic.agents import Batch, Learner
from rlplastic.interventions.base import Boundary, PointIntervention, When, weight_layers


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
    """Weight of each new batch's negative gradient in the moving average g."""
    lam: float = 0.3
    """Smallest shrink factor: each row is scaled by its cosine with g, clamped to [lam, 1]."""
    batches: int = 8
    """Batches of the incoming task (or of the buffer, outside a switch) fed into g."""
    batch_size: int = 256
    """Transitions per batch."""

    def check(self) -> None:
        checks.probabilities("", {"alpha": self.alpha}, low_open=True)
        checks.probabilities("", {"lam": self.lam})
        checks.counts("", {"batches": self.batches, "batch_size": self.batch_size})


class Dash(PointIntervention):
    """Shrink weights by their cosine with an EMA of recent negative gradients, before each new task."""

    name = "dash"
    paper = "arXiv 2410.23495"
    Config = DashConfig

    def apply(self, learner: Learner, boundary: Boundary | None = None) -> None:
        cfg = self.config
        n = cfg.batches * cfg.batch_size
        data = boundary.probe(n) if boundary is not None and boundary.switch else learner.sample(n)
        size = cfg.batch_size
        batches = [{k: v[i * size : (i + 1) * size] for k, v in data.items()} for i in range(cfg.batches)]
        for name, net in learner.networks.items():
            self._shrink(learner, name, [p for layer in weight_layers(net) for p in layer.parameters()], batches)

    def _shrink(self, learner: Learner, name: str, params: list[torch.Tensor], batches: list[Batch]) -> None:
        history = []
        for batch in batches:
            grads = torch.autograd.grad(learner.losses(batch)[name], params, allow_unused=True)
            history.append([torch.zeros_like(p) if g is None else g for p, g in zip(params, grads, strict=True)])
        with torch.no_grad():
            for k, p in enumerate(params):
                p.copy_(shrink(p, ema_negative_gradient([h[k] for h in history], self.config.alpha), self.config.lam))
