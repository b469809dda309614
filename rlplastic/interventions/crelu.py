"""CReLU activations (Abbas et al., "Loss of Plasticity in Continual Deep RL", arXiv 2303.07507).

Every hidden ReLU becomes [ReLU(z), ReLU(-z)], so no unit can go fully dormant. Following the paper, every
hidden layer's unit count is multiplied by ``width`` = 0.5 so that each layer passes on as many features as
before. Measured consequence (tests/interventions/test_interventions_formulas.py): the heads keep their size but the
hidden weight matrices halve, so the network has about half the parameters, not the same number the issue
text assumed; ``--set crelu.width=0.7071`` keeps the count of the hidden-to-hidden layers instead.
With SAC: the actor and both critics (and so their targets) get CReLU; the temperature and the replay
buffer are untouched.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from rlplastic import checks
from rlplastic.agents.networks import ArchSpec
from rlplastic.interventions.base import Intervention


@dataclass(frozen=True)
class CReLUConfig:
    width: float = 0.5
    """Factor on every hidden layer's unit count (0.5: each layer passes on as many features as before)."""

    def __post_init__(self) -> None:
        checks.positive("", {"width": self.width})


class CReLUMethod(Intervention):
    name = "crelu"
    paper = "arXiv 2303.07507"
    Config = CReLUConfig

    def modify_arch(self, arch: ArchSpec) -> ArchSpec:
        return dataclasses.replace(arch, activation="crelu", width=arch.width * self.config.width)
