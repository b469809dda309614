"""``reset``: a fresh network and a fresh optimiser at every task switch (the from-scratch reference).

Equivalent to training each phase from a new random initialisation, so it can neither forget usefully
nor lose plasticity: the upper reference for plasticity, the lower one for transfer. Full resets at a
fixed interval (Nikishin et al., arXiv 2205.07802) are ``--set reset.every=N``.
With SAC: the actor and both critics are re-initialised, their targets become copies of the fresh critics
(the runner's sync), all optimiser state is cleared and the temperature returns to alpha = 1 (a from-scratch
agent); the replay buffer is kept, as in Nikishin et al.'s resets, and fills with the new task's data.
"""

from __future__ import annotations

from rlplastic.agents import Learner
from rlplastic.interventions.base import Boundary, PointIntervention


class Reset(PointIntervention):
    """Re-initialise every network (and its target) and clear all optimiser state."""

    name = "reset"
    paper = "from-scratch reference (full reset, cf. Nikishin et al. arXiv 2205.07802)"

    def apply(self, learner: Learner, boundary: Boundary | None = None) -> None:
        for name, net in learner.networks.items():
            fresh = learner.fresh_network(name).state_dict()
            net.load_state_dict(fresh)
        learner.reset_optimizer()
        learner.reset_temperature()
