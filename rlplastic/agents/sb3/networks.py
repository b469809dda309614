"""SB3 policies seen through our ``Network`` protocol, so every intervention acts on them unchanged.

- ``EncoderExtractor``: our encoder (``build_encoder``, so ``modify_arch`` methods such as LayerNorm and CReLU
  apply) as SB3's ``features_extractor``. The SB3 agents build their policies on it with ``net_arch=[]``: the
  heads (``action_net``, ``value_net``, DQN's ``q_net``) read its features directly, as our agents' heads do.
- ``PolicyView``: one network of an SB3 policy (its encoder and heads, the very modules SB3 trains) as an
  ``EncoderHeads``. A head set on the view (plasticity injection) is set in the policy too.
- ``OptimizerView``: what SB3's ``train()`` calls as ``policy.optimizer``, forwarding to the learner's
  optimisers by name. A method that swaps an optimiser (TRAC, Kron) swaps what SB3 steps; every optimiser step
  is also where the learner counts updates and runs ``after_update`` and ``extra_loss`` hooks.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from rlplastic.agents.networks import ArchSpec, EncoderHeads, build_encoder, is_conv, state_action

HeadSetter = Callable[[nn.Module], None]


class EncoderExtractor(BaseFeaturesExtractor):
    """Our encoder for ``arch`` as an SB3 features extractor (observations scaled by ``arch.obs_scale``; SB3's own
    image scaling is turned off with ``normalize_images=False``)."""

    def __init__(self, observation_space: spaces.Box, arch: ArchSpec, role: str = "critic") -> None:
        encoder, width = build_encoder(arch, tuple(observation_space.shape), role)
        super().__init__(observation_space, width)
        self.encoder = encoder
        self.obs_scale = arch.obs_scale
        self.channels_last = is_conv(arch)  # the layout is set after SB3's init (``to_channels_last``)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            obs = obs.contiguous(memory_format=torch.channels_last)
        return self.encoder(obs.float() * self.obs_scale)


def to_channels_last(policy: nn.Module) -> nn.Module:
    """Conv weights in channels_last (half the cost of CPU convolutions, see ``EncoderHeads.encode``), set once SB3
    has initialised them: its orthogonal init cannot view such tensors."""
    for module in policy.modules():
        if isinstance(module, EncoderExtractor) and module.channels_last:
            module.encoder.to(memory_format=torch.channels_last)
    return policy


class PolicyView(EncoderHeads):
    """An ``EncoderHeads`` over an SB3 policy's modules: an ``encoder`` (our extractor's, or a Sequential of SB3's own
    layers in forward order) read by ``heads`` (name -> (module, setter)). Its parameters are the policy's own,
    so a method's edit is SB3's weights."""

    def __init__(
        self,
        encoder: nn.Module,
        heads: dict[str, tuple[nn.Module, HeadSetter]],
        obs_scale: float = 1.0,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.obs_scale, self.channels_last = obs_scale, channels_last
        self.head_names = tuple(heads)
        self.__dict__["_setters"] = {name: setter for name, (_, setter) in heads.items()}
        for name, (module, _) in heads.items():
            nn.Module.__setattr__(self, name, module)

    @classmethod
    def of(cls, extractor: EncoderExtractor, heads: dict[str, tuple[nn.Module, HeadSetter]]) -> PolicyView:
        """The view of a policy built on our ``EncoderExtractor``."""
        return cls(extractor.encoder, heads, extractor.obs_scale, extractor.channels_last)

    def __setattr__(self, name: str, value: Any) -> None:
        setter = self.__dict__.get("_setters", {}).get(name)
        if setter is not None:
            setter(value)  # the policy's forward pass reads the new head
        super().__setattr__(name, value)


class StateActionView(PolicyView):
    """A view of a critic Q(s, a) whose layers read the flattened observation and the action side by side (SB3's
    ``ContinuousCritic`` q-networks behind a weightless features extractor)."""

    def inputs(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return state_action(batch)


class OptimizerView:
    """``policy.optimizer`` (or ``actor.optimizer``, ...) for SB3's ``train()``: the optimisers ``names`` of
    ``optimizers``, looked up at each call so a swapped optimiser is the one stepped. ``before_step(names)`` and
    ``after_step(names)`` run around each step (the learner's extra losses and update clock). With ``own_rates``
    the optimisers keep their own learning rates: SB3's one schedule writes into copies of their groups (SB3's SAC
    has one rate; ours has one per network)."""

    def __init__(
        self,
        optimizers: MutableMapping[str, torch.optim.Optimizer],
        names: tuple[str, ...],
        before_step: Callable[[tuple[str, ...]], None],
        after_step: Callable[[tuple[str, ...]], None],
        own_rates: bool = False,
    ) -> None:
        self.optimizers, self.names = optimizers, names
        self.before_step, self.after_step = before_step, after_step
        self.own_rates = own_rates

    def _parts(self) -> list[torch.optim.Optimizer]:
        return [self.optimizers[n] for n in self.names]

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """Every group of every part: SB3 sets the learning rate of each (``update_learning_rate``); copies of
        them with ``own_rates``."""
        groups = [g for opt in self._parts() for g in opt.param_groups]
        return [dict(g) for g in groups] if self.own_rates else groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        for opt in self._parts():
            opt.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        self.before_step(self.names)
        for opt in self._parts():
            opt.step()
        self.after_step(self.names)

    def state_dict(self) -> dict[str, Any]:
        return {n: self.optimizers[n].state_dict() for n in self.names}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for n in self.names:
            self.optimizers[n].load_state_dict(state[n])
