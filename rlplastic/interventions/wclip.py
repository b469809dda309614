"""Weight clipping (Elsayed, Lan, Lyle & Mahmood, "Weight Clipping for Deep Continual and Reinforcement
Learning", RLC 2024, arXiv 2407.01704; official code mohmdelsayed/weight-clipping).

After every optimiser step each weight and bias of layer l is clipped to [-kappa * s_l, kappa * s_l], where s_l
is the bound of the layer's uniform initial distribution, so weights cannot grow without limit (the growth the
paper ties to loss of plasticity and policy collapse). As in the official code (``InitBounds``), s_l is
PyTorch's default uniform bound 1/sqrt(fan_in) of the layer (fan_in = inputs x kernel size), used for its
weights and its bias alike, whatever initialisation the network actually had (their PPO script, like ours,
initialises orthogonally and still clips to kappa/sqrt(fan_in)). Default kappa = 3, the official RL (PPO)
script's ``weight_clipping = 3.0``; their supervised sweeps used kappa in 1..5. The output layers are clipped
too (official ``clip_last_layer = 1``); ``heads = false`` leaves them free.
Deviation: only Linear and Conv2d layers are clipped. The official optimiser wrapper clips every parameter in
its groups, giving a 1-D parameter the bound of the weight before it; that would clip a LayerNorm gain
(initially 1) to kappa/sqrt(fan_in) and PPO's state-independent log-std to 1/sqrt(action_dim), which the paper's
rule (a bound per layer from its initial distribution) does not ask for. Plasticine does not ship this method.
With SAC: the actor and both critics are clipped after every update step (after the actor's step when it has
one); targets follow by Polyak averaging; the temperature and the replay buffer are untouched.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from rlplastic import checks
from rlplastic.agents import Learner
from rlplastic.interventions.base import Intervention, weight_layers


@dataclass(frozen=True)
class WeightClippingConfig:
    kappa: float = 3.0
    """Clip every weight and bias to kappa x its layer's initial bound 1/sqrt(fan_in) (official RL script: 3)."""
    heads: bool = True
    """Clip the output layers too (the official ``clip_last_layer = 1``)."""

    def __post_init__(self) -> None:
        checks.positive("", {"kappa": self.kappa})


def init_bound(layer: nn.Linear | nn.Conv2d) -> float:
    """s_l: the bound of PyTorch's default uniform initialisation of ``layer``, 1/sqrt(fan_in)."""
    return 1.0 / math.sqrt(layer.weight[0].numel())


def clipped_layers(net: nn.Module, heads: bool) -> Iterator[nn.Linear | nn.Conv2d]:
    """The trainable Linear and Conv2d layers of ``net`` that are clipped (without its heads unless ``heads``)."""
    skip = set() if heads else {id(layer) for h in net.heads.values() for layer in weight_layers(h)}
    for layer in weight_layers(net):
        if id(layer) not in skip and layer.weight.requires_grad:
            yield layer


@torch.no_grad()
def clip_layer(layer: nn.Linear | nn.Conv2d, kappa: float) -> None:
    bound = kappa * init_bound(layer)
    layer.weight.clamp_(-bound, bound)
    if layer.bias is not None:
        layer.bias.clamp_(-bound, bound)


class WeightClipping(Intervention):
    name = "wclip"
    paper = "arXiv 2407.01704"
    Config = WeightClippingConfig

    def after_update(self, learner: Learner, update: int) -> None:
        for net in learner.networks.values():
            for layer in clipped_layers(net, self.config.heads):
                clip_layer(layer, self.config.kappa)
