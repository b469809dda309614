"""Soft Actor-Critic for continuous actions (Haarnoja et al. 2018, arXiv 1801.01290 and 1812.05905).

Follows CleanRL's ``sac_continuous_action.py`` (vwxyzjn/cleanrl), whose values are the defaults: twin critics
Q1, Q2 of 256x256 ReLU units with PyTorch's default initialisation, each with a target copy moved by Polyak
averaging (tau 0.005) after every update; a tanh-squashed Gaussian actor (log-std squashed into [-5, 2]);
a learned temperature alpha (log alpha from 0, target entropy -|A|); Adam with lr 1e-3 for the critics and
the temperature, 3e-4 for the actor; batch 256; uniform random actions for the first ``learning_starts``
= 5,000 steps; one update per environment step; the actor (and temperature) updated ``policy_frequency`` = 2
times every second update, on that update's batch. The critic target is
r + gamma * (1 - terminated) * (min(Q1', Q2')(s', a') - alpha * log pi(a'|s')), a' ~ pi(s').
Time-limit truncations and task switches bootstrap from the final observation (CleanRL does the same with
``final_observation``); only a termination ends the return.

Networks, as interventions see them: ``actor``, ``q1`` and ``q2``, each with its own optimiser (the same
Adam update as CleanRL's one optimiser over both critics: Adam is per parameter); ``q1`` and ``q2`` have
target networks. The temperature is not a network: ``reset_temperature()`` returns it to alpha = 1 with fresh
optimiser state. ``hooks.after_update`` is called once per update step (a critic step and, when due, the actor
steps).

Deliberate deviations: none in the algorithm. Options beyond CleanRL: ``precision = "bf16"`` (forward passes
of the update under bf16 autocast; faster only with native bf16, see ``agents/precision.py``),
``gradient_steps``/``train_frequency`` for other replay ratios.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rlplastic import checks
from rlplastic.agents.device import to_numpy
from rlplastic.agents.learner import Batch, Hooks, adam, frozen_copy
from rlplastic.agents.networks import ArchSpec, SoftQNetwork, SquashedGaussianActor
from rlplastic.agents.off_policy import OffPolicyConfig, OffPolicyLearner
from rlplastic.envs.spec import EnvSpec

CRITICS = ("q1", "q2")


@dataclass(frozen=True)
class SACConfig(OffPolicyConfig):
    """SAC hyper-parameters; the defaults are CleanRL's ``sac_continuous_action.py`` values (the shared replay
    options are documented in ``OffPolicyConfig``)."""

    train_frequency: int = 1
    learning_starts: int = 5000
    batch_size: int = 256
    target_network_frequency: int = 1
    tau: float = 0.005
    encoder: str = "mlp_256"
    policy_lr: float = 3e-4
    """Adam's step size for the actor."""
    q_lr: float = 1e-3
    """Adam's step size for both critics and the temperature."""
    adam_eps: float = 1e-8
    """Adam's epsilon for every optimiser."""
    policy_frequency: int = 2
    """Delayed actor updates: every ``policy_frequency``-th update makes that many actor (and temperature) steps."""
    alpha: float = 0.2
    """Entropy temperature when ``autotune`` is off."""
    autotune: bool = True
    """Learn the temperature (from alpha = 1) toward the target entropy -|A|."""

    def __post_init__(self) -> None:
        super().__post_init__()
        checks.counts("agent", checks.fields(self, "policy_frequency"))
        checks.positive("agent", checks.fields(self, "policy_lr", "q_lr", "adam_eps"))
        checks.non_negative("agent", checks.fields(self, "alpha"))


class SAC(OffPolicyLearner):
    """A SAC learner implementing the Learner seam: networks ``actor``, ``q1``, ``q2``; targets of both critics."""

    Config = SACConfig
    ACTION_KINDS = ("continuous",)  # the action spaces it can act in (ActionSpec.kind)

    def __init__(self, cfg: SACConfig, spec: EnvSpec, seed: int, hooks: Hooks | None = None) -> None:
        self.cfg = cfg
        if spec.action_spec.discrete:
            raise ValueError("SAC needs continuous actions; use --agent dqn or ppo on a discrete-action suite")
        self._setup(spec, seed, hooks, ArchSpec(encoder=cfg.encoder, init=cfg.init))
        bounds = (spec.action_spec.low, spec.action_spec.high)
        low, high = (torch.tensor(b, dtype=torch.float32, device=self.device) for b in bounds)
        self.action_scale, self.action_bias = (high - low) / 2, (high + low) / 2
        self.action_low, self.action_high = to_numpy(low), to_numpy(high)
        self.target_entropy = -float(spec.action_spec.dim)
        self.networks: dict[str, nn.Module] = {name: self._build(name) for name in ("actor", *CRITICS)}
        self.target_networks: dict[str, nn.Module] = {name: frozen_copy(self.networks[name]) for name in CRITICS}
        wd = self.optimizer_options["weight_decay"]
        self.optimizers = {
            name: adam(net.parameters(), cfg.policy_lr if name == "actor" else cfg.q_lr, cfg.adam_eps, wd)
            for name, net in self.networks.items()
        }
        self.log_alpha = torch.zeros(1, requires_grad=True, device=self.device)
        self.alpha_optimizer = torch.optim.Adam([self.log_alpha], lr=cfg.q_lr, eps=cfg.adam_eps)
        self._init_replay(spec, seed)

    def _build(self, name: str) -> nn.Module:
        dim = self.spec.action_spec.dim
        if name == "actor":
            return SquashedGaussianActor(self.arch, self.obs_shape, dim)
        return SoftQNetwork(self.arch, self.obs_shape, dim)

    @property
    def alpha(self) -> torch.Tensor:
        return self.log_alpha.detach().exp() if self.cfg.autotune else torch.tensor(self.cfg.alpha, device=self.device)

    def reset_temperature(self) -> None:
        with torch.no_grad():
            self.log_alpha.zero_()
        self.alpha_optimizer.state.clear()

    # --- acting -----------------------------------------------------------------------------------
    def policy(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterised action in the env's box and its log-probability (tanh change of variables)."""
        mean, log_std = (t.float() for t in self.networks["actor"](obs))
        std = log_std.exp()
        x = mean + std * torch.randn_like(mean)
        y = torch.tanh(x)
        log_prob = -0.5 * ((x - mean) / std) ** 2 - log_std - 0.5 * math.log(2 * math.pi)
        log_prob = log_prob - torch.log(self.action_scale * (1 - y.pow(2)) + 1e-6)
        return y * self.action_scale + self.action_bias, log_prob.sum(1)

    def _policy_actions(self, obs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return to_numpy(self.policy(self.to_device(obs))[0])

    def _explore(self, obs: np.ndarray) -> np.ndarray:
        if self.global_step < self._learning_from:  # CleanRL: uniform random actions before learning starts
            return self._rng.uniform(self.action_low, self.action_high, (len(obs), len(self.action_low)))
        return self._policy_actions(obs)

    def _probe_actions(self, obs: np.ndarray) -> np.ndarray:
        return self._policy_actions(obs)

    # --- learning ---------------------------------------------------------------------------------
    def _critic_losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        with torch.no_grad(), self.autocast():
            next_actions, next_log_pi = self.policy(batch["next_obs"])
            next_q = torch.min(*(self.target_networks[c](batch["next_obs"], next_actions) for c in CRITICS))
            soft = next_q.float() - self.alpha * next_log_pi.float()
            target = batch["rewards"] + (1 - batch["terminated"]) * self.cfg.gamma * soft
        with self.autocast():
            return {c: F.mse_loss(self.networks[c](batch["obs"], batch["actions"]).float(), target) for c in CRITICS}

    def _actor_loss(self, obs: torch.Tensor) -> torch.Tensor:
        return self._actor_terms(obs)[0]

    def _actor_terms(self, obs: torch.Tensor) -> tuple[torch.Tensor, float]:
        """The actor's loss and the policy's entropy estimate −E log π on ``obs``."""
        with self.autocast():
            actions, log_pi = self.policy(obs)
            q = torch.min(*(self.networks[c](obs, actions) for c in CRITICS))
            return (self.alpha * log_pi.float() - q.float()).mean(), -float(log_pi.detach().float().mean())

    def losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        return self._critic_losses(batch) | {"actor": self._actor_loss(batch["obs"])}

    def _step(self, names: tuple[str, ...], loss: torch.Tensor, hooks: Hooks) -> None:
        """One optimiser step of networks ``names`` on ``loss`` (plus their extra losses); gradients reach only
        their parameters (the actor's loss is not differentiated into the critics' weights)."""
        for name in names:
            extra = hooks.extra_loss(self, name)
            if extra is not None:
                loss = loss + extra
        groups = [g for name in names for g in self.optimizers[name].param_groups]
        params = [p for g in groups for p in g["params"] if p.requires_grad]  # not the heads injection froze
        for name in names:
            self.optimizers[name].zero_grad(set_to_none=True)
        loss.backward(inputs=params)
        for name in names:
            self.optimizers[name].step()

    def _update_actor(self, obs: torch.Tensor, hooks: Hooks) -> tuple[float, float]:
        loss, entropy = self._actor_terms(obs)
        self._step(("actor",), loss, hooks)
        if self.cfg.autotune:
            with torch.no_grad(), self.autocast():
                _, log_pi = self.policy(obs)
            alpha_loss = (-self.log_alpha.exp() * (log_pi.float() + self.target_entropy)).mean()
            self.alpha_optimizer.zero_grad(set_to_none=True)
            alpha_loss.backward()
            self.alpha_optimizer.step()
        return float(loss.detach()), entropy

    def update(self, hooks: Hooks) -> dict[str, float]:
        cfg = self.cfg
        nan = float("nan")
        stats = {"critic_loss": nan, "actor_loss": nan, "entropy": nan, "alpha": float(self.alpha)}
        if not self.learning:
            return stats  # the same columns every iteration; NaN: no update yet
        for _ in range(cfg.gradient_steps):
            batch = self._batch(self.buffer.sample(cfg.batch_size))
            critic = self._critic_losses(batch)
            loss = critic["q1"] + critic["q2"]
            self._step(CRITICS, loss, hooks)
            stats["critic_loss"] = float(loss.detach()) / 2
            self.updates += 1
            if self.updates % cfg.policy_frequency == 0:  # delayed actor updates, compensated (CleanRL, TD3)
                for _ in range(cfg.policy_frequency):
                    stats["actor_loss"], stats["entropy"] = self._update_actor(batch["obs"], hooks)
            if self.updates % cfg.target_network_frequency == 0:
                self._polyak()
            hooks.after_update(self, self.updates)
        return stats | {"alpha": float(self.alpha)}

    @torch.no_grad()
    def _polyak(self) -> None:
        for c in CRITICS:
            for t, p in zip(self.target_networks[c].parameters(), self.networks[c].parameters(), strict=True):
                t.lerp_(p, self.cfg.tau)

    # --- checkpoints ------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return super().state_dict() | {
            "log_alpha": self.log_alpha.detach().clone(),
            "alpha_optimizer": self.alpha_optimizer.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        with torch.no_grad():
            self.log_alpha.copy_(state["log_alpha"])
        self.alpha_optimizer.load_state_dict(state["alpha_optimizer"])
