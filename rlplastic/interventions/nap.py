"""Normalize-and-Project (Lyle, Zheng, Khetarpal, Martens, van Hasselt, Pascanu & Dabney, "Normalization and
effective learning rates in reinforcement learning", arXiv 2407.01800; no official code).

Normalize: LayerNorm before every hidden nonlinearity (the same placement as ``ln``: over features for Linear
layers, over channels and positions for conv maps). A layer followed by a normalisation is scale-invariant,
so the growth of its weight norm silently decays its effective learning rate; Project: after every optimiser
step each such layer's weight is rescaled to its norm at initialisation (one Frobenius norm per layer), which
keeps the effective learning rate at the one the optimiser was given. The scale and offset of each inserted
normalisation are rescaled jointly to their initial joint norm (for ReLU networks the next normalisation undoes
a common factor on both; ``affine = false`` leaves them free); a SimBa torso's own LayerNorms are left alone.
Biases of the projected layers are not projected (Plasticine projects weights only). The output heads are not
projected by default: no normalisation follows them, so their norm sets the output's scale (Q-values,
log-probabilities), which must be free to grow; ``heads = true`` projects them too.
Sources: the paper's abstract (normalisation before nonlinearities, projection to a constant norm after each
step) and Plasticine (RLE-Foundation/Plasticine, ``plasticine_normalize_and_project``: one norm per weight tensor,
initial norms as targets, scale and offset jointly for homogeneous activations). The paper's method section could
not be consulted from here: the per-layer norm, the free heads and the joint scale/offset follow Plasticine and
the scale-invariance argument above, and may differ in detail from the paper's experiments. Plasticine itself
differs from ours: it projects every weight tensor including the output layers, only every 10 PPO iterations,
adds no LayerNorm to its MLP agent, and its scale/offset branch never matches PyTorch's parameter names (so its
LayerNorm gains are projected alone, as weights, and offsets are left free).
With SAC: the actor and both critics get LayerNorm and are projected after every update step; targets follow
by Polyak averaging; the temperature and the replay buffer are untouched.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from rlplastic.agents import Learner
from rlplastic.agents.networks import ArchSpec
from rlplastic.interventions.base import Intervention

NORMS = (nn.LayerNorm, nn.GroupNorm)
OVERLAP = "nap already inserts LayerNorm; use nap alone (or nap+wd for weight decay)"


@dataclass(frozen=True)
class NaPConfig:
    heads: bool = False
    """Project the output layers' weights too (off: they are not followed by a normalisation)."""
    affine: bool = True
    """Project each normalisation layer's scale and offset jointly to their initial joint norm."""


def projected(net: nn.Module, cfg: NaPConfig) -> dict[str, list[torch.Tensor]]:
    """The parameter groups NaP keeps at constant norm, by module name: each hidden layer's weight (and each
    head's if ``cfg.heads``); if ``cfg.affine``, the scale and offset (together) of the normalisation right after
    each hidden layer, the one NaP inserted (a residual torso's own LayerNorms are left alone)."""
    hidden = {id(h.incoming) for h in net.hidden_layers()}
    heads = [m for h in net.heads.values() for m in h.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    weights = hidden | ({id(m) for m in heads} if cfg.heads else set())
    groups: dict[str, list[torch.Tensor]] = {}
    previous = None
    for name, module in net.named_modules():  # in forward order within each Sequential
        if id(module) in weights:
            groups[name] = [module.weight]
        elif cfg.affine and isinstance(module, NORMS) and previous in hidden and module.weight is not None:
            groups[name] = [module.weight, module.bias]
        previous = id(module)
    return groups


def joint_norm(tensors: list[torch.Tensor]) -> torch.Tensor:
    return torch.sqrt(sum((t.detach().float() ** 2).sum() for t in tensors))


@torch.no_grad()
def project(tensors: list[torch.Tensor], target: float) -> None:
    """Rescale ``tensors`` together so that their joint norm is ``target`` (nothing if they are all zero)."""
    norm = joint_norm(tensors)
    if norm > 0:
        for t in tensors:
            t.mul_(target / norm)


class NaP(Intervention):
    name = "nap"
    paper = "arXiv 2407.01800"
    Config = NaPConfig
    conflicts: ClassVar[dict[str, str]] = {"ln": OVERLAP, "lnwd": OVERLAP}

    def modify_arch(self, arch: ArchSpec) -> ArchSpec:
        return dataclasses.replace(arch, layer_norm=True)

    def attach(self, learner: Learner) -> None:
        self._norms = {
            (net_name, name): float(joint_norm(group))
            for net_name, net in learner.networks.items()
            for name, group in projected(net, self.config).items()
        }

    def after_update(self, learner: Learner, update: int) -> None:
        for net_name, net in learner.networks.items():
            for name, group in projected(net, self.config).items():
                target = self._norms.get((net_name, name))
                if target is not None:
                    project(group, target)

    def state_dict(self) -> dict[str, Any]:
        return {"norms": self._norms}

    def load_state_dict(self, state: dict[str, Any], learner: Learner) -> None:
        if state:
            self._norms = state["norms"]
