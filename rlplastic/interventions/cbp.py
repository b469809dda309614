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
Optimiser: the official RL configuration (``lop/rl/cfg/*/cbp.yml``, read by ``run_ppo.py``) also sets Adam's
beta1 = beta2 = 0.99 and weight decay 1e-4, added to the gradient as torch's ``Adam(weight_decay=)`` does (L2,
not AdamW's decoupled decay). By default the agent's optimiser is kept (``adam_betas = []``,
``adam_weight_decay = 0``), so that ``cbp`` differs from ``none`` by its unit replacement alone;
``--set 'cbp.adam_betas=[0.99, 0.99]' --set cbp.adam_weight_decay=1e-4`` (or ``--preset cbp_official`` on the
walker, humanoid and slippery suites) gives the official setting. Both need Adam: an agent with another
optimiser (MinAtar DQN's RMSprop), or a method that already asks for decoupled decay (``wd``, ``lnwd``), is
refused with a one-line error when the learner is built.
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
from dataclasses import dataclass, field
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
    adam_betas: list[float] = field(default_factory=list)
    """Adam's (beta1, beta2) for every network ([]: the agent's; the official RL configuration: [0.99, 0.99])."""
    adam_weight_decay: float = 0.0
    """L2 weight decay added to Adam's gradient, as torch's Adam(weight_decay=) (0: none; official RL: 1e-4)."""

    def __post_init__(self) -> None:
        checks.probabilities("", {"replacement_rate": self.replacement_rate, "decay": self.decay})
        checks.counts("", {"maturity": self.maturity}, minimum=0)
        checks.non_negative("", {"adam_weight_decay": self.adam_weight_decay})
        betas = self.adam_betas
        if not isinstance(betas, list) or len(betas) not in (0, 2):
            raise ValueError(f"adam_betas must be [] or [beta1, beta2], not {betas!r}")
        checks.probabilities("", {f"adam_betas[{i}]": b for i, b in enumerate(betas)})


class Cbp(Intervention):
    """Replace a small fraction of mature, low-utility hidden units after every update."""

    name = "cbp"
    paper = "arXiv 2306.13812 (Nature 2024)"
    Config = CbpConfig

    def attach(self, learner: Learner) -> None:
        set_adam(learner, self.config.adam_betas, self.config.adam_weight_decay)
        self._layers = {name: net.hidden_layers() for name, net in learner.networks.items()}
        # Started for the whole run: the hooks live as long as the learner does.
        recorders = {name: ActivationRecorder(layers, grad_only=True).start() for name, layers in self._layers.items()}
        self._acts = {name: r.latest for name, r in recorders.items()}
        self._stats = {
            name: [
                {
                    "util": torch.zeros(h.units, device=h.incoming.weight.device),
                    "age": torch.zeros(h.units, device=h.incoming.weight.device),
                    "mean": torch.zeros(h.copies, h.units, device=h.incoming.weight.device),
                }
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
        if state:  # checkpoints load onto the CPU (RunStore): the statistics go back beside the weights
            for name, layers in state["stats"].items():
                for h, st in zip(self._layers[name], layers, strict=True):
                    st.update({k: v.to(h.incoming.weight.device) for k, v in st.items()})
            self._stats, self._carry = state["stats"], state["carry"]


def set_adam(learner: Learner, betas: list[float], weight_decay: float) -> None:
    """Give every network's Adam these betas and L2 weight decay (the official CBP configuration); nothing if
    neither is asked for. Set in the parameter groups and the defaults (groups added later, by injection)."""
    if not betas and not weight_decay:
        return
    options: dict[str, Any] = {"betas": tuple(betas)} if betas else {}
    if weight_decay:
        options["weight_decay"] = weight_decay
    for name, opt in learner.optimizers.items():
        kind = type(opt).__name__
        if kind != "Adam":
            raise ValueError(
                f"cbp.adam_betas and cbp.adam_weight_decay set torch's Adam, but network {name!r} trains with {kind} "
                "(an agent with another optimiser, or a method asking for decoupled weight decay); drop those options"
            )
        opt.defaults.update(options)
        for group in opt.param_groups:
            group.update(options)
