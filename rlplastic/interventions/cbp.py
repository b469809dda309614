"""Continual backprop (Dohare et al., Nature 2024, arXiv 2306.13812; code: shibhansh/loss-of-plasticity).

After every update, for each hidden unit: utility u <- eta*u + (1-eta)*|h|*mean|w_out| (|h| the unit's
mean absolute activation on the update's minibatch, mean|w_out| over its outgoing weights), mean
activation f <- eta*f + (1-eta)*mean(h), age += 1. Units older than ``maturity`` are eligible; each update
adds ``replacement_rate`` x (eligible count) to a running count and replaces that many whole units (the
fraction carried over), lowest bias-corrected utility u / (1 - eta^age) first. A replaced unit gets
incoming weights U(-b, b), b = sqrt(3 / fan_in) (the LeCun bound of the official PPO runs) and bias 0; its
outgoing weights are set to 0 after adding w_out * f / (1 - eta^age) to the next layer's bias, so the
network's output changes as little as possible; its utility, mean and age restart at 0.

Defaults (official PPO on Ant): replacement_rate 1e-4, maturity 1e4 updates, eta 0.99.
Deliberate deviations from the official code (shibhansh/loss-of-plasticity, ``lop/algos/gnt.py`` and
``convGnT.py``), each kept because it follows the paper's description of the algorithm:
- Adam moments of the replaced weights are zeroed (the official GnT does this only with its AdamGnT
  optimiser; its PPO runs used plain Adam).
- The fractional count is carried over (the official ``accumulate=True`` mode) rather than drawn at random,
  which keeps runs deterministic.
- Bias correction: the official GnT zeroes the replaced unit's mean activation before adding it to the next
  bias, so its correction adds 0, and ConvGnT has none; here the bias-corrected mean is moved into the next
  layer's bias for Linear and conv units alike.
- Re-initialisation bound: sqrt(3 / fan_in) for every layer (the official Linear GnT's); the official conv
  version draws conv units with sqrt(1 / fan_in).
- Utility after a conv layer read by a Linear layer: here |h| is averaged over positions and mean|w_out|
  over every column the unit feeds; the official ConvGnT combines them per position before averaging.
With SAC: units of the actor and of both critics are replaced inside updates; targets follow by Polyak
averaging (the agent's own schedule, as in the official code); the temperature and the replay buffer are kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from rlplastic import checks
from rlplastic.agents import Learner
from rlplastic.interventions.base import Intervention
from rlplastic.interventions.units import (
    ActivationRecorder,
    outgoing_weight_magnitude,
    replace_units,
    unit_activity,
    unit_mean,
)


def update_utility(util: torch.Tensor, activity: torch.Tensor, out_mag: torch.Tensor, eta: float) -> torch.Tensor:
    """u <- eta*u + (1 - eta)*|h|*mean|w_out| (contribution utility)."""
    return eta * util + (1 - eta) * activity * out_mag


def replacement_count(carry: float, eligible: int, rate: float) -> tuple[int, float]:
    """Whole units to replace now and the fraction carried to the next update."""
    carry += rate * eligible
    n = int(carry)
    return n, carry - n


@dataclass(frozen=True)
class CbpConfig:
    replacement_rate: float = 1e-4
    """Fraction of the mature units of each layer replaced per update (the fractional count carries over)."""
    maturity: int = 10_000
    """Updates a unit must have lived before it can be replaced."""
    decay: float = 0.99
    """eta: decay of the running utility and mean activation of each unit."""

    def __post_init__(self) -> None:
        checks.probabilities("", {"replacement_rate": self.replacement_rate, "decay": self.decay})
        checks.counts("", {"maturity": self.maturity}, minimum=0)


class Cbp(Intervention):
    """Replace a small fraction of mature, low-utility hidden units after every update."""

    name = "cbp"
    paper = "arXiv 2306.13812 (Nature 2024)"
    Config = CbpConfig

    def attach(self, learner: Learner) -> None:
        self._layers = {name: net.hidden_layers() for name, net in learner.networks.items()}
        # Started for the whole run: the hooks live as long as the learner does.
        recorders = {name: ActivationRecorder(layers, grad_only=True).start() for name, layers in self._layers.items()}
        self._acts = {name: r.latest for name, r in recorders.items()}
        self._stats = {
            name: [
                {"util": torch.zeros(h.units), "age": torch.zeros(h.units), "mean": torch.zeros(h.copies, h.units)}
                for h in layers
            ]
            for name, layers in self._layers.items()
        }
        self._carry = {name: [0.0] * len(layers) for name, layers in self._layers.items()}

    @torch.no_grad()
    def after_update(self, learner: Learner, update: int) -> None:
        cfg = self.config
        optimizers = list(learner.optimizers.values())
        for name, layers in self._layers.items():
            for i, h in enumerate(layers):
                if i not in self._acts[name]:
                    continue
                act, st = self._acts[name][i], self._stats[name][i]
                st["util"] = update_utility(st["util"], unit_activity(h, act), outgoing_weight_magnitude(h), cfg.decay)
                st["mean"] = cfg.decay * st["mean"] + (1 - cfg.decay) * unit_mean(h, act)
                st["age"] += 1
                eligible = torch.nonzero(st["age"] > cfg.maturity).flatten()
                n, self._carry[name][i] = replacement_count(self._carry[name][i], len(eligible), cfg.replacement_rate)
                if n:
                    self._replace(h, st, eligible, n, optimizers)

    @torch.no_grad()
    def _replace(self, h, st: dict[str, torch.Tensor], eligible: torch.Tensor, n: int, optimizers: list) -> None:
        correction = 1 - self.config.decay ** st["age"][eligible]
        units = eligible[torch.argsort(st["util"][eligible] / correction)[:n]]
        fan_in = h.incoming.weight[0].numel()
        bound = math.sqrt(3 / fan_in)
        new = torch.empty_like(h.incoming.weight).uniform_(-bound, bound)
        for u in units.tolist():
            for c in range(h.copies):  # each CReLU copy carries its own mean activation
                mean = st["mean"][c, u] / (1 - self.config.decay ** st["age"][u])
                for out in h.outgoing:
                    w = out.weight[:, h.outgoing_columns(u, c)]
                    out.bias += w.reshape(w.shape[0], -1).sum(1) * mean
        replace_units(h, units, new, optimizers)
        st["util"][units] = 0.0
        st["age"][units] = 0.0
        st["mean"][:, units] = 0.0

    def state_dict(self) -> dict[str, Any]:
        return {"stats": self._stats, "carry": self._carry}

    def load_state_dict(self, state: dict[str, Any], learner: Learner) -> None:
        if state:
            self._stats, self._carry = state["stats"], state["carry"]
