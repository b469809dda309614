"""FIRE: Frobenius-Isometry REinitialisation (arXiv 2602.08040, ICLR 2026; code: isaac7778/FIRE).

At every task switch each Linear and Conv2d weight is replaced by (an approximation of) its nearest
isometry in Frobenius norm, the polar factor U Vᵀ of its SVD, computed by Newton–Schulz iteration:
normalise by the Frobenius norm, then X <- 1.5 X - 0.5 X XᵀX (wide matrices are transposed to tall
first). A conv weight (out, in, kh, kw) is orthogonalised separately for each spatial tap. The result is
scaled by sqrt(out/in) / (kh*kw). Biases and normalisation parameters are untouched; output heads are
included, as in the official vision code.

Defaults follow the official vision code: 10 iterations, fresh optimiser state after the projection
(``reset_optimizer``), every Linear layer projected (``linear = "project"``, the paper's method statement).
The official DQN script (``rl/dqn/cleanrl/dqn_atari_resume.py``, ``apply_fire``) does otherwise: it projects
only the convolutions and returns every Linear layer (weights and biases, the Q head included: ~95 % of the
Nature-CNN's parameters) to its initial values, and keeps Adam's state. ``linear = "reset"`` gives that: the
initial weights are snapshotted when the learner is built (``attach``) and kept in checkpoints; the preset
``fire_dqn`` sets ``fire.linear = "reset"`` and ``fire.reset_optimizer = false``.
Known gap, inherited from the official code: after Frobenius normalisation, 10 iterations leave the
small singular values of an ill-conditioned matrix below 1, so the result is not an exact isometry.
Deliberate deviation: none (each official script's choice is an option).
``scale = "init"`` (not the default) rescales each projected weight to the Frobenius norm its layer had when the
learner was built. The paper and every official script use the fixed sqrt(out/in) / (kh*kw), which ignores the
agent's own initialisation: for CleanRL's PPO (orthogonal gains sqrt 2 in the torso, 0.01 on the policy head, 1
on the value head) it shrinks the MinAtar torso's 1024 -> 128 layer from norm 16 to 4, makes the policy head 22x
larger (a much sharper policy right after the switch) and the value head 11x smaller. ``init`` keeps the
direction FIRE chooses (the polar factor) and the scale the agent was tuned with.
Target networks, where a learner has them, are set to the edited online weights (official SAC and DQN code).
With SAC, as the official SAC code (``rl/sac/scale_rl/agents/simba/projection.py``) rebuilds its agent: the
actor and both critics are projected, the target critics become the projected critics, the optimisers are
reset and the temperature returns to its initial value (``reset_temperature``); the replay buffer is kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from rlplastic import checks
from rlplastic.agents import Learner
from rlplastic.interventions.base import Boundary, PointIntervention, When

LINEAR_MODES = ("project", "reset")
SCALES = ("paper", "init")


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
    linear: str = "project"
    """Linear layers: "project" them like the convolutions (the paper; official vision and SAC code) or "reset"
    their weights and biases to the initial values (the official DQN script; preset fire_dqn)."""
    scale: str = "paper"
    """Size of a projected weight: "paper", sqrt(out/in) / (kh*kw) (the paper, every official script), or "init",
    the Frobenius norm of that layer at initialisation (keeps the agent's own initial scale; not in the paper)."""

    def check(self) -> None:
        checks.counts("", {"iters": self.iters})
        checks.one_of("", "linear", self.linear, LINEAR_MODES)
        checks.one_of("", "scale", self.scale, SCALES)


class Fire(PointIntervention):
    """Project every Conv2d (and, unless ``linear = "reset"``, Linear) weight onto (nearly) its nearest isometry
    at each task switch; with ``linear = "reset"`` the Linear layers return to their initial values."""

    name = "fire"
    paper = "arXiv 2602.08040"
    Config = FireConfig

    def __init__(self, config: FireConfig | None = None) -> None:
        super().__init__(config)
        self._initial: dict[str, dict[str, dict[str, torch.Tensor]]] = {}
        self._norms: dict[str, dict[str, float]] = {}

    def attach(self, learner: Learner) -> None:
        if self.config.linear == "reset":
            self._initial = {name: initial_linears(net) for name, net in learner.networks.items()}
        if self.config.scale == "init":
            self._norms = {name: initial_norms(net) for name, net in learner.networks.items()}

    @torch.no_grad()
    def apply(self, learner: Learner, boundary: Boundary | None = None) -> None:
        reset = self.config.linear == "reset"
        for name, net in learner.networks.items():
            for module_name, layer in net.named_modules():
                if reset and isinstance(layer, nn.Linear):
                    layer.load_state_dict(self._initial[name][module_name])
                elif isinstance(layer, (nn.Linear, nn.Conv2d)):
                    projected = fire_weight(layer.weight.float(), self.config.iters)
                    if self._norms:
                        projected *= self._norms[name][module_name] / projected.norm()
                    layer.weight.copy_(projected)
        if self.config.reset_optimizer:
            learner.reset_optimizer()
        if self.config.reset_temperature:
            learner.reset_temperature()

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"initial": self._initial} if self._initial else {}
        return state | ({"norms": self._norms} if self._norms else {})

    def load_state_dict(self, state: dict[str, Any], learner: Learner) -> None:
        self._initial = state.get("initial", self._initial)
        self._norms = state.get("norms", self._norms)


def initial_linears(net: nn.Module) -> dict[str, dict[str, torch.Tensor]]:
    """A copy of every Linear layer's weights and bias, by module name: what ``linear = "reset"`` returns to."""
    return {
        name: {k: v.detach().clone() for k, v in layer.state_dict().items()}
        for name, layer in net.named_modules()
        if isinstance(layer, nn.Linear)
    }


def initial_norms(net: nn.Module) -> dict[str, float]:
    """The Frobenius norm of every Linear and Conv2d weight, by module name: what ``scale = "init"`` keeps."""
    return {
        name: float(layer.weight.detach().float().norm())
        for name, layer in net.named_modules()
        if isinstance(layer, (nn.Linear, nn.Conv2d))
    }
