"""PSGD Kron: every network trains with the Kronecker-factored preconditioned SGD optimiser instead of the agent's.

PSGD is Xi-Lin Li's preconditioned SGD (arXiv 1512.04202), with one preconditioner factor per tensor dimension
fitted on Lie groups (arXiv 1809.10232). Plasticine (RLE-Foundation/Plasticine) ships it as a plasticity method,
citing arXiv 2506.15544, and applies it by building ``kron_torch.Kron(params, lr=<the agent's learning rate>)``
with every other setting at the package's default; this module does the same with the pinned package
``kron-torch==0.3.3`` (evanatyourservice/kron_torch; the ``kron`` extra of this project, with ``opt-einsum``,
without which its einsums contract in an order that needs 64 GB for one 128x1024 layer). Its update per tensor:
momentum m (b1 = 0.9, bias-corrected), a preconditioner Q updated with probability 1 for the first 500 steps then
annealed to 0.03, the step Q^T Q m with its RMS clipped to 1.1, and p -= lr * step (weight decay 0).

Deliberate deviations (the first an option):
- ``compile = false``: the package compiles its kernels with ``torch.compile``; on the 2-core CPU here that took
  108 s before the first step of a 10-16-3 MLP. Off, the same kernels run eagerly (the same arithmetic).
- The preconditioner schedule's counters and its random generator (for the balancing every ~100 updates) are
  kept in checkpoints, which the package's ``state_dict`` leaves out, so a resumed run continues exactly.
- Gradients are made contiguous before the package's step, which views them as matrices and fails on the
  channels-last conv weights of this project's networks (the same values).
- Options of the agent's optimiser other than the learning rate (Adam's epsilon, RMSprop's averaging, decoupled
  weight decay from ``wd``/``lnwd``) no longer apply: Kron has its own ``weight_decay``.
- One Kron per network (Plasticine builds one over the whole agent): Kron works tensor by tensor, so only the
  draws that pick the ~1-in-100 balancing steps differ.
The learning rate stays the agent's, so PPO's annealing applies to Kron as it did to Adam. With SAC every network
(actor and both critics) gets its own Kron; the temperature keeps its Adam. Clearing optimiser state (reset, FIRE,
head reset) forgets each cleared parameter's momentum and preconditioner, which Kron rebuilds at the next step.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

import torch

from rlplastic import checks
from rlplastic.agents import Learner
from rlplastic.interventions.base import Intervention

PACKAGE = "kron-torch==0.3.3"
NO_DECAY = "kron replaces the optimiser that carries wd's decay; set kron.weight_decay instead"


@dataclass(frozen=True)
class KronConfig:
    learning_rate: float = 0.0
    """Kron's step size; 0 keeps each network's own learning rate (Plasticine passes the agent's Adam rate)."""
    b1: float = 0.9
    """Momentum of the gradients that are preconditioned (the package's default)."""
    weight_decay: float = 0.0
    """Kron's weight decay on weights of two or more dimensions, added to the preconditioned step (default 0)."""
    precond_lr: float = 0.1
    """Step size of the preconditioner's own fit (the package's default)."""
    max_size_triangular: int = 8192
    """Dimensions up to this size get a triangular factor, larger ones a diagonal one (the package's default)."""
    compile: bool = False
    """Let the package compile its kernels with torch.compile (minutes on a small CPU; worth it on a GPU)."""

    def __post_init__(self) -> None:
        checks.non_negative("", checks.fields(self, "learning_rate", "weight_decay"))
        checks.positive("", checks.fields(self, "precond_lr"))
        checks.probabilities("", checks.fields(self, "b1"))
        checks.counts("", checks.fields(self, "max_size_triangular"))


def kron_class() -> type[torch.optim.Optimizer]:
    """``kron_torch.Kron``, or a one-line error saying how to install it."""
    try:
        from kron_torch import Kron
    except ImportError as err:
        raise ImportError(f"method kron needs the package {PACKAGE}: pip install 'rlplastic[kron]'") from err
    if not torch.backends.opt_einsum.is_available():  # without it torch.einsum builds a 64 GB intermediate
        raise ImportError("method kron needs the package opt-einsum for its einsums: pip install 'rlplastic[kron]'")
    return Kron


class Kron(Intervention):
    name = "kron"
    paper = "arXiv 2506.15544 (PSGD Kron: arXiv 1512.04202)"
    Config = KronConfig
    conflicts: ClassVar[dict[str, str]] = {"wd": NO_DECAY, "lnwd": NO_DECAY, "trac": "both replace the optimiser"}

    def attach(self, learner: Learner) -> None:
        for name, old in learner.optimizers.items():
            learner.optimizers[name] = self.make(old.param_groups, self.config)

    @staticmethod
    def make(groups: list[dict[str, Any]], config: KronConfig) -> torch.optim.Optimizer:
        """A Kron optimiser over ``groups`` (each keeps its own learning rate unless the config sets one)."""
        options = {
            "b1": config.b1,
            "weight_decay": config.weight_decay,
            "precond_lr": config.precond_lr,
            "max_size_triangular": config.max_size_triangular,
        }
        new_groups = [{"params": g["params"], "lr": config.learning_rate or g["lr"]} for g in groups]
        return optimizer_class(config.compile)(new_groups, **options)


SCHEDULE = "preconditioner_update_probability"


@cache
def optimizer_class(compile: bool) -> type[torch.optim.Optimizer]:
    """The package's Kron, checkpointable (see the module docstring), eager unless ``compile``."""

    class CheckpointedKron(kron_class()):  # type: ignore[misc]
        def step(self, closure=None):  # type: ignore[override]
            """The package's step on contiguous gradients: it views each gradient as a matrix, which fails on the
            channels-last conv weights of this project's networks (the values are unchanged)."""
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None and not p.grad.is_contiguous():
                        p.grad = p.grad.contiguous()
            return super().step(closure)

        def state_dict(self) -> dict[str, Any]:
            """Plain values only (checkpoints load with ``weights_only``): the schedule object stays out, numpy
            shapes become ints, the einsum strings go beside the state, and the schedule's counters and random
            state go in."""
            state = super().state_dict()
            for group in state["param_groups"]:
                group.pop(SCHEDULE, None)
            exprs = {k: v["exprs"] for k, v in state["state"].items() if "exprs" in v}
            state["state"] = {k: _plain(v) for k, v in state["state"].items()}
            counters = {"prob_step": int(self._prob_step), "update_counter": int(self._update_counter)}
            return state | {"kron": counters | {"rng": self.rng.getstate(), "exprs": exprs}}

        def load_state_dict(self, state_dict: dict[str, Any]) -> None:
            state_dict = dict(state_dict)
            extra = state_dict.pop("kron", None)
            schedules = [g[SCHEDULE] for g in self.param_groups]
            super().load_state_dict(state_dict)
            for group, schedule in zip(self.param_groups, schedules, strict=True):
                group.setdefault(SCHEDULE, schedule)
            if extra is not None:  # torch's loader would turn the einsum strings into "<generator ...>": kept aside
                params = [p for group in self.param_groups for p in group["params"]]
                for index, exprs in extra["exprs"].items():
                    self.state[params[index]]["exprs"] = exprs
                self._prob_step = torch.tensor(extra["prob_step"], dtype=torch.int32)
                self._update_counter = torch.tensor(extra["update_counter"], dtype=torch.int32)
                self.rng = random.Random()
                self.rng.setstate(extra["rng"])

    if compile:
        return CheckpointedKron

    class EagerKron(CheckpointedKron):
        def step(self, closure=None):  # type: ignore[override]
            """The package's step with its ``torch.compile`` kernels run eagerly (the same arithmetic)."""
            import torch._dynamo

            with torch._dynamo.config.patch(disable=True):
                return super().step(closure)

    return EagerKron


def _plain(state: dict[str, Any]) -> dict[str, Any]:
    """A parameter's state without its einsum strings, its merged shape in ints."""
    plain = {k: v for k, v in state.items() if k != "exprs"}
    if "merged_shape" in plain:
        plain["merged_shape"] = [int(n) for n in plain["merged_shape"]]
    return plain
