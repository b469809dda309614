"""ReDo: recycling dormant neurons (Sokar et al., arXiv 2302.12902; code: google/dopamine labs/redo).

Score of hidden unit i on ``samples`` buffer transitions: s_i = E|h_i| / (mean_k E|h_k| + 1e-9), with h the
post-activation output averaged over the batch (and positions for conv maps). Units with s_i <= tau are
dormant and recycled: incoming weights re-initialised (from the network's own initialiser), their bias
set to 0, outgoing weights set to 0, and Adam's moments of those weights zeroed (the step count kept, bias
moments kept, as in the official code). The output layer is never recycled.

Defaults: tau = 0.025 (the paper's default; 0.1 at high replay ratios), every ``period`` = 1000 gradient
updates, 256 samples. Deviation: also applied at every task switch by default (``at_switch``), since this
suite's question is plasticity across switches; ``--set redo.at_switch=false`` gives the paper's schedule.
Recycling inside an update (the period) leaves target networks to the agent's own schedule, as the official
code does; recycling at a switch is followed by the runner's target sync, like every boundary edit.
Order, as in the official code (``weight_recyclers.py``: every layer's dormant set is measured on one forward
pass, then all incoming re-initialisations are applied, then all outgoing zeroings): a weight that is both
outgoing of a recycled unit and incoming of a recycled unit of the next layer ends up zeroed. Here the layers
are recycled last first, so each layer's zeroing comes after the next layer's re-initialisation.
With SAC: dormant units of the actor and of both critics are recycled, measured on a replay batch (a critic
reads observation and action); after a switch the targets are synced, inside updates they follow by Polyak
averaging; the temperature and the replay buffer are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rlplastic import checks
from rlplastic.agents import Learner
from rlplastic.interventions.base import Boundary, Intervention
from rlplastic.interventions.units import ActivationRecorder, replace_units, unit_activity
from rlplastic.metrics.diagnostics import normalised_scores


def dormant_units(activity: torch.Tensor, tau: float) -> torch.Tensor:
    """Indices of units whose normalised score E|h_i| / (mean_k E|h_k| + 1e-9) is at most ``tau``."""
    return torch.nonzero(normalised_scores(activity) <= tau).flatten()


@dataclass(frozen=True)
class RedoConfig:
    tau: float = 0.025
    """Dormancy threshold on a unit's normalised score E|h_i| / mean_k E|h_k|."""
    period: int = 1000
    """Gradient updates (not agent steps, as the paper counts) between recyclings inside training, 0: never. In
    agent steps: period x iteration_steps / updates per iteration (DQN at CleanRL's Atari defaults, 1 update per
    4 steps: every 4,000 steps; PPO at the minatar suite's, 32 updates per 8,192 steps: every 256,000)."""
    samples: int = 256
    """Transitions of the learner's buffer the scores are measured on."""
    at_switch: bool = True
    """Also recycle at every task switch (a deviation from the paper, which only uses the period)."""

    def __post_init__(self) -> None:
        checks.non_negative("", {"tau": self.tau})
        checks.counts("", {"period": self.period}, minimum=0)
        checks.counts("", {"samples": self.samples})


class Redo(Intervention):
    """Recycle dormant hidden units every ``period`` gradient updates and at task switches.

    ``period`` is the one method option counted in updates rather than agent steps, because the paper's
    schedule is (ReDo acts inside updates, in ``after_update``): ``period`` updates are
    ``period * iteration_steps / updates per iteration`` agent steps, which depends on the agent's replay ratio
    or epochs."""

    name = "redo"
    paper = "arXiv 2302.12902"
    Config = RedoConfig

    def after_update(self, learner: Learner, update: int) -> None:
        if self.config.period > 0 and update % self.config.period == 0:
            self.recycle(learner)

    def act(self, learner: Learner, boundary: Boundary) -> bool:
        if not (boundary.switch and self.config.at_switch):
            return False
        self.recycle(learner)
        return True

    def recycle(self, learner: Learner) -> dict[str, list[int]]:
        """Recycle the dormant units of every network; return how many per hidden layer."""
        batch = learner.sample(self.config.samples)
        counts = {}
        for name, net in learner.networks.items():
            layers = net.hidden_layers()
            with ActivationRecorder(layers) as acts, torch.no_grad():
                net.features(batch)
            fresh = learner.fresh_network(name).hidden_layers()
            dormant = [dormant_units(unit_activity(h, acts[i]), self.config.tau) for i, h in enumerate(layers)]
            counts[name] = [len(units) for units in dormant]
            for i in reversed(range(len(layers))):  # zeroing after re-initialising: see the module docstring
                if len(dormant[i]):
                    optimizers = list(learner.optimizers.values())
                    replace_units(layers[i], dormant[i], fresh[i].incoming.weight, optimizers, zero_bias_moments=False)
        return counts
