"""Deep Q-Networks (Mnih et al. 2015, Nature; arXiv 1312.5602), optionally Double DQN (arXiv 1509.06461).

Follows CleanRL's ``dqn_atari.py`` (vwxyzjn/cleanrl): the Nature-CNN with PyTorch's default initialisation,
Adam, a mean-squared TD error, a hard target update every ``target_network_frequency`` agent steps,
epsilon-greedy exploration decayed linearly from ``start_e`` to ``end_e`` over ``exploration_fraction`` of the
schedule, and ``learning_starts`` random-ish steps before the first update. The defaults are CleanRL's Atari
values. Iterations, replay ratio, truncation and checkpoints of the buffer are those of every replay-based
agent (``rlplastic.agents.off_policy``): CleanRL's 1 env, an update every 4th step, is a replay ratio of 0.25.

Deliberate choices for continual learning, each an option:
- ``epsilon_schedule = "phase"`` (default) decays exploration anew within each phase, as a new task's first
  steps need exploration again; ``"run"`` decays once over the whole run.
- Episodes cut by a time limit or by a task switch bootstrap from their final observation; only a real
  termination (game over) ends the return. CleanRL's Atari script never sees a truncation.
- ``precision = "bf16"`` runs the update's forward passes under bf16 autocast (faster only on CPUs with
  native bf16, see ``agents/precision.py``; the loss, optimiser and acting stay fp32); the default ``"fp32"``
  keeps CleanRL's numerics.

Named presets live in the suite files: the FIRE paper's DQN (arXiv 2602.08040: lr 6.25e-5, target update
2000, 4 envs, replay ratio 0.25, one intervention at the midpoint) and Young & Tian's MinAtar DQN
(arXiv 1903.03176: RMSprop, Huber loss, update every step, target update 1000, 5k replay start).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rlplastic import checks
from rlplastic.agents.device import to_numpy
from rlplastic.agents.learner import (
    Batch,
    Hooks,
    adam,
    frozen_copy,
)
from rlplastic.agents.networks import ArchSpec, QNetwork
from rlplastic.agents.off_policy import OffPolicyConfig, OffPolicyLearner
from rlplastic.agents.optim import CenteredRMSprop
from rlplastic.envs.spec import EnvSpec, StepResult, VectorEnv


@dataclass(frozen=True)
class DQNConfig(OffPolicyConfig):
    """DQN hyper-parameters; the defaults are CleanRL's ``dqn_atari.py`` values (the shared replay options are
    documented in ``OffPolicyConfig``). ``eps`` is named so, not ``adam_eps``, because it is also RMSprop's
    epsilon; renaming it would change every DQN run's stored configuration."""

    train_frequency: int = 4
    learning_starts: int = 80_000
    batch_size: int = 32
    target_network_frequency: int = 1000
    tau: float = 1.0
    encoder: str = "nature_cnn"
    learning_rate: float = 1e-4
    """The optimiser's step size."""
    optimizer: str = "adam"
    """adam (CleanRL) or rmsprop (centred RMSprop, Young & Tian's MinAtar DQN)."""
    eps: float = 1e-8
    """The optimiser's epsilon (Adam's, or RMSprop's minimum squared gradient)."""
    rmsprop_alpha: float = 0.95
    """RMSprop's decay of the squared-gradient average (used only with ``optimizer = "rmsprop"``)."""
    start_e: float = 1.0
    """Exploration rate (epsilon-greedy) at the start of the decay."""
    end_e: float = 0.01
    """Exploration rate after the decay."""
    exploration_fraction: float = 0.1
    """Fraction of the phase (or run, see ``epsilon_schedule``) over which epsilon decays linearly."""
    exploration_steps: int = 0
    """Agent steps over which epsilon decays, whatever the budget (0: use ``exploration_fraction``). A protocol
    that fixes the decay in steps (C-CHAIN's MinAtar DQN: 1 -> 0.1 over 100k steps) keeps it at every budget."""
    epsilon_schedule: str = "phase"
    """phase: epsilon decays anew within each phase (a new task needs exploration); run: once over the run."""
    loss: str = "mse"
    """TD loss: mse (CleanRL) or huber (smooth L1, Young & Tian)."""
    double: bool = False
    """Double DQN: the online network picks the next action, the target network values it."""
    clip_reward: bool = True
    """Learn from the sign of the reward (Atari's reward clipping); episode returns are recorded unclipped."""
    obs_scale: float = 1.0 / 255.0
    """Factor on raw observations before the network (1/255 for Atari pixels, 1 for MinAtar)."""

    def __post_init__(self) -> None:
        choices = {"optimizer": ("adam", "rmsprop"), "loss": ("mse", "huber"), "epsilon_schedule": ("phase", "run")}
        for name, valid in choices.items():
            checks.one_of("agent", name, getattr(self, name), valid)
        super().__post_init__()
        checks.positive("agent", checks.fields(self, "learning_rate", "eps", "obs_scale"))
        checks.probabilities("agent", checks.fields(self, "start_e", "end_e", "rmsprop_alpha"))
        checks.probabilities("agent", checks.fields(self, "exploration_fraction"), low_open=True)
        checks.counts("agent", checks.fields(self, "exploration_steps"), minimum=0)


def dqn_optimizer(cfg: DQNConfig, params: Iterable[nn.Parameter], weight_decay: float) -> torch.optim.Optimizer:
    """Adam (AdamW with weight decay), or centred RMSprop as Young & Tian's MinAtar DQN uses."""
    if cfg.optimizer == "rmsprop":
        return CenteredRMSprop(
            params, lr=cfg.learning_rate, alpha=cfg.rmsprop_alpha, eps=cfg.eps, weight_decay=weight_decay
        )
    return adam(params, cfg.learning_rate, cfg.eps, weight_decay)


def epsilon(cfg: DQNConfig, step: int, phase: tuple[int, int], run: tuple[int, int]) -> float:
    """The exploration rate at agent ``step``: linear from ``start_e`` to ``end_e`` over the phase or the run
    (``epsilon_schedule``; ``phase`` and ``run`` are (first step, length)), then ``end_e``."""
    start, length = phase if cfg.epsilon_schedule == "phase" else run
    duration = float(cfg.exploration_steps) or max(cfg.exploration_fraction * length, 1.0)
    slope = (cfg.end_e - cfg.start_e) / duration
    return max(cfg.end_e, cfg.start_e + slope * (step - start))


class DQN(OffPolicyLearner):
    """A DQN learner implementing the Learner seam; one network ``q`` with a target network."""

    Config = DQNConfig
    ACTION_KINDS = ("discrete",)  # the action spaces it can act in (ActionSpec.kind)

    def __init__(self, cfg: DQNConfig, spec: EnvSpec, seed: int, hooks: Hooks | None = None) -> None:
        self.cfg = cfg
        if not spec.action_spec.discrete:
            raise ValueError("DQN needs discrete actions; use --agent sac (or ppo) on a continuous-control suite")
        self._setup(spec, seed, hooks, ArchSpec(encoder=cfg.encoder, obs_scale=cfg.obs_scale, init=cfg.init))
        self.networks: dict[str, nn.Module] = {"q": self._build("q")}
        self.target_networks: dict[str, nn.Module] = {"q": frozen_copy(self.networks["q"])}
        self.optimizers = {"q": self._make_optimizer()}
        self._init_replay(spec, seed)
        self._phase_start, self._phase_steps = 0, 1

    # --- construction -----------------------------------------------------------------------------
    @property
    def net(self) -> QNetwork:
        return self.networks["q"]  # type: ignore[return-value]

    def _build(self, name: str) -> QNetwork:
        return QNetwork(self.arch, self.obs_shape, self.num_actions)

    def _make_optimizer(self) -> torch.optim.Optimizer:
        return dqn_optimizer(self.cfg, self.net.parameters(), self.optimizer_options["weight_decay"])

    # --- acting -----------------------------------------------------------------------------------
    def epsilon(self) -> float:
        return epsilon(self.cfg, self.global_step, (self._phase_start, self._phase_steps), self._run)

    def _act(self, obs: np.ndarray, epsilon: float) -> np.ndarray:
        with torch.inference_mode():
            greedy = to_numpy(self.net(self.to_device(obs)).argmax(1))
        explore = self._rng.random(len(obs)) < epsilon
        random = self._rng.integers(0, self.num_actions, len(obs))
        return np.where(explore, random, greedy)

    def _explore(self, obs: np.ndarray) -> np.ndarray:
        return self._act(obs, self.epsilon())

    def _probe_actions(self, obs: np.ndarray) -> np.ndarray:
        """The current greedy policy with the final exploration rate ``end_e`` (at a switch the new phase's
        epsilon has restarted at ``start_e``, which would make the probe a uniformly random policy)."""
        return self._act(obs, self.cfg.end_e)

    def _reward(self, result: StepResult) -> np.ndarray:
        return np.sign(result.reward).astype(np.float32) if self.cfg.clip_reward else result.reward

    def start_phase(self, env: VectorEnv, iterations: int) -> None:
        super().start_phase(env, iterations)
        self._phase_start, self._phase_steps = self.global_step, iterations * self.iteration_steps

    # --- learning ---------------------------------------------------------------------------------
    def _td(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Q(s, a) and its TD target r + gamma * (1 - terminated) * max_a' Q_target(s', a')."""
        with self.autocast():
            q = self.net(batch["obs"]).gather(1, batch["actions"][:, None]).squeeze(1).float()
        with torch.no_grad(), self.autocast():
            next_q = self.target_networks["q"](batch["next_obs"])
            if self.cfg.double:
                best = self.net(batch["next_obs"]).argmax(1, keepdim=True)
                next_value = next_q.gather(1, best).squeeze(1)
            else:
                next_value = next_q.max(1).values
            target = batch["rewards"] + self.cfg.gamma * (1.0 - batch["terminated"]) * next_value.float()
        return q, target

    def _loss(self, q: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(q, target) if self.cfg.loss == "mse" else F.smooth_l1_loss(q, target)

    def losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        return {"q": self._loss(*self._td(batch))}

    def update(self, hooks: Hooks) -> dict[str, float]:
        cfg = self.cfg
        stats: dict[str, float] = {"epsilon": self.epsilon(), "td_loss": float("nan"), "q_mean": float("nan")}
        if not self.learning:
            return stats  # the same columns every iteration; NaN: no update yet
        opt = self.optimizers["q"]
        for _ in range(cfg.gradient_steps):
            q, target = self._td(self._batch(self.buffer.sample(cfg.batch_size)))
            loss = self._loss(q, target)
            extra = hooks.extra_loss(self, "q")
            total = loss if extra is None else loss + extra
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
            self.updates += 1
            hooks.after_update(self, self.updates)
        before = self.global_step - self.iteration_steps
        if self.global_step // cfg.target_network_frequency > before // cfg.target_network_frequency:
            self._update_target()
        return stats | {"td_loss": float(loss.detach()), "q_mean": float(q.detach().mean())}

    @torch.no_grad()
    def _update_target(self) -> None:
        for t, p in zip(self.target_networks["q"].parameters(), self.net.parameters(), strict=True):
            if self.cfg.tau == 1.0:
                t.copy_(p)
            else:
                t.lerp_(p, self.cfg.tau)

    # --- checkpoints ------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return super().state_dict() | {"phase_schedule": (self._phase_start, self._phase_steps)}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self._phase_start, self._phase_steps = state["phase_schedule"]
