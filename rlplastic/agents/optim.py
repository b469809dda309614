"""Centred RMSprop that cannot take the square root of a negative number.

PyTorch's ``RMSprop(centered=True)`` divides by sqrt(E[g^2] - E[g]^2) + eps. For a parameter whose gradient
is nearly constant (a unit fed only by always-zero inputs under L2-init's pull, say), the difference is
zero in exact arithmetic and rounds to about -1e-24, and the square root turns the weights into NaN
(measured on MinAtar DQN + l2init). This version clamps the variance at 0; otherwise it is the same update
(Graves 2013, arXiv 1308.0850; the optimiser of Young & Tian's MinAtar DQN). Weight decay, which only an
intervention (``wd``, ``lnwd``) asks for, is decoupled as in AdamW: w <- w * (1 - lr * wd) before the step.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


class CenteredRMSprop(torch.optim.Optimizer):
    def __init__(
        self, params: Iterable, lr: float, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0
    ) -> None:
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None) -> None:  # type: ignore[override]
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if group["weight_decay"]:  # decoupled, as AdamW: the interventions' weight decay means this
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros(())
                    state["square_avg"] = torch.zeros_like(p)
                    state["grad_avg"] = torch.zeros_like(p)
                state["step"] += 1
                square_avg, grad_avg, alpha = state["square_avg"], state["grad_avg"], group["alpha"]
                square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
                grad_avg.lerp_(grad, 1 - alpha)
                denom = square_avg.addcmul(grad_avg, grad_avg, value=-1).clamp_min_(0).sqrt_().add_(group["eps"])
                p.addcdiv_(grad, denom, value=-group["lr"])
