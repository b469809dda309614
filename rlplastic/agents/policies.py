"""The two policy families PPO trains: what differs between discrete and continuous actions.

- ``CategoricalActorCritic`` (CleanRL ``ppo_atari.py``): one network ``actor_critic``, a shared encoder with a
  policy-logits head and a value head.
- ``GaussianActorCritic`` (CleanRL ``ppo_continuous_action.py``): two networks, ``actor`` (a diagonal Gaussian
  with a state-independent log-std) and ``critic``, each its own encoder. CleanRL trains both with one Adam;
  here each has its own optimiser, which is the same update (Adam is per parameter) and lets interventions
  treat them as the two networks they are.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from rlplastic.agents.networks import ActorCritic, ArchSpec, GaussianPolicy, ValueNetwork
from rlplastic.envs.spec import EnvSpec

Networks = dict[str, nn.Module]


class CategoricalActorCritic:
    names = ("actor_critic",)

    def __init__(self, spec: EnvSpec) -> None:
        self.spec = spec

    def build(self, name: str, arch: ArchSpec) -> nn.Module:
        return ActorCritic(arch, self.spec.obs_shape, self.spec.action_spec.n)

    def act(self, nets: Networks, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A sampled action, its log-probability and the state value."""
        logits, value = nets["actor_critic"](obs)
        logp = torch.log_softmax(logits, dim=-1)
        action = torch.multinomial(logp.exp(), 1).squeeze(1)
        return action, logp.gather(1, action[:, None]).squeeze(1), value

    def value(self, nets: Networks, obs: torch.Tensor) -> torch.Tensor:
        return nets["actor_critic"](obs)[1]

    def evaluate(
        self, nets: Networks, obs: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Log-probability of ``actions``, the policy's entropy per sample, and the state value."""
        logits, value = nets["actor_critic"](obs)
        logp = torch.log_softmax(logits.float(), dim=-1)  # fp32 even under bf16 autocast: ratios need it
        entropy = -(logp.exp() * logp).sum(-1)
        return logp.gather(1, actions[:, None]).squeeze(1), entropy, value.float()


class GaussianActorCritic:
    names = ("actor", "critic")

    def __init__(self, spec: EnvSpec) -> None:
        self.spec = spec

    def build(self, name: str, arch: ArchSpec) -> nn.Module:
        if name == "actor":
            return GaussianPolicy(arch, self.spec.obs_shape, self.spec.action_spec.dim)
        return ValueNetwork(arch, self.spec.obs_shape)

    @staticmethod
    def _log_prob(mean: torch.Tensor, log_std: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        z = (actions - mean) / log_std.exp()
        return (-0.5 * z**2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)

    def act(self, nets: Networks, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mean, log_std = nets["actor"](obs)
        action = mean + log_std.exp() * torch.randn_like(mean)
        return action, self._log_prob(mean, log_std, action), nets["critic"](obs)

    def value(self, nets: Networks, obs: torch.Tensor) -> torch.Tensor:
        return nets["critic"](obs)

    def evaluate(
        self, nets: Networks, obs: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mean, log_std = nets["actor"](obs)
        mean, log_std = mean.float(), log_std.float()  # fp32 even under bf16 autocast: ratios need it
        entropy = (0.5 + 0.5 * math.log(2 * math.pi) + log_std).sum(-1)
        return self._log_prob(mean, log_std, actions), entropy, nets["critic"](obs).float()


def policy_family(spec: EnvSpec) -> CategoricalActorCritic | GaussianActorCritic:
    return CategoricalActorCritic(spec) if spec.action_spec.discrete else GaussianActorCritic(spec)
