"""Deep Fourier features (Lewandowski, Schuurmans & Machado, "Plastic Learning with Deep Fourier Features",
arXiv 2410.20634).

Every hidden nonlinearity becomes [sin(z), cos(z)] of the pre-activation z, concatenated along the feature axis
(channels for conv maps). The two derivatives, cos(z) and -sin(z), never vanish together, so no unit loses its
gradient; the paper argues that such a network keeps a linear-like component in every layer (embedded linearity),
which is what keeps it trainable on new tasks. Like CReLU (``crelu``) it passes on two features
per unit, so the layer after it reads twice as many inputs. Followed here: Plasticine (RLE-Foundation/Plasticine,
``DFF4Linear`` / ``DFF4Conv2d``, sin(z) and cos(-z) = cos(z)), which keeps every layer's unit count and doubles
the features (``width = 1``); ``--set dff.width=0.5`` passes on as many features as the plain network instead.
No official code of the paper was found. Weights keep the agent's initialisation.
With SAC: the actor and both critics (and so their targets) get the activation; the temperature and the replay
buffer are untouched.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from rlplastic import checks
from rlplastic.agents.networks import ArchSpec
from rlplastic.interventions.base import Intervention


@dataclass(frozen=True)
class DFFConfig:
    width: float = 1.0
    """Factor on every hidden layer's unit count (1: Plasticine's; 0.5: as many features as the plain network)."""

    def __post_init__(self) -> None:
        checks.positive("", {"width": self.width})


class DeepFourierFeatures(Intervention):
    name = "dff"
    paper = "arXiv 2410.20634"
    Config = DFFConfig
    conflicts: ClassVar[dict[str, str]] = {"crelu": "both replace the hidden activation; use one"}

    def modify_arch(self, arch: ArchSpec) -> ArchSpec:
        return dataclasses.replace(arch, activation="dff", width=arch.width * self.config.width)
