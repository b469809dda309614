"""C-CHAIN, continual churn approximated reduction (Tang et al., ICML 2025, arXiv 2506.00592; bluecontra/C-CHAIN).

Churn is how much an update changes the network's outputs on data it was not trained on. Every update adds
lambda * L_churn to the network's loss, where L_churn compares the outputs on a reference batch (drawn
afresh from the agent's buffer or rollout, the training batch's size) of the current weights theta_t with those
of theta_{t-1}, the weights before the previous update (the official ``his_list[-2]``). Which outputs and
distance, and how lambda is set, follow the official script of each output kind (chosen by head name):

- ``q`` heads (DQN; SAC critics), ``crl_minatar/agents/double_dqn_c_chain.py``: mean squared difference of all
  action values; lambda = 50 for the first 10,000 updates, then 0.01 * mean|L_main| / (mean L_churn + 1e-8)
  over the last 50,000 updates, never restarted.
- ``mean`` heads (Gaussian PPO's actor; SAC's actor), ``crl_dmc/crl_run_ppo_c_chain_dmc.py``: mean squared
  difference of the action means; lambda = 100 for the first 50 iterations of each task, then
  0.05 * mean|L_main| / (mean L_churn + 1e-8) over the last 100 iterations; restarted at every task switch.
- ``policy`` heads (categorical PPO and the A2C plug-in), ``crl_procgen/vis_train_procgen_c_chain.py``:
  cross-entropy -sum_a pi_{t-1}(a) log(pi_t(a) + 1e-8); lambda = 10 for the first 21 iterations of each task,
  then max(10,000 * mean|L_main| / (mean L_churn + 1e-8), 1) over the last 200 iterations; restarted at switches.
Value heads (``value``) and SAC's ``log_std`` are not regularised: the official PPO code reduces policy churn only.
lambda moves at iteration boundaries from per-iteration means (the official PPO scripts; DQN's iteration is one
update, so its per-update rule is unchanged).

Deliberate deviations:
- L_main is the agent's own loss of that network (``Learner.losses``) on the reference batch, without gradient,
  not the training batch's: the same expectation for DQN's TD loss. For PPO that is the whole PPO loss (policy,
  value, entropy) where the official scripts use the policy loss alone, so PPO's lambda comes out larger than
  the official one by about (L_policy + 0.5 L_value) / L_policy; a seam that reported the policy loss would
  remove this.
- SAC is not in the paper: its critics take the DQN rule and its actor's means the Gaussian PPO rule.
- A weight edit between two updates by another method (reset, ReDo, FIRE; detected by the tensors' version
  counters) makes theta_{t-1} meaningless, so the next update has no churn term, as the official code's first
  update; after a resume the saved theta_{t-1} is trusted. So ``cchain`` is refused in a composition with a
  method that edits weights outside the optimiser step (``EDITORS``): across a resume the version counters are
  lost, and an edit at the first boundary would go unseen.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from rlplastic import checks
from rlplastic.agents import Batch, Learner
from rlplastic.agents.learner import frozen_copy
from rlplastic.interventions.base import Boundary, Intervention


@dataclass(frozen=True)
class Profile:
    """One official script's churn distance and automatic scaling of lambda."""

    distance: str
    """mse (values, Gaussian means) or cross_entropy (categorical policies, from logits)."""
    target: float
    """tau: lambda = tau * mean|L_main| / (mean L_churn + 1e-8) once warm."""
    initial: float
    """lambda before the warm-up ends."""
    warmup: int
    """Iterations with updates before lambda is scaled."""
    window: int
    """Iterations averaged for the scaling."""
    floor: float
    """lambda never goes below this."""
    restart_at_switch: bool
    """Back to ``initial`` and an empty window at every task switch."""


PROFILES = {
    "q": Profile("mse", 0.01, 50.0, 10_000, 50_000, 0.0, False),
    "mean": Profile("mse", 0.05, 100.0, 50, 100, 0.0, True),
    "policy": Profile("cross_entropy", 10_000.0, 10.0, 21, 200, 1.0, True),
}


@dataclass(frozen=True)
class CChainConfig:
    target_scale: float = 0.0
    """tau, the target ratio of the churn term to the main loss; 0: the official value of each output kind
    (action values 0.01, Gaussian means 0.05, categorical policies 10,000)."""
    batch_size: int = 0
    """Reference batch size; 0: the agent's training batch (PPO: its minibatch; an agent without a batch size:
    one iteration's transitions)."""

    def __post_init__(self) -> None:
        checks.non_negative("", checks.fields(self, "target_scale"))
        checks.counts("", checks.fields(self, "batch_size"), minimum=0)


def churn(out: torch.Tensor, ref: torch.Tensor, distance: str) -> torch.Tensor:
    """The distance between current outputs ``out`` and the previous weights' outputs ``ref``."""
    if distance == "mse":
        return ((out - ref) ** 2).mean()
    return -(ref.softmax(-1) * torch.log(out.softmax(-1) + 1e-8)).sum(-1).mean()


class Scale:
    """lambda of one network: per-iteration means of |L_main| and L_churn, averaged over a window."""

    def __init__(self, profile: Profile, target: float) -> None:
        self.profile, self.target = profile, target or profile.target
        self.restart()

    def restart(self) -> None:
        self.value = self.profile.initial
        self.iterations = 0
        self.window: deque[tuple[float, float]] = deque(maxlen=self.profile.window)
        self.sums = [0.0, 0.0]
        self.pending: list[torch.Tensor] = []  # (|L_main|, L_churn) of this iteration's updates

    def record(self, main: torch.Tensor, churn_loss: torch.Tensor) -> None:
        self.pending.append(torch.stack([main.abs(), churn_loss]).detach())

    def end_iteration(self) -> None:
        if not self.pending:
            return
        main, loss = (float(x) for x in torch.stack(self.pending).mean(0))
        self.pending = []
        if len(self.window) == self.window.maxlen:
            old_main, old_loss = self.window[0]
            self.sums = [self.sums[0] - old_main, self.sums[1] - old_loss]
        self.window.append((main, loss))
        self.sums = [self.sums[0] + main, self.sums[1] + loss]
        self.iterations += 1
        if self.iterations >= self.profile.warmup:
            n = len(self.window)
            ratio = (self.sums[0] / n) / (self.sums[1] / n + 1e-8)
            self.value = max(self.target * ratio, self.profile.floor)

    def state_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "iterations": self.iterations,
            "window": list(self.window),
            "sums": self.sums,
            "pending": [p.tolist() for p in self.pending],  # a checkpoint falls between updates and the boundary
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.value, self.iterations, self.sums = state["value"], state["iterations"], list(state["sums"])
        self.window = deque((tuple(w) for w in state["window"]), maxlen=self.profile.window)
        self.pending = [torch.tensor(p) for p in state["pending"]]


class Previous:
    """theta_{t-1} of one network: a hook-free copy refreshed just before each optimiser step, valid while no
    one else has edited the weights since that step (tensor version counters)."""

    def __init__(self, net: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        self.net, self.optimizer = net, optimizer
        self.copy: nn.Module | None = None
        self.versions: list[int] | None = None
        self.trusted = False  # restored from a checkpoint: valid at the next update without a version check
        optimizer.register_step_pre_hook(lambda *_: self._snapshot())
        optimizer.register_step_post_hook(lambda *_: self._mark())

    def _params(self) -> list[torch.Tensor]:
        return list(self.net.parameters())

    @torch.no_grad()
    def _snapshot(self) -> None:
        live = self._params()
        if self.copy is None or [p.shape for p in self.copy.parameters()] != [p.shape for p in live]:
            self.copy = frozen_copy(self.net)
        for c, p in zip(self.copy.parameters(), live, strict=True):
            c.copy_(p)

    def _mark(self) -> None:
        self.versions = [p._version for p in self._params()]
        self.trusted = False

    def get(self) -> nn.Module | None:
        """The network before its last optimiser step, or None if there is none or the weights were edited."""
        if self.copy is None:
            return None
        if self.trusted or self.versions == [p._version for p in self._params()]:
            return self.copy
        return None


# Methods that edit weights outside the optimiser step. Such an edit (even a no-op clamp) makes theta_{t-1}
# stale, and the version counters that detect it do not survive a resume (a resumed run would differ from the
# uninterrupted one); cbp would also record cchain's reference forward pass as its training activations.
EDITORS = ("fire", "dash", "sp", "redo", "cbp", "headreset", "injection", "wclip", "nap")
EDITS = "{} edits weights outside the optimiser step, which cchain's churn reference cannot follow across a resume"


class CChain(Intervention):
    name = "cchain"
    paper = "arXiv 2506.00592"
    Config = CChainConfig
    conflicts: ClassVar[dict[str, str]] = {m: EDITS.format(m) for m in EDITORS}

    def attach(self, learner: Learner) -> None:
        self._rng = np.random.default_rng(torch.initial_seed())  # reference batches leave the learner's RNG alone
        self._scales: dict[str, Scale] = {}
        self._heads: dict[str, list[tuple[str, Profile]]] = {}
        for name, net in learner.networks.items():
            heads = [(h, PROFILES[h]) for h in net.head_names if h in PROFILES]
            if heads:
                self._heads[name] = heads
                self._scales[name] = Scale(heads[0][1], self.config.target_scale)
        self._previous: dict[str, Previous] = {}
        self._cache: tuple[int, Batch, dict[str, torch.Tensor]] | None = None

    def _batch_size(self, learner: Learner) -> int:
        if self.config.batch_size:
            return self.config.batch_size
        cfg = getattr(learner, "cfg", None)  # PPO's minibatch, a replay agent's batch, else one iteration's data
        size = getattr(cfg, "minibatch_size", None) or getattr(cfg, "batch_size", None) or learner.iteration_steps
        if not isinstance(size, int) or size < 1:
            raise ValueError("cchain cannot tell this agent's training batch size; set cchain.batch_size")
        return size

    def _reference(self, learner: Learner) -> tuple[Batch, dict[str, torch.Tensor]]:
        """This update's reference batch and the agent's losses on it (shared by the networks of one update)."""
        if self._cache is None or self._cache[0] != learner.updates:
            batch = learner.sample(self._batch_size(learner), self._rng)
            with torch.no_grad():
                losses = learner.losses(batch)
            self._cache = (learner.updates, batch, losses)
        return self._cache[1], self._cache[2]

    def extra_loss(self, learner: Learner, network: str) -> torch.Tensor | None:
        if network not in self._heads:
            return None
        optimizer = learner.optimizers[network]
        tracker = self._previous.get(network)
        if tracker is None or tracker.optimizer is not optimizer:  # hooked on the optimiser that finally trains
            old = tracker.copy if tracker is not None else None
            tracker = self._previous[network] = Previous(learner.networks[network], optimizer)
            tracker.copy = old
        previous = tracker.get()
        if previous is None:
            return None
        batch, losses = self._reference(learner)
        net = learner.networks[network]
        features = net.features(batch)
        with torch.no_grad():
            old_features = previous.features(batch)
        terms = [
            churn(net.heads[h](features), previous.heads[h](old_features).detach(), profile.distance)
            for h, profile in self._heads[network]
        ]
        loss = torch.stack(terms).sum()
        scale = self._scales[network]
        scale.record(losses[network], loss)
        return scale.value * loss

    def act(self, learner: Learner, boundary: Boundary) -> bool:
        self._cache = None  # a new iteration draws new reference batches (so a resumed run draws the same)
        for scale in self._scales.values():
            scale.end_iteration()
            if boundary.switch and scale.profile.restart_at_switch:
                scale.restart()
        return False

    def coefficient(self, network: str) -> float:
        """The current lambda of ``network``."""
        return self._scales[network].value

    def state_dict(self) -> dict[str, Any]:
        return {
            "scales": {name: s.state_dict() for name, s in self._scales.items()},
            "previous": {n: t.copy.state_dict() for n, t in self._previous.items() if t.copy is not None},
            "rng": self._rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any], learner: Learner) -> None:
        if not state:
            return
        for name, s in state["scales"].items():
            self._scales[name].load_state_dict(s)
        for name, weights in state["previous"].items():
            tracker = Previous(learner.networks[name], learner.optimizers[name])
            tracker.copy = frozen_copy(learner.networks[name])
            tracker.copy.load_state_dict(weights)
            tracker.trusted = True
            self._previous[name] = tracker
        self._rng.bit_generator.state = state["rng"]
