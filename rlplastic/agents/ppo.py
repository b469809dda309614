"""Proximal Policy Optimisation for discrete actions (Schulman et al. 2017, arXiv 1707.06347).

Follows CleanRL's ``ppo_atari.py`` (vwxyzjn/cleanrl): GAE, per-minibatch advantage normalisation,
clipped value loss, global gradient-norm clipping, Adam with eps 1e-5.
One deliberate deviation for continual learning: ``anneal_lr = "phase"`` (the default) anneals the
learning rate linearly to zero within each phase, which gives every task CleanRL's single-game schedule.
Annealing over the whole sequence (``"run"``) would starve late tasks of step size for reasons that have
nothing to do with plasticity; ``"none"`` keeps it constant. The rate of an iteration is computed from the
progress before its rollout, so the first update uses the full rate and the last one a small positive rate.
Episodes cut by a time limit (truncated, not terminated) bootstrap from the value of their final observation
(as stable-baselines3 does); CleanRL treats them as terminal, which only matters for time-limited tasks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from rlplastic.agents.learner import (
    Batch,
    EnvSpec,
    EpisodeCallback,
    Hooks,
    LearnerBase,
    StepResult,
    VectorEnv,
    adam,
    all_parameters,
)
from rlplastic.agents.networks import ActorCritic, ArchSpec
from rlplastic.envs import Phase


@dataclass(frozen=True)
class PPOConfig:
    """PPO hyper-parameters; the defaults are CleanRL's Atari values."""

    num_envs: int = 8
    num_steps: int = 128
    num_minibatches: int = 4
    update_epochs: int = 4
    learning_rate: float = 2.5e-4
    anneal_lr: str = "phase"
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_coef: float = 0.1
    clip_vloss: bool = True
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    adam_eps: float = 1e-5
    norm_adv: bool = True
    clip_reward: bool = True
    encoder: str = "nature_cnn"
    obs_scale: float = 1.0 / 255.0

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def iteration_steps(self) -> int:
        return self.batch_size

    @property
    def minibatch_size(self) -> int:
        return self.batch_size // self.num_minibatches

    def __post_init__(self) -> None:
        if self.anneal_lr not in ("phase", "run", "none"):
            raise ValueError(f"agent.anneal_lr must be 'phase', 'run' or 'none', not {self.anneal_lr!r}")
        if self.batch_size % self.num_minibatches:
            raise ValueError("agent.num_envs * agent.num_steps must be divisible by agent.num_minibatches")


@dataclass
class Rollout:
    """Storage for one rollout of ``num_steps`` x ``num_envs`` transitions."""

    obs: torch.Tensor
    actions: torch.Tensor
    logprobs: torch.Tensor
    rewards: torch.Tensor
    dones: torch.Tensor
    values: torch.Tensor
    advantages: torch.Tensor | None = None
    returns: torch.Tensor | None = None

    @classmethod
    def empty(cls, cfg: PPOConfig, obs_shape: tuple[int, ...], steps: int | None = None) -> Rollout:
        shape = (steps or cfg.num_steps, cfg.num_envs)
        return cls(
            obs=torch.zeros((*shape, *obs_shape), dtype=torch.uint8),
            actions=torch.zeros(shape, dtype=torch.long),
            logprobs=torch.zeros(shape),
            rewards=torch.zeros(shape),
            dones=torch.zeros(shape),
            values=torch.zeros(shape),
        )

    def flat(self) -> Batch:
        """The rollout as one batch of ``num_steps * num_envs`` transitions."""
        assert self.advantages is not None and self.returns is not None
        return {
            "obs": self.obs.flatten(0, 1),
            "actions": self.actions.flatten(),
            "logprobs": self.logprobs.flatten(),
            "values": self.values.flatten(),
            "advantages": self.advantages.flatten(),
            "returns": self.returns.flatten(),
        }


def log_policy(logits: torch.Tensor) -> torch.Tensor:
    """Log-probabilities of a categorical policy (cheaper than building a ``Categorical`` each step)."""
    return torch.log_softmax(logits, dim=-1)


def entropy_of(logp: torch.Tensor) -> torch.Tensor:
    return -(logp.exp() * logp).sum(-1)


def gae(rollout: Rollout, next_value: torch.Tensor, next_done: torch.Tensor, gamma: float, lam: float) -> None:
    """Generalised advantage estimation (Schulman et al. 2016), filled into ``rollout`` in place."""
    advantages = torch.zeros_like(rollout.rewards)
    last = torch.zeros_like(next_value)
    steps = rollout.rewards.shape[0]
    for t in reversed(range(steps)):
        not_done = 1.0 - (next_done if t == steps - 1 else rollout.dones[t + 1])
        value_next = next_value if t == steps - 1 else rollout.values[t + 1]
        delta = rollout.rewards[t] + gamma * value_next * not_done - rollout.values[t]
        last = delta + gamma * lam * not_done * last
        advantages[t] = last
    rollout.advantages = advantages
    rollout.returns = advantages + rollout.values


class PPO(LearnerBase):
    """A PPO learner implementing the Learner seam; one iteration is one rollout and its update epochs."""

    Config = PPOConfig

    def __init__(self, cfg: PPOConfig, spec: EnvSpec, seed: int, hooks: Hooks | None = None) -> None:
        self.cfg = cfg
        self._setup(spec, seed, hooks, ArchSpec(encoder=cfg.encoder, obs_scale=cfg.obs_scale))
        self.networks: dict[str, nn.Module] = {"actor_critic": self._build("actor_critic")}
        self.target_networks: dict[str, nn.Module] = {}
        wd = self.optimizer_options["weight_decay"]
        self.optimizers = {"actor_critic": adam(self.net.parameters(), cfg.learning_rate, cfg.adam_eps, wd)}
        self.iteration_steps = cfg.batch_size
        self.log_every = cfg.batch_size
        self._rollout: Rollout | None = None
        self._env: VectorEnv | None = None
        self._obs: np.ndarray | None = None
        self._phase: Phase | None = None
        self._iteration, self._iterations = 0, 1
        self._lr = cfg.learning_rate

    # --- the Learner seam -------------------------------------------------------------------------
    @property
    def net(self) -> ActorCritic:
        return self.networks["actor_critic"]  # type: ignore[return-value]

    def _build(self, name: str) -> ActorCritic:
        return ActorCritic(self.arch, self.obs_shape[0], self.num_actions)

    def sample(self, n: int) -> Batch:
        if self._rollout is None or self._rollout.advantages is None:
            raise RuntimeError("the learner has no rollout yet: sample() needs at least one iteration")
        return self._draw(self._rollout.flat(), n)

    def _draw(self, batch: Batch, n: int) -> Batch:
        size = len(batch["actions"])
        idx = torch.as_tensor(self._rng.choice(size, size=n, replace=n > size))
        return {k: v[idx] for k, v in batch.items()}

    def losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        return {"actor_critic": self._loss_terms(batch)["loss"]}

    def probe(self, env: VectorEnv, n: int) -> Batch:
        rollout = Rollout.empty(self.cfg, self.obs_shape, -(-n // env.num_envs))
        self._roll(env, env.reset(), rollout, lambda result: None)
        return self._draw(rollout.flat(), n)

    # --- training ---------------------------------------------------------------------------------
    def _loss_terms(self, batch: Batch) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        logits, value = self.net(batch["obs"])
        logp = log_policy(logits)
        logprob = logp.gather(1, batch["actions"][:, None]).squeeze(1)
        entropy = entropy_of(logp).mean()
        logratio = logprob - batch["logprobs"]
        ratio = logratio.exp()
        adv = batch["advantages"]
        if cfg.norm_adv:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        pg_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef)).mean()
        v_loss = (value - batch["returns"]) ** 2
        if cfg.clip_vloss:
            v_clipped = batch["values"] + (value - batch["values"]).clamp(-cfg.clip_coef, cfg.clip_coef)
            v_loss = torch.max(v_loss, (v_clipped - batch["returns"]) ** 2)
        v_loss = 0.5 * v_loss.mean()
        with torch.no_grad():
            approx_kl = ((ratio - 1) - logratio).mean()
        return {
            "loss": pg_loss - cfg.ent_coef * entropy + cfg.vf_coef * v_loss,
            "policy_loss": pg_loss.detach(),
            "value_loss": v_loss.detach(),
            "entropy": entropy.detach(),
            "approx_kl": approx_kl,
        }

    def _learning_rate(self) -> float:
        """The rate of the coming iteration, from the progress made before it (so the last one is not 0)."""
        cfg = self.cfg
        if cfg.anneal_lr == "phase":
            return cfg.learning_rate * (1.0 - self._iteration / self._iterations)
        if cfg.anneal_lr == "run":
            start, total = self._run
            return cfg.learning_rate * max(0.0, 1.0 - (self.global_step - start) / total)
        return cfg.learning_rate

    def start_phase(self, env: VectorEnv, phase: Phase, iterations: int) -> None:
        self._env, self._phase = env, phase
        self._obs = env.reset()
        self._iteration, self._iterations = 0, max(iterations, 1)

    def _roll(self, env: VectorEnv, obs: np.ndarray, ro: Rollout, on_step: Callable[[StepResult], None]) -> np.ndarray:
        """Fill ``ro`` by acting from ``obs``; truncated episodes bootstrap from their final observation's value."""
        cfg = self.cfg
        done = torch.zeros(env.num_envs)
        for t in range(ro.rewards.shape[0]):
            obs_t = torch.from_numpy(obs)
            ro.obs[t] = obs_t
            ro.dones[t] = done
            with torch.no_grad():
                logits, value = self.net(obs_t)
                logp = log_policy(logits)
                action = torch.multinomial(logp.exp(), 1).squeeze(1)
            ro.actions[t], ro.logprobs[t], ro.values[t] = action, logp.gather(1, action[:, None]).squeeze(1), value
            result = env.step(action.numpy())
            on_step(result)
            reward = np.sign(result.reward) if cfg.clip_reward else result.reward
            ro.rewards[t] = torch.from_numpy(reward)
            cut = result.truncated & ~result.terminated  # a real termination never bootstraps
            if cut.any():
                idx = np.flatnonzero(cut)
                with torch.no_grad():
                    _, final_value = self.net(torch.from_numpy(result.final_obs[idx]))
                ro.rewards[t, idx] += cfg.gamma * final_value
            obs = result.obs
            done = torch.from_numpy(result.done.astype(np.float32))
        with torch.no_grad():
            _, next_value = self.net(torch.from_numpy(obs))
        gae(ro, next_value, done, cfg.gamma, cfg.gae_lambda)
        return obs

    def collect(self, on_episode: EpisodeCallback) -> None:
        assert self._env is not None and self._obs is not None and self._phase is not None, "start_phase first"
        self._lr = self._learning_rate()
        phase, num_envs = self._phase, self._env.num_envs

        def count(result: StepResult) -> None:
            self.global_step += num_envs
            for episode in result.episodes:
                on_episode(phase, self.global_step, episode)

        self._rollout = Rollout.empty(self.cfg, self.obs_shape)
        self._obs = self._roll(self._env, self._obs, self._rollout, count)

    def update(self, hooks: Hooks) -> dict[str, float]:
        cfg = self.cfg
        self.set_learning_rate("actor_critic", self._lr)
        opt = self.optimizers["actor_critic"]
        assert self._rollout is not None
        batch = self._rollout.flat()
        sums: dict[str, float] = {}
        count = 0
        for _ in range(cfg.update_epochs):
            order = torch.as_tensor(self._rng.permutation(cfg.batch_size))
            for start in range(0, cfg.batch_size, cfg.minibatch_size):
                idx = order[start : start + cfg.minibatch_size]
                terms = self._loss_terms({k: v[idx] for k, v in batch.items()})
                loss = terms["loss"]
                extra = hooks.extra_loss(self, "actor_critic")
                if extra is not None:
                    loss = loss + extra
                opt.zero_grad(set_to_none=True)
                loss.backward()
                terms["grad_norm"] = nn.utils.clip_grad_norm_(all_parameters(opt), cfg.max_grad_norm)
                opt.step()
                self.updates += 1
                hooks.after_update(self, self.updates)
                for k, v in terms.items():
                    sums[k] = sums.get(k, 0.0) + float(v.detach())
                count += 1
        self._iteration += 1
        return {k: v / count for k, v in sums.items()} | {"learning_rate": self._lr}

    # --- checkpoints ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return self.base_state() | {
            "rollout": None if self._rollout is None else vars(self._rollout),  # sample() after a resume
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.load_base_state(state)
        self._rollout = None if state["rollout"] is None else Rollout(**state["rollout"])
