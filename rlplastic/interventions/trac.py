"""TRAC, a parameter-free optimiser wrapper (Muppidi, Zhang & Yang, "Fast TRAC", NeurIPS 2024, arXiv 2405.16642).

Every network's own optimiser (the base) keeps computing its update u_t; TRAC decides how far from the reference
weights theta_ref (the weights before the first update) the network may move: theta_{t+1} = theta_ref +
S_{t+1} * (theta^base_{t+1} - theta_ref). The scale S is the sum over betas of s_j, each from a one-dimensional
online tuner fed h_t = <theta^base_t - theta_ref, g_t>:
    v_j <- beta_j^2 v_j + h_t^2,  sigma_j <- beta_j sigma_j - h_t,
    s_j = s_init / erfi(1/sqrt 2) * erfi(sigma_j / (sqrt(2 v_j) + eps)).
Defaults are the paper's and the official code's (ComputationalRobotics/TRAC, ``trac_optimizer`` 0.0.2): betas
0.9, 0.99, ..., 0.999999, s_init = eps = 1e-8, sigma starting at 1e-8 (so the first scale is positive).

As in the official code: S is clipped at 0 when the weights are set, theta^base - theta_ref is recovered from the
live weights as (theta_t - theta_ref) / (S_t + eps) (so an edit of the weights by another method carries over),
and a NaN scale stops the run with an error. Written from the paper's formula (no code copied); erfi, which
torch lacks, is its power series summed in log space, exact to float32 rounding. The official code approximates
erfi (Weideman's 128-term series in float32), off by up to ~1 % (erfi(0.5): 0.6095, exact 0.6150). Against the
official ``_step`` on a 6-16-2 MLP with Adam (lr 1e-2, 300 steps): with its own erfi the weights differ by up to
1.6e-2; with its erfi replaced by this one, not at all for 5 steps and by at most 2.6e-5 after 300 (float32
rounding, amplified by the tuner).

Deliberate deviations: the base is the agent's own optimiser with its settings (Plasticine wraps a fresh Adam with
torch's default epsilon), so TRAC's effect is measured against the same agent. Clearing optimiser state (reset,
FIRE, head reset) clears the base's moments; TRAC's tuner and reference weights are kept, as TRAC has no notion
of tasks. Parameters added later (plasticity injection) take their reference at their first update.
With SAC the actor and both critics are each wrapped (three tuners); the temperature keeps its plain Adam.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from rlplastic import checks
from rlplastic.agents import Learner
from rlplastic.interventions.base import Intervention

ERFI_TERMS = 300  # enough for |x| <= 9.4, beyond which erfi overflows float32 anyway


def erfi(x: torch.Tensor) -> torch.Tensor:
    """The imaginary error function erfi(x) = 2/sqrt(pi) * sum_n x^(2n+1) / (n! (2n+1)), summed in log space
    (every term has the sign of x, so nothing cancels)."""
    n = torch.arange(ERFI_TERMS, dtype=x.dtype, device=x.device)
    log_x = x.abs().log().unsqueeze(-1)
    log_terms = (2 * n + 1) * log_x - torch.lgamma(n + 1) - torch.log(2 * n + 1)
    return x.sign() * 2 / math.sqrt(math.pi) * torch.logsumexp(log_terms, dim=-1).exp()


@dataclass(frozen=True)
class TracConfig:
    betas: list[float] = dataclasses.field(default_factory=lambda: [0.9, 0.99, 0.999, 0.9999, 0.99999, 0.999999])
    """Discount factors of the scale tuners; the scale is the sum of one tuner per beta."""
    s_init: float = 1e-8
    """Size of the first scale (the paper's s_init; the official code's s_prev)."""
    eps: float = 1e-8
    """Guards the divisions of the tuner and of the weights' recovery."""

    def __post_init__(self) -> None:
        if not self.betas or not all(isinstance(b, (int, float)) and 0 < b < 1 for b in self.betas):
            raise ValueError(f"betas must be a non-empty list of numbers in (0, 1), not {self.betas!r}")
        checks.positive("", checks.fields(self, "s_init", "eps"))


class TracOptimizer(torch.optim.Optimizer):
    """Wraps ``base``: the parameter groups (learning rates) and per-parameter state are the base's own; this
    adds the reference weights and the scale tuner."""

    def __init__(self, base: torch.optim.Optimizer, config: TracConfig) -> None:
        super().__init__(base.param_groups, {})
        self.base, self.config = base, config
        self.param_groups, self.state = base.param_groups, base.state  # shared: lr schedules and resets apply
        device = next((p.device for g in base.param_groups for p in g["params"]), None)
        self.betas = torch.tensor(config.betas, device=device)  # beside the weights: no copy per step
        self.tuner = {"v": torch.zeros_like(self.betas), "sigma": torch.full_like(self.betas, 1e-8)}
        self.tuner["s"] = torch.zeros_like(self.betas)
        self.refs: dict[torch.Tensor, torch.Tensor] = {}
        self.steps = 0

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if hasattr(self, "base"):  # after construction the base owns the groups (plasticity injection adds one)
            self.base.add_param_group(param_group)
        else:
            super().add_param_group(param_group)

    @property
    def scale(self) -> float:
        """The current scale S, before the clip at 0."""
        return float(self.tuner["s"].sum())

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> Any:  # type: ignore[override]
        params = [p for group in self.param_groups for p in group["params"] if p.grad is not None]
        before = [p.detach().clone() for p in params]
        grads = [p.grad.detach().clone() for p in params]
        result = self.base.step(closure)
        if not params:
            return result
        old_scale = self.tuner["s"].sum().to(params[0].device)
        h = torch.zeros((), device=params[0].device)
        offsets = []
        for p, x, g in zip(params, before, grads, strict=True):
            offset = (x - self.refs.setdefault(p, x)) / (old_scale + self.config.eps)  # theta^base_t - theta_ref
            h += (offset * g).sum()
            offsets.append(offset.add_(p - x))  # theta^base_{t+1} - theta_ref: the base's update u_t added
        scale = self._tune(h)
        for p, offset in zip(params, offsets, strict=True):
            p.copy_(self.refs[p] + offset * scale)
        self.steps += 1
        return result

    def _tune(self, h: torch.Tensor) -> torch.Tensor:
        """Feed h_t to every tuner; the new scale S clipped at 0."""
        if self.betas.device != h.device:
            self.betas = self.betas.to(h.device)
            self.tuner = {k: v.to(h.device) for k, v in self.tuner.items()}
        v, sigma, eps = self.tuner["v"], self.tuner["sigma"], self.config.eps
        v.mul_(self.betas**2).add_(h**2)
        sigma.mul_(self.betas).sub_(h)
        unit = erfi(torch.tensor(1 / math.sqrt(2), device=h.device))
        self.tuner["s"] = self.config.s_init / unit * erfi(sigma / ((2 * v).sqrt() + eps))
        total = self.tuner["s"].sum()
        if total.isnan():
            raise FloatingPointError(f"trac: the scale became NaN after {self.steps} steps (h = {float(h)})")
        return total.clamp_min(0)

    def state_dict(self) -> dict[str, Any]:
        order = [p for group in self.param_groups for p in group["params"]]
        return {
            "base": self.base.state_dict(),
            "tuner": {k: v.clone() for k, v in self.tuner.items()},
            "refs": [self.refs.get(p) for p in order],
            "steps": self.steps,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.base.load_state_dict(state_dict["base"])
        self.param_groups, self.state = self.base.param_groups, self.base.state  # the base made new ones: share again
        self.tuner = {k: v.to(self.betas.device).clone() for k, v in state_dict["tuner"].items()}
        order = [p for group in self.param_groups for p in group["params"]]
        self.refs = {p: r.to(p.device) for p, r in zip(order, state_dict["refs"], strict=True) if r is not None}
        self.steps = state_dict["steps"]


class Trac(Intervention):
    name = "trac"
    paper = "arXiv 2405.16642"
    Config = TracConfig
    conflicts: ClassVar[dict[str, str]] = {"kron": "both replace the optimiser"}

    def attach(self, learner: Learner) -> None:
        for name, base in learner.optimizers.items():
            learner.optimizers[name] = TracOptimizer(base, self.config)
