"""The agent-neutral seam: what every agent offers the runner and the interventions, in one file.

- the env contract (``VectorEnv``, ``StepResult``, ``ActionSpec``, ``EnvSpec``, ``Episode``) lives in
  ``rlplastic/envs/spec.py``: agents depend on envs, never the reverse (``rlplastic.agents`` re-exports it).
- ``Network``: what a network offers interventions (``heads``, ``hidden_layers()``).
- ``Hooks``: what an intervention may do while an agent is built and while it trains.
- ``Learner``: what an agent offers the runner (``collect``/``update``, one iteration at a time) and the
  interventions (networks, targets, optimisers, data, losses).

One clock. The runner alone drives training, one iteration (``iteration_steps`` agent steps) at a time, and
it alone decides at each iteration boundary whether an intervention acts (``Intervention.act``), so no
method can act twice at one step. After an intervention edits weights at a boundary the runner calls
``sync_targets()``: target networks are set in one place. Hooks called inside an update (``after_update``:
ReDo's period, continual backprop) leave targets to the agent's own target schedule, as the official code
of those methods does.

A new agent is one module implementing ``Learner`` (subclassing ``LearnerBase``), registered by an entry point in
the group ``rlplastic.agents`` (``rlplastic.agents.registry``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from rlplastic.agents.allocator import tune_allocator
from rlplastic.agents.device import to_device
from rlplastic.agents.precision import autocast
from rlplastic.envs.spec import EnvSpec, Episode, VectorEnv

if TYPE_CHECKING:
    from rlplastic.agents.networks import ArchSpec, HiddenLayer

Batch = dict[str, torch.Tensor]
EpisodeCallback = Callable[[int, Episode], None]
"""Called with the agent step at which an episode ended and the episode; the runner knows the phase."""


# --- networks -------------------------------------------------------------------------------------------
@runtime_checkable
class Network(Protocol):
    """What interventions may assume of a network.

    ``heads``: the output layers by name (``head_names`` in order): reset by head reset, wrapped by plasticity
    injection. ``hidden_layers()``: every layer of hidden units in order, each with its incoming layer, its
    activation module and the layers that read it (the last one's readers are the heads): the units ReDo and
    continual backprop recycle. ``features(batch)``: the last hidden layer's output on the inputs this network
    reads from a batch (observations; a critic also the actions). Running it activates every hidden layer,
    which is how ReDo measures units; every head reads these features.
    """

    head_names: tuple[str, ...]

    @property
    def heads(self) -> dict[str, nn.Module]: ...

    def hidden_layers(self) -> list[HiddenLayer]: ...

    def features(self, batch: Batch) -> torch.Tensor: ...


# --- hooks ----------------------------------------------------------------------------------------------
class Hooks:
    """What an agent consults while it is built and calls back while it trains; interventions override these.

    - ``modify_arch``: edit the architecture before any network is built (LayerNorm, CReLU).
    - ``optimizer_options``: edit the optimiser options before it is built (``weight_decay``, decoupled).
    - ``after_update``: after every optimiser step; ``update`` counts gradient steps over the run.
    - ``extra_loss``: a term added to network ``network``'s loss in every update (L2-init).

    Acting at iteration boundaries (task switches, every N steps, at step S) is ``Intervention.act``, called
    by the runner only.
    """

    def modify_arch(self, arch: ArchSpec) -> ArchSpec:
        return arch

    def optimizer_options(self, options: dict[str, Any]) -> dict[str, Any]:
        return options

    def after_update(self, learner: Learner, update: int) -> None:
        """Called after every optimiser step."""

    def extra_loss(self, learner: Learner, network: str) -> torch.Tensor | None:
        return None


# --- the learner ----------------------------------------------------------------------------------------
@runtime_checkable
class Learner(Protocol):
    ACTION_KINDS: ClassVar[tuple[str, ...]]
    """The action spaces it can act in (``ActionSpec.kind``): planning refuses the others before any run."""
    spec: EnvSpec
    """The environments' spaces the networks were built for."""
    networks: dict[str, nn.Module]
    """Online networks by name; each satisfies ``Network``."""
    target_networks: dict[str, nn.Module]
    """The target network of each online network that has one (same key); empty for PPO."""
    optimizers: dict[str, torch.optim.Optimizer]
    """The optimiser of each online network (same key)."""
    global_step: int
    """Agent steps taken so far (summed over environments)."""
    updates: int
    """Gradient steps taken so far."""
    iteration_steps: int
    """Agent steps per iteration: phases are rounded to whole iterations, interventions act between them."""
    log_every: int
    """Agent steps between metric rows (a multiple of ``iteration_steps``)."""
    restarted_buffer: bool
    """True after a resume from a checkpoint that did not hold the agent's replay buffer."""

    # training, driven by the runner
    def start_phase(self, env: VectorEnv, iterations: int) -> None:
        """Begin training on ``env`` for ``iterations`` iterations (resets the env, per-phase schedules). The
        phase starts at ``global_step`` and lasts ``iterations * iteration_steps`` agent steps: which task it is
        stays with the runner, which labels the episodes ``collect`` reports."""
        ...

    def collect(self, on_episode: EpisodeCallback) -> None:
        """Act in the environment for one iteration's ``iteration_steps`` agent steps."""
        ...

    def update(self, hooks: Hooks) -> dict[str, float]:
        """Learn from the data collected so far (one iteration's updates); training statistics."""
        ...

    def probe(self, env: VectorEnv, n: int) -> Batch:
        """``n`` transitions gathered on ``env`` with the current policy, neither trained on nor counted:
        data of an incoming task for methods that measure it before acting (DASH)."""
        ...

    def set_run_length(self, total_steps: int) -> None: ...

    # what interventions use
    def sample(self, n: int, rng: np.random.Generator | None = None) -> Batch:
        """A batch of ``n`` transitions from the rollout or replay buffer; drawn with ``rng`` if given, which
        leaves the learner's own random state (and so its training) untouched."""
        ...

    def losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        """The agent's own training loss of each network on ``batch`` (gradient-based methods)."""
        ...

    def fresh_network(self, name: str) -> nn.Module:
        """A newly initialised network with the architecture of ``networks[name]``."""
        ...

    def reset_optimizer(self, params: Iterable[nn.Parameter] | None = None) -> None:
        """Forget optimiser state (moments, step counts) for ``params``, or for everything if None."""
        ...

    def set_extra_parameters(self, name: str, params: list[nn.Parameter]) -> None:
        """Train ``params``, added to network ``name`` after its optimiser was built, replacing earlier extras."""
        ...

    def sync_targets(self) -> None:
        """Make every target network a copy of its online network (structure and weights)."""
        ...

    def reset_temperature(self) -> None:
        """Return a learned entropy temperature (SAC) to its initial value, with fresh optimiser state for it;
        nothing for agents without one."""
        ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


# --- helpers shared by the agents ------------------------------------------------------------------------
def clear_optimizer_state(optimizer: torch.optim.Optimizer, params: Iterable[nn.Parameter] | None) -> None:
    """Drop the per-parameter state (Adam moments and step) so those parameters start afresh."""
    if params is None:
        optimizer.state.clear()
        return
    for p in params:
        optimizer.state.pop(p, None)


def set_extra_parameters(optimizer: torch.optim.Optimizer, params: list[nn.Parameter]) -> None:
    """Keep one extra parameter group for parameters added after construction (plasticity injection):
    the first call adds it, later calls swap its parameters and drop the state of the ones replaced."""
    if len(optimizer.param_groups) == 1:
        optimizer.add_param_group({"params": params})
        return
    group = optimizer.param_groups[-1]
    for p in group["params"]:
        optimizer.state.pop(p, None)
    group["params"] = list(params)


def frozen_copy(net: nn.Module) -> nn.Module:
    """A copy of ``net`` that takes no gradients (a target network). Forward hooks are not copied: an
    intervention's activation recorder watches the online network only."""
    target = copy.deepcopy(net)
    for p in target.parameters():
        p.requires_grad_(False)
    for module in target.modules():
        module._forward_hooks.clear()
        module._forward_pre_hooks.clear()
    return target


def all_parameters(optimizer: torch.optim.Optimizer) -> list[nn.Parameter]:
    return [p for g in optimizer.param_groups for p in g["params"]]


def adam(params: Iterable[nn.Parameter], lr: float, eps: float, weight_decay: float) -> torch.optim.Optimizer:
    """Adam, or AdamW (decoupled decay) when an intervention asks for weight decay. The fused kernel is the
    same update in one pass over each tensor: 0.44 ms instead of 2.24 ms per Nature-CNN step here."""
    if weight_decay > 0:
        return torch.optim.AdamW(params, lr=lr, eps=eps, weight_decay=weight_decay, fused=True)
    return torch.optim.Adam(params, lr=lr, eps=eps, fused=True)


class LearnerBase:
    """The parts of ``Learner`` every agent implements the same way: construction from ``Hooks``, fresh
    networks, optimiser resets, extra parameters, target sync, the run clock and checkpoints of all that.

    A subclass calls ``_setup`` first in its ``__init__`` and implements ``_build(name)``. Its device is the one
    it is built under (``agents.make`` builds inside ``torch.device(device)``); every tensor it makes after
    construction goes there explicitly (``device=self.device``, ``to_device``).
    """

    cfg: Any
    networks: dict[str, nn.Module]
    target_networks: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    restarted_buffer: bool = False  # agents with a replay buffer override this

    def _setup(self, spec: EnvSpec, seed: int, hooks: Hooks | None, arch: ArchSpec) -> Hooks:
        tune_allocator()  # speed only: large update tensors stay on the heap (see agents/allocator.py)
        self.device = torch.get_default_device()  # the device it is built under (agents.make)
        self.spec = spec
        self.obs_shape = spec.obs_shape
        self.num_actions = spec.action_spec.n
        hooks = hooks or Hooks()
        self.arch = hooks.modify_arch(arch)
        self.optimizer_options = hooks.optimizer_options({"weight_decay": 0.0})
        self.global_step = 0
        self.updates = 0
        self._rng = np.random.default_rng(seed)
        self._run = (0, 1)  # (first step, length) of the run, for run-long schedules
        return hooks

    def _build(self, name: str) -> nn.Module:
        raise NotImplementedError

    def fresh_network(self, name: str) -> nn.Module:
        if name not in self.networks:
            raise KeyError(f"no network {name!r}; this learner has {', '.join(self.networks)}")
        with torch.device(self.device):
            return self._build(name)

    def to_device(self, array: np.ndarray) -> torch.Tensor:
        """An environment's array on this learner's device (no copy on the CPU)."""
        return to_device(array, self.device)

    def autocast(self) -> torch.autocast:
        """The context of an update's forward passes: fp32 or bf16 autocast on this learner's device."""
        return autocast(getattr(self.cfg, "precision", "fp32"), self.device)

    def set_run_length(self, total_steps: int) -> None:
        """Tell the learner how long the whole run is (for schedules over the run)."""
        self._run = (self.global_step, max(total_steps, 1))

    def reset_optimizer(self, params: Iterable[nn.Parameter] | None = None) -> None:
        params = None if params is None else list(params)
        for opt in self.optimizers.values():
            clear_optimizer_state(opt, params)

    def set_extra_parameters(self, name: str, params: list[nn.Parameter]) -> None:
        set_extra_parameters(self.optimizers[name], params)

    def sync_targets(self) -> None:
        for name in self.target_networks:
            self.target_networks[name] = frozen_copy(self.networks[name])

    def reset_temperature(self) -> None:
        """No learned temperature: nothing to reset (SAC overrides this)."""

    def set_learning_rate(self, name: str, lr: float) -> None:
        for group in self.optimizers[name].param_groups:
            group["lr"] = lr

    def base_state(self) -> dict[str, Any]:
        """Networks, targets, optimisers, counters and the random state: what every checkpoint holds."""
        return {
            "networks": {k: v.state_dict() for k, v in self.networks.items()},
            "targets": {k: v.state_dict() for k, v in self.target_networks.items()},
            "optimizers": {k: v.state_dict() for k, v in self.optimizers.items()},
            "global_step": self.global_step,
            "updates": self.updates,
            "rng": self._rng.bit_generator.state,
            "run": self._run,
        }

    def load_base_state(self, state: dict[str, Any]) -> None:
        for k, v in state["networks"].items():
            self.networks[k].load_state_dict(v)
        self.sync_targets()  # same structure as the online network (injection may have rebuilt its heads)
        for k, v in state["targets"].items():
            self.target_networks[k].load_state_dict(v)
        for k, v in state["optimizers"].items():
            self.optimizers[k].load_state_dict(v)
        self.global_step = state["global_step"]
        self.updates = state["updates"]
        self._rng.bit_generator.state = state["rng"]
        self._run = tuple(state["run"])


def train(learner: Learner, env: VectorEnv, iterations: int, hooks: Hooks | None = None) -> list[dict[str, float]]:
    """Train ``learner`` on ``env`` for ``iterations`` iterations, one phase, no intervention boundaries and no
    records: the loop of tests and speed benchmarks (the runner's own loop adds boundaries and records)."""
    hooks = hooks or Hooks()
    learner.start_phase(env, iterations)
    stats = []
    for _ in range(iterations):
        learner.collect(lambda step, episode: None)
        stats.append(learner.update(hooks))
    return stats
