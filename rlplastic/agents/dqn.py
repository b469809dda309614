"""Deep Q-Networks (Mnih et al. 2015, Nature; arXiv 1312.5602), optionally Double DQN (arXiv 1509.06461).

Follows CleanRL's ``dqn_atari.py`` (vwxyzjn/cleanrl): the Nature-CNN with PyTorch's default initialisation,
Adam, a mean-squared TD error, a hard target update every ``target_network_frequency`` agent steps,
epsilon-greedy exploration decayed linearly from ``start_e`` to ``end_e`` over ``exploration_fraction`` of the
schedule, and ``learning_starts`` random-ish steps before the first update. The defaults are CleanRL's Atari
values. One iteration is ``train_frequency`` vector steps followed by ``gradient_steps`` updates, so the
replay ratio (updates per agent step) is ``gradient_steps / (train_frequency * num_envs)``: CleanRL's 1 env,
every 4th step, is 0.25.

Deliberate choices for continual learning, each an option:
- ``epsilon_schedule = "phase"`` (default) decays exploration anew within each phase, as a new task's first
  steps need exploration again; ``"run"`` decays once over the whole run.
- Episodes cut by a time limit or by a task switch bootstrap from their final observation; only a real
  termination (game over) ends the return. CleanRL's Atari script never sees a truncation.
- ``precision = "bf16"`` runs the update's forward passes under bf16 autocast (about 1.4x faster updates on
  this CPU; the loss, optimiser and acting stay fp32); the default ``"fp32"`` keeps CleanRL's numerics.
- ``checkpoint_buffer = true`` (default) stores the replay buffer in each phase checkpoint, so a resumed run
  equals an uninterrupted one; ``false`` keeps checkpoints small (1M Atari transitions take ~7 GB) and a
  resumed run restarts from an empty buffer, collects ``learning_starts`` transitions again before its next
  update, and says so in its ``DONE`` summary (``restarted_buffer``).

Named presets live in the suite files: the FIRE paper's DQN (arXiv 2602.08040: lr 6.25e-5, target update
2000, 4 envs, replay ratio 0.25, one intervention at the midpoint) and Young & Tian's MinAtar DQN
(arXiv 1903.03176: RMSprop, Huber loss, update every step, target update 1000, 5k replay start).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rlplastic.agents.learner import (
    PRECISIONS,
    Batch,
    EnvSpec,
    EpisodeCallback,
    Hooks,
    LearnerBase,
    StepResult,
    VectorEnv,
    adam,
    autocast,
    frozen_copy,
)
from rlplastic.agents.networks import ArchSpec, QNetwork
from rlplastic.agents.optim import CenteredRMSprop
from rlplastic.agents.replay import FrameReplay
from rlplastic.envs import Phase


@dataclass(frozen=True)
class DQNConfig:
    """DQN hyper-parameters; the defaults are CleanRL's ``dqn_atari.py`` values."""

    num_envs: int = 1
    buffer_size: int = 1_000_000
    learning_rate: float = 1e-4
    optimizer: str = "adam"
    eps: float = 1e-8
    rmsprop_alpha: float = 0.95
    gamma: float = 0.99
    tau: float = 1.0
    target_network_frequency: int = 1000
    batch_size: int = 32
    start_e: float = 1.0
    end_e: float = 0.01
    exploration_fraction: float = 0.1
    epsilon_schedule: str = "phase"
    learning_starts: int = 80_000
    train_frequency: int = 4
    gradient_steps: int = 1
    loss: str = "mse"
    double: bool = False
    clip_reward: bool = True
    encoder: str = "nature_cnn"
    obs_scale: float = 1.0 / 255.0
    init: str = "torch"
    checkpoint_buffer: bool = True
    log_interval: int = 1000
    precision: str = "fp32"

    @property
    def iteration_steps(self) -> int:
        return self.train_frequency * self.num_envs

    @property
    def replay_ratio(self) -> float:
        return self.gradient_steps / self.iteration_steps

    def __post_init__(self) -> None:
        choices = {
            "optimizer": ("adam", "rmsprop"),
            "loss": ("mse", "huber"),
            "epsilon_schedule": ("phase", "run"),
            "precision": PRECISIONS,
        }
        for name, valid in choices.items():
            if getattr(self, name) not in valid:
                raise ValueError(f"agent.{name} must be one of {', '.join(valid)}, not {getattr(self, name)!r}")
        counts = (self.num_envs, self.train_frequency, self.gradient_steps, self.batch_size)
        if min(*counts, self.target_network_frequency) < 1:
            raise ValueError(
                "agent.num_envs, train_frequency, gradient_steps, batch_size and target_network_frequency must be >= 1"
            )


class DQN(LearnerBase):
    """A DQN learner implementing the Learner seam; one network ``q`` with a target network."""

    Config = DQNConfig

    def __init__(self, cfg: DQNConfig, spec: EnvSpec, seed: int, hooks: Hooks | None = None) -> None:
        self.cfg = cfg
        self._setup(spec, seed, hooks, ArchSpec(encoder=cfg.encoder, obs_scale=cfg.obs_scale, init=cfg.init))
        self.networks: dict[str, nn.Module] = {"q": self._build("q")}
        self.target_networks: dict[str, nn.Module] = {"q": frozen_copy(self.networks["q"])}
        self.optimizers = {"q": self._make_optimizer()}
        self.iteration_steps = cfg.iteration_steps
        self.log_every = max(1, cfg.log_interval // self.iteration_steps) * self.iteration_steps
        buffer_rng = np.random.default_rng([seed, 1])
        self.buffer = FrameReplay(cfg.buffer_size, cfg.num_envs, spec.obs_shape, spec.frame_stack, buffer_rng)
        self._env: VectorEnv | None = None
        self._obs: np.ndarray | None = None
        self._phase: Phase | None = None
        self._phase_start, self._phase_steps = 0, 1
        self._learning_from = cfg.learning_starts  # moved on by a resume that restarts from an empty buffer

    # --- construction -----------------------------------------------------------------------------
    @property
    def net(self) -> QNetwork:
        return self.networks["q"]  # type: ignore[return-value]

    def _build(self, name: str) -> QNetwork:
        return QNetwork(self.arch, self.obs_shape[0], self.num_actions)

    def _make_optimizer(self) -> torch.optim.Optimizer:
        cfg, wd = self.cfg, self.optimizer_options["weight_decay"]
        params = self.net.parameters()
        if cfg.optimizer == "rmsprop":  # Young & Tian's MinAtar DQN: centred RMSprop
            return CenteredRMSprop(params, lr=cfg.learning_rate, alpha=cfg.rmsprop_alpha, eps=cfg.eps, weight_decay=wd)
        return adam(params, cfg.learning_rate, cfg.eps, wd)

    # --- acting -----------------------------------------------------------------------------------
    def epsilon(self) -> float:
        cfg = self.cfg
        start, length = (self._phase_start, self._phase_steps) if cfg.epsilon_schedule == "phase" else self._run
        duration = max(cfg.exploration_fraction * length, 1.0)
        slope = (cfg.end_e - cfg.start_e) / duration
        return max(cfg.end_e, cfg.start_e + slope * (self.global_step - start))

    def _act(self, obs: np.ndarray, epsilon: float) -> np.ndarray:
        with torch.no_grad():
            greedy = self.net(torch.from_numpy(obs)).argmax(1).numpy()
        explore = self._rng.random(len(obs)) < epsilon
        random = self._rng.integers(0, self.num_actions, len(obs))
        return np.where(explore, random, greedy)

    def _reward(self, result: StepResult) -> np.ndarray:
        return np.sign(result.reward).astype(np.float32) if self.cfg.clip_reward else result.reward

    def start_phase(self, env: VectorEnv, phase: Phase, iterations: int) -> None:
        if self._obs is not None:
            self.buffer.cut(self._obs)  # the previous task's running episodes end here, bootstrapped
        self._env, self._phase = env, phase
        self._obs = env.reset()
        self._phase_start, self._phase_steps = self.global_step, iterations * self.iteration_steps

    def collect(self, on_episode: EpisodeCallback) -> None:
        assert self._env is not None and self._obs is not None and self._phase is not None, "start_phase first"
        buffer = self.buffer
        for _ in range(self.cfg.train_frequency):
            actions = self._act(self._obs, self.epsilon())
            result = self._env.step(actions)
            buffer.add(self._obs, actions, self._reward(result), result.terminated, result.truncated, result.final_obs)
            self._obs = result.obs
            self.global_step += self._env.num_envs
            for episode in result.episodes:
                on_episode(self._phase, self.global_step, episode)

    def probe(self, env: VectorEnv, n: int) -> Batch:
        """The current greedy policy with the final exploration rate ``end_e`` (at a switch the new phase's
        epsilon has restarted at ``start_e``, which would make the probe a uniformly random policy)."""
        obs, rows = env.reset(), []
        for _ in range(-(-n // env.num_envs)):
            actions = self._act(obs, self.cfg.end_e)
            result = env.step(actions)
            next_obs = np.where(result.done.reshape(-1, *[1] * (obs.ndim - 1)), result.final_obs, result.obs)
            rows.append((obs, actions, self._reward(result), next_obs, result.terminated.astype(np.float32)))
            obs = result.obs
        keys = ("obs", "actions", "rewards", "next_obs", "terminated")
        return {k: torch.from_numpy(np.concatenate([r[i] for r in rows])[:n]) for i, k in enumerate(keys)}

    # --- learning ---------------------------------------------------------------------------------
    def sample(self, n: int) -> Batch:
        if len(self.buffer) == 0:
            raise RuntimeError("the replay buffer is empty: sample() needs at least one iteration")
        return self.buffer.sample(n)

    def _td(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Q(s, a) and its TD target r + gamma * (1 - terminated) * max_a' Q_target(s', a')."""
        with autocast(self.cfg.precision):
            q = self.net(batch["obs"]).gather(1, batch["actions"][:, None]).squeeze(1).float()
        with torch.no_grad(), autocast(self.cfg.precision):
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
        if self.global_step < self._learning_from or len(self.buffer) < cfg.batch_size:
            return stats  # the same columns every iteration; NaN: no update yet
        opt = self.optimizers["q"]
        for _ in range(cfg.gradient_steps):
            q, target = self._td(self.buffer.sample(cfg.batch_size))
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
    def state_dict(self) -> dict[str, Any]:
        keep = self.cfg.checkpoint_buffer
        return self.base_state() | {
            "obs": None if self._obs is None else torch.from_numpy(self._obs),
            "learning_from": self._learning_from,
            "buffer": self.buffer.state_dict() if keep else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.load_base_state(state)
        self._obs = None if state["obs"] is None else state["obs"].numpy()
        self._learning_from = state["learning_from"]
        if state["buffer"] is not None:
            self.buffer.load_state_dict(state["buffer"])
        else:  # an empty buffer again: collect learning_starts transitions before the next update
            self._learning_from = self.global_step + self.cfg.learning_starts
            self._obs = None  # nothing to cut: the buffer holds none of the previous phase

    @property
    def restarted_buffer(self) -> bool:
        """True after a resume from a checkpoint without the replay buffer."""
        return self._learning_from > self.cfg.learning_starts
