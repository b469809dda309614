"""LayerNorm and weight decay (Lyle et al., "Disentangling the Causes of Plasticity Loss", arXiv 2402.18762).

``ln``: LayerNorm on the pre-activations before every hidden nonlinearity (over features for Linear layers;
over channels and positions, GroupNorm with one group, for conv maps). ``wd``: decoupled weight decay
(AdamW-style) toward zero on every parameter. ``lnwd``: both, the paper's recommended combination.
Default weight decay 1e-5 (the paper's supervised value; Atari values 1e-7 to 1e-3 were compared).
No official code exists; the placement follows the paper's text.
With SAC: LayerNorm goes into the actor and both critics (and so their targets); weight decay applies to the
actor's and both critics' optimisers, not to the temperature; the replay buffer is untouched.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from rlplastic import checks
from rlplastic.agents.networks import ArchSpec
from rlplastic.interventions.base import Intervention

OVERLAP = "ln, wd and lnwd overlap; use lnwd for both"


@dataclass(frozen=True)
class WeightDecayConfig:
    weight_decay: float = 1e-5
    """Decoupled (AdamW) weight decay toward zero on every parameter."""

    def __post_init__(self) -> None:
        checks.non_negative("", {"weight_decay": self.weight_decay})


class LayerNorm(Intervention):
    name = "ln"
    paper = "arXiv 2402.18762"
    conflicts: ClassVar[dict[str, str]] = {"wd": OVERLAP, "lnwd": OVERLAP}

    def modify_arch(self, arch: ArchSpec) -> ArchSpec:
        return dataclasses.replace(arch, layer_norm=True)


class WeightDecay(Intervention):
    name = "wd"
    paper = "arXiv 2402.18762"
    Config = WeightDecayConfig
    conflicts: ClassVar[dict[str, str]] = {"ln": OVERLAP, "lnwd": OVERLAP}

    def optimizer_options(self, options: dict[str, Any]) -> dict[str, Any]:
        return options | {"weight_decay": self.config.weight_decay}


class LayerNormWeightDecay(LayerNorm, WeightDecay):
    name = "lnwd"
    Config = WeightDecayConfig
    conflicts: ClassVar[dict[str, str]] = {"ln": OVERLAP, "wd": OVERLAP}
