"""stable-baselines3's own SAC (``stable_baselines3.SAC``: its collection, replay buffer, temperature, target
updates and ``train()`` unmodified) as agent ``sb3_sac``, behind our Learner seam, for continuous actions.

It reads our ``sac``'s options (``SB3SACConfig`` extends ``SACConfig``) from the suite's ``[agents.sac]`` table,
so ``--agent sb3_sac`` trains with our SAC's hyper-parameters, networks and env. Networks: the actor is our
encoder as SB3's features extractor with ``net_arch=[]`` (SB3's mean and log-std heads read its features); the
twin critics and their targets are our ``SoftQNetwork`` (CleanRL's: the observation and the action side by side
into the encoder), built by SB3's policy (``EncoderSACPolicy``), since SB3's own critic would put the action after
the encoder. Mapping: ``train_frequency`` -> ``train_freq``, ``gradient_steps``, ``learning_starts``,
``batch_size``, ``buffer_size``, ``gamma``, ``tau``, ``autotune``/``alpha`` -> ``ent_coef`` (``auto``: learned
from 1, target entropy -|A|, as ours), ``adam_eps`` -> the networks' Adam eps. SB3's SAC has one learning rate;
here the networks keep ours (``policy_lr`` for the actor, ``q_lr`` for the critics; ``OWN_RATES``) and SB3's rate,
which its temperature optimiser follows, is ``q_lr``, as our temperature's.

SB3 differs from CleanRL, and so from our ``sac``, by design (kept: this agent is SB3's SAC):
- the actor is updated at every gradient step, so ``policy_frequency`` must be 1 (CleanRL's delayed updates with
  as many actor steps make the same number of actor steps on average); the suite's value is not read;
- within a gradient step SB3 updates the temperature first (on the loss ``-log alpha (log pi + target)``, CleanRL:
  ``-alpha (...)``), then the critics, then the actor; the critic loss is ``1/2 (mse1 + mse2)``;
- the log-std is clipped to [-20, 2] (CleanRL squashes it into [-5, 2] with a tanh);
- uniform random actions before ``learning_starts`` come from SB3's action space; the replay buffer stores actions
  scaled to [-1, 1], which is what the critics read (the same as the env's on dm_control's boxes);
- SB3's temperature Adam has eps 1e-8 whatever ``adam_eps`` (the networks' Adam takes it);
- extra loss terms of methods (L2-init, Parseval, C-CHAIN) join SB3's gradients in its steps, and a method's
  ``after_update`` runs after the actor's step, before SB3's Polyak step of that update (ours: after it);
- no ``entropy`` column in the metrics (SB3 does not log it).
Not supported: ``target_network_frequency`` other than 1 (SB3 counts it within each ``train()`` call, so with one
gradient step per call any value updates every step), ``init`` other than ``torch`` (SB3's heads keep PyTorch's
initialisation), bf16 ``precision``, discrete actions (use ``sb3_dqn`` or ``sb3_ppo``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from stable_baselines3 import SAC as SB3SAC
from stable_baselines3.common.policies import ContinuousCritic
from stable_baselines3.common.preprocessing import get_action_dim
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, FlattenExtractor
from stable_baselines3.common.utils import get_parameters_by_name
from stable_baselines3.sac.policies import SACPolicy
from torch import nn

from rlplastic.agents.learner import Batch, adam, frozen_copy
from rlplastic.agents.networks import ArchSpec, SoftQNetwork
from rlplastic.agents.sac import CRITICS, SACConfig
from rlplastic.agents.sb3.networks import PolicyView
from rlplastic.agents.sb3.off_policy import ProbeActor, SB3OffPolicyLearner


@dataclass(frozen=True)
class SB3SACConfig(SACConfig):
    """Our SAC's options read by SB3's SAC (see the module docstring for the mapping and what differs)."""

    policy_frequency: int = 1
    """SB3 updates the actor at every gradient step: only 1 is possible (the suite's value is not read)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        refusals = {
            "policy_frequency": (self.policy_frequency != 1, "SB3's SAC updates the actor at every gradient step"),
            "target_network_frequency": (
                self.target_network_frequency != 1,
                "SB3's SAC counts it within each train() call, so only 1 means what it says",
            ),
            "init": (self.init != "torch", "SB3's SAC heads keep PyTorch's default initialisation"),
        }
        for name, (refused, why) in refusals.items():
            if refused:
                wanted = "torch" if name == "init" else 1
                raise ValueError(f"agent.{name}: {why}; set agent.{name}={wanted} or use --agent sac")


class EncoderCritic(ContinuousCritic):
    """SB3's twin critics as our ``SoftQNetwork``s (modules ``qf0``, ``qf1``, as SB3 names them): each reads the
    observation and the action side by side, returning SB3's ``(batch, 1)`` values."""

    def __init__(self, *args: Any, arch: ArchSpec, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # built with net_arch=[]: its linear placeholders are replaced here
        obs_shape, action_dim = tuple(self.observation_space.shape), get_action_dim(self.action_space)
        self.q_networks = []
        for idx in range(self.n_critics):
            q = SoftQNetwork(arch, obs_shape, action_dim)
            self.add_module(f"qf{idx}", q)
            self.q_networks.append(q)

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(q(obs, actions)[:, None] for q in self.q_networks)

    def q1_forward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return self.q_networks[0](obs, actions)[:, None]


class EncoderSACPolicy(SACPolicy):
    """SB3's SAC policy with ``EncoderCritic``s (our encoder for ``features_extractor_kwargs["arch"]``); the actor
    is SB3's on our ``EncoderExtractor``."""

    def make_critic(self, features_extractor: BaseFeaturesExtractor | None = None) -> ContinuousCritic:
        flat = FlattenExtractor(self.observation_space)  # the critic reads the raw observation
        kwargs = self.critic_kwargs | {"features_extractor": flat, "features_dim": flat.features_dim}
        return EncoderCritic(arch=self.features_extractor_kwargs["arch"], **kwargs).to(self.device)


class SB3SACLearner(SB3OffPolicyLearner):
    """SB3's SAC; one iteration is ``train_frequency`` vector steps of its collection, then its ``train()``."""

    Config = SB3SACConfig
    ACTION_KINDS: ClassVar[tuple[str, ...]] = ("continuous",)
    LAST_STEPPED: ClassVar[str] = "actor"  # SB3's order within a gradient step: temperature, critics, actor
    OWN_RATES: ClassVar[bool] = True
    SUITE_TABLE: ClassVar[str] = "sac"
    SUITE_SKIPS: ClassVar[tuple[str, ...]] = ("policy_frequency",)

    def _arch(self) -> ArchSpec:
        cfg = self.cfg
        return ArchSpec(encoder=cfg.encoder, init=cfg.init)

    def _make_model(self, seed: int) -> SB3SAC:
        cfg = self.cfg
        return SB3SAC(
            EncoderSACPolicy,
            self.placeholder,
            learning_rate=cfg.q_lr,  # the temperature's; the networks keep their own (OWN_RATES)
            ent_coef="auto" if cfg.autotune else cfg.alpha,
            **self._replay_kwargs(),
            policy_kwargs=self._policy_kwargs(
                features_extractor_kwargs={"arch": self.arch, "role": "actor"},
                optimizer_kwargs={"eps": cfg.adam_eps},
            ),
            seed=seed,
            device=self.device,
        )

    def _views(self, policy: nn.Module) -> tuple[dict[str, nn.Module], dict[str, nn.Module]]:
        actor = policy.actor
        heads = {
            "mean": (actor.mu, lambda m: setattr(actor, "mu", m)),
            "log_std": (actor.log_std, lambda m: setattr(actor, "log_std", m)),
        }
        critics = dict(zip(CRITICS, policy.critic.q_networks, strict=True))
        targets = dict(zip(CRITICS, policy.critic_target.q_networks, strict=True))
        return {"actor": PolicyView.of(actor.features_extractor, heads)} | critics, targets

    def _optimizer_owners(self) -> dict[str, tuple[nn.Module, tuple[str, ...]]]:
        policy = self.model.policy
        return {"actor": (policy.actor, ("actor",)), "critic": (policy.critic, CRITICS)}

    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        cfg, wd = self.cfg, self.optimizer_options["weight_decay"]
        rates = {"actor": cfg.policy_lr} | dict.fromkeys(CRITICS, cfg.q_lr)
        return {name: adam(net.parameters(), rates[name], cfg.adam_eps, wd) for name, net in self.networks.items()}

    def sync_targets(self) -> None:
        target = sync_critic_targets(self.model)
        self.target_networks = dict(zip(CRITICS, target.q_networks, strict=True))

    # --- the temperature (SB3's log_ent_coef and its Adam) ------------------------------------------
    @property
    def log_alpha(self) -> torch.Tensor:
        return self.model.log_ent_coef if self.cfg.autotune else torch.tensor(np.log(self.cfg.alpha))

    @property
    def alpha_optimizer(self) -> torch.optim.Optimizer | None:
        return self.model.ent_coef_optimizer

    def reset_temperature(self) -> None:
        reset_temperature(self.model)

    # --- training -----------------------------------------------------------------------------------
    def _train(self) -> dict[str, float]:
        m, nan = self.model, float("nan")
        if self._train_due():
            m.train(gradient_steps=m.gradient_steps, batch_size=m.batch_size)
        stats = self._train_stats()
        return {
            "critic_loss": stats.get("critic_loss", nan),
            "actor_loss": stats.get("actor_loss", nan),
            "alpha": float(self.log_alpha.detach().exp()),
        }

    # --- what interventions use ---------------------------------------------------------------------
    def _replay_actions(self, actions: np.ndarray) -> np.ndarray:
        return actions.astype(np.float32)

    def losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        """SB3's SAC losses (``SAC.train``'s formulas) on ``batch``: each critic's half of ``1/2 (mse1 + mse2)``
        against the soft target, and the actor's ``alpha log pi - min Q``."""
        m = self.model
        alpha = self.log_alpha.detach().exp()
        with torch.no_grad():
            next_actions, next_log_prob = m.actor.action_log_prob(batch["next_obs"])
            next_q = torch.cat(m.critic_target(batch["next_obs"], next_actions), dim=1).min(dim=1).values
            soft = next_q - alpha * next_log_prob
            target = (batch["rewards"] + (1 - batch["terminated"]) * m.gamma * soft)[:, None]
        current = m.critic(batch["obs"], batch["actions"])
        critic = {name: 0.5 * F.mse_loss(q, target) for name, q in zip(CRITICS, current, strict=True)}
        actions, log_prob = m.actor.action_log_prob(batch["obs"])
        min_q = torch.cat(m.critic(batch["obs"], actions), dim=1).min(dim=1).values
        return critic | {"actor": (alpha * log_prob - min_q).mean()}

    def _probe_actor(self) -> ProbeActor:
        """SB3's stochastic policy (``actor(obs)``): the env gets the action in its box, the batch the scaled one
        the critics read."""

        def act(obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            with torch.inference_mode():
                scaled = self.model.actor(self.to_device(obs)).cpu().numpy()
            return self.model.policy.unscale_action(scaled), scaled

        return act

    # --- checkpoints --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        temperature = None
        if self.cfg.autotune:
            temperature = {"log_alpha": self.log_alpha.detach().clone(), "optimizer": self.alpha_optimizer.state_dict()}
        return super().state_dict() | {"temperature": temperature}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if state["temperature"] is not None:
            with torch.no_grad():
                self.model.log_ent_coef.copy_(state["temperature"]["log_alpha"])
            self.model.ent_coef_optimizer.load_state_dict(state["temperature"]["optimizer"])


def sync_critic_targets(model: SB3SAC) -> ContinuousCritic:
    """SB3's target critics become copies of its online ones (structure too: injection may have changed a head),
    registered under SB3's names, with SB3's aliases rebuilt; returns the new target critic."""
    target = model.policy.critic_target
    target.q_networks = [frozen_copy(q) for q in model.policy.critic.q_networks]
    for idx, q in enumerate(target.q_networks):
        target.add_module(f"qf{idx}", q)
    model._create_aliases()
    model.batch_norm_stats_target = get_parameters_by_name(target, ["running_"])
    return target


def reset_temperature(model: SB3SAC) -> None:
    """SB3's learned temperature back to its start (``ent_coef="auto"``: alpha = 1; ``"auto_0.1"``: 0.1) with fresh
    Adam state; nothing for a fixed one."""
    if getattr(model, "log_ent_coef", None) is not None:
        start = float(model.ent_coef.split("_")[1]) if "_" in model.ent_coef else 1.0  # SB3's own parsing
        with torch.no_grad():
            model.log_ent_coef.fill_(math.log(start))
        model.ent_coef_optimizer.state.clear()
