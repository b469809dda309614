"""stable-baselines3's own DQN (``stable_baselines3.DQN``: its epsilon-greedy collection, replay buffer, target
updates and ``train()`` unmodified) as agent ``sb3_dqn``, behind our Learner seam.

It reads our ``dqn``'s options (``SB3DQNConfig`` extends ``DQNConfig``) from the suite's ``[agents.dqn]`` table.
The Q-network is our encoder as SB3's features extractor with ``net_arch=[]`` (one linear head), as our DQN's.
Mapping: ``train_frequency`` -> ``train_freq`` (vector steps), ``gradient_steps``, ``learning_starts``,
``batch_size``, ``buffer_size``, ``gamma``, ``tau``, ``target_network_frequency`` -> ``target_update_interval``;
the optimiser is our DQN's (``dqn_optimizer``: Adam or centred RMSprop, SB3 steps it through the policy), and
SB3's exploration schedule is replaced by our DQN's ``epsilon`` (per phase or per run), so only SB3's own
algorithm differs from ours.

SB3 differs from our ``dqn`` by design (kept: this agent is SB3's DQN):
- the loss is always Huber (``agent.loss`` must be ``huber``) and gradients are clipped to ``max_grad_norm``
  (SB3's default 10; ours does not clip);
- epsilon-greedy draws once per vector step: all envs explore together, or none;
- extra loss terms of methods (L2-init, Parseval, C-CHAIN) join SB3's gradients after its clip (not clipped);
- SB3's ``train()`` sets the learning rate of every parameter group from its schedule at each call, so a method's
  own rate for its optimiser (Kron's ``learning_rate``) gives way to ``agent.learning_rate``;
- a switch leaves the replay buffer as SB3 keeps it: each stored transition has its own next observation, so a
  running episode's last transition of a task bootstraps from that task's next state.
Not supported: Double DQN (``double``), bf16 ``precision``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from stable_baselines3 import DQN as SB3DQN
from stable_baselines3.common.utils import get_parameters_by_name
from torch import nn

from rlplastic import checks
from rlplastic.agents.dqn import DQNConfig, dqn_optimizer, epsilon
from rlplastic.agents.learner import Batch, frozen_copy
from rlplastic.agents.networks import ArchSpec
from rlplastic.agents.sb3.networks import PolicyView
from rlplastic.agents.sb3.off_policy import ProbeActor, SB3OffPolicyLearner
from rlplastic.envs.spec import VectorEnv


@dataclass(frozen=True)
class SB3DQNConfig(DQNConfig):
    """Our DQN's options read by SB3's DQN, plus SB3's gradient clip."""

    max_grad_norm: float = 10.0
    """SB3's gradient-norm clip of the Q-network (its default)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        checks.positive("agent", checks.fields(self, "max_grad_norm"))
        if self.loss != "huber":
            raise ValueError("agent.loss: SB3's DQN has only the Huber loss; set agent.loss=huber")
        if self.double:
            raise ValueError("agent.double: SB3's DQN is not Double DQN; set agent.double=false")


class SB3DQNLearner(SB3OffPolicyLearner):
    """SB3's DQN; one iteration is ``train_frequency`` vector steps of its collection, then its ``train()``."""

    Config = SB3DQNConfig
    ACTION_KINDS: ClassVar[tuple[str, ...]] = ("discrete",)
    LAST_STEPPED: ClassVar[str] = "q"
    SUITE_TABLE: ClassVar[str] = "dqn"

    def _arch(self) -> ArchSpec:
        cfg = self.cfg
        return ArchSpec(encoder=cfg.encoder, obs_scale=cfg.obs_scale, init=cfg.init)

    def _make_model(self, seed: int) -> SB3DQN:
        cfg = self.cfg
        model = SB3DQN(
            self._policy(),
            self.placeholder,
            learning_rate=cfg.learning_rate,
            max_grad_norm=cfg.max_grad_norm,
            **self._replay_kwargs(),
            policy_kwargs=self._policy_kwargs(),
            seed=seed,
            device=self.device,
        )
        model.exploration_schedule = lambda progress_remaining: self.epsilon()
        self._phase = (0, 1)
        return model

    def epsilon(self) -> float:
        return epsilon(self.cfg, self.global_step, self._phase, self._run)

    def _views(self, policy: nn.Module) -> tuple[dict[str, nn.Module], dict[str, nn.Module]]:
        return {"q": _q_view(policy.q_net)}, {"q": _q_view(policy.q_net_target)}

    def _optimizer_owners(self) -> dict[str, tuple[nn.Module, tuple[str, ...]]]:
        return {"policy": (self.model.policy, ("q",))}

    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"q": dqn_optimizer(self.cfg, self.networks["q"].parameters(), self.optimizer_options["weight_decay"])}

    def sync_targets(self) -> None:
        self.target_networks = {"q": _q_view(sync_q_target(self.model))}

    # --- training -----------------------------------------------------------------------------------
    def start_phase(self, env: VectorEnv, iterations: int) -> None:
        super().start_phase(env, iterations)
        self._phase = (self.global_step, iterations * self.iteration_steps)
        self.model.exploration_rate = self.epsilon()  # SB3 sets it after a step: the first action reads this one

    def _train(self) -> dict[str, float]:
        m = self.model
        stats = {"epsilon": self.epsilon(), "loss": float("nan")}
        if self._train_due():
            m.train(gradient_steps=m.gradient_steps, batch_size=m.batch_size)
        return stats | {k: v for k, v in self._train_stats().items() if k == "loss"}

    # --- what interventions use ---------------------------------------------------------------------
    def _replay_actions(self, actions: np.ndarray) -> np.ndarray:
        return actions.reshape(len(actions)).astype(np.int64)

    def losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        """SB3's DQN loss (``DQN.train``'s formula: Huber TD error against the target's max) on ``batch``."""
        m = self.model
        with torch.no_grad():
            next_q = m.q_net_target(batch["next_obs"]).max(dim=1).values
            target = batch["rewards"] + (1 - batch["terminated"]) * m.gamma * next_q
        q = m.q_net(batch["obs"]).gather(1, batch["actions"].long()[:, None]).squeeze(1)
        return {"q": F.smooth_l1_loss(q, target)}

    def _probe_actor(self) -> ProbeActor:
        """The current greedy policy with the final exploration rate ``end_e`` (as our DQN probes), drawn with the
        learner's generator."""

        def act(obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            with torch.inference_mode():
                greedy = self.model.q_net(self.to_device(obs)).argmax(1).cpu().numpy()
            explore = self._rng.random(len(obs)) < self.cfg.end_e
            actions = np.where(explore, self._rng.integers(0, self.num_actions, len(obs)), greedy)
            return actions, actions

        return act

    # --- checkpoints --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {"phase_schedule": self._phase}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._phase = tuple(state["phase_schedule"])


def _q_view(q_net: nn.Module) -> PolicyView:
    """SB3's ``QNetwork`` (features extractor, then ``q_net = Sequential(Linear)``) as a network with head ``q``."""
    return PolicyView.of(q_net.features_extractor, {"q": (q_net.q_net[0], lambda m: q_net.q_net.__setitem__(0, m))})


def sync_q_target(model: SB3DQN) -> nn.Module:
    """SB3's target becomes a copy of its online Q-network (structure too: injection may have changed the head),
    with SB3's aliases rebuilt; returns the new target."""
    policy = model.policy
    policy.q_net_target = frozen_copy(policy.q_net)
    model._create_aliases()
    model.batch_norm_stats_target = get_parameters_by_name(policy.q_net_target, ["running_"])
    return policy.q_net_target
