"""Proximal Policy Optimisation (Schulman et al. 2017, arXiv 1707.06347) for discrete and continuous actions.

Follows CleanRL (vwxyzjn/cleanrl): ``ppo_atari.py`` for discrete actions (the defaults here) and
``ppo_continuous_action.py`` for continuous ones (a Gaussian policy and a separate critic, see
``rlplastic.agents.policies``; its values are in the dm_control suites): GAE, per-minibatch advantage
normalisation, clipped value loss, global gradient-norm clipping over every network, Adam with eps 1e-5.
Continuous actions are sampled unclipped, stored as sampled and clipped to the box only for the environment
(gymnasium's ``ClipAction``); ``obs_norm`` and ``reward_norm`` do what CleanRL's ``NormalizeObservation`` and
``NormalizeReward`` wrappers (plus their clip to +-10) do, with the statistics kept in the agent's checkpoint.
One deliberate deviation for continual learning: ``anneal_lr = "phase"`` (the default) anneals the
learning rate linearly to zero within each phase, which gives every task CleanRL's single-game schedule.
Annealing over the whole sequence (``"run"``) would starve late tasks of step size for reasons that have
nothing to do with plasticity; ``"none"`` keeps it constant. The rate of an iteration is computed from the
progress before its rollout, so the first update uses the full rate and the last one a small positive rate.
Episodes cut by a time limit (truncated, not terminated) bootstrap from the value of their final observation
(as stable-baselines3 does); CleanRL treats them as terminal, which only matters for time-limited tasks.
Speed options that change no algorithm: ``precision = "bf16"`` runs the update's network forward passes under
bf16 autocast (log-probabilities, losses, gradients' accumulation and Adam stay fp32; rollouts act in fp32;
faster only on CPUs with native bf16, see ``agents/precision.py``); rollouts run under ``torch.inference_mode``.
The rollout lives on the learner's device (``agents/device.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from rlplastic import checks
from rlplastic.agents.device import to_numpy
from rlplastic.agents.learner import (
    Batch,
    EpisodeCallback,
    Hooks,
    LearnerBase,
    adam,
    all_parameters,
)
from rlplastic.agents.networks import ACTIVATIONS, ENCODERS, ArchSpec
from rlplastic.agents.normalize import ObsNormalizer, RewardScaler
from rlplastic.agents.policies import policy_family
from rlplastic.agents.precision import PRECISIONS
from rlplastic.envs.spec import EnvSpec, StepResult, VectorEnv


@dataclass(frozen=True)
class PPOConfig:
    """PPO hyper-parameters; the defaults are CleanRL's Atari values."""

    num_envs: int = 8
    """Parallel environments of the task; one rollout takes ``num_envs * num_steps`` agent steps."""
    num_steps: int = 128
    """Steps each environment runs per rollout (one iteration)."""
    num_minibatches: int = 4
    """Minibatches each rollout is split into per epoch; ``num_envs * num_steps`` must divide by it."""
    update_epochs: int = 4
    """Passes over each rollout: one iteration makes ``update_epochs * num_minibatches`` gradient updates."""
    learning_rate: float = 2.5e-4
    """Adam's step size (before annealing)."""
    anneal_lr: str = "phase"
    """Linear decay of the step size to 0: "phase" (within each phase), "run" (once over the run) or "none"."""
    gamma: float = 0.99
    """Discount factor of returns."""
    gae_lambda: float = 0.95
    """Lambda of generalised advantage estimation (0: one-step TD, 1: Monte Carlo)."""
    clip_coef: float = 0.1
    """Surrogate clipping range of the probability ratio (and of the value change with ``clip_vloss``)."""
    clip_vloss: bool = True
    """Clip the value loss around the rollout's values, as the PPO paper's code does."""
    ent_coef: float = 0.01
    """Weight of the entropy bonus in the loss."""
    vf_coef: float = 0.5
    """Weight of the value loss in the loss."""
    max_grad_norm: float = 0.5
    """Global gradient-norm clip over every network's parameters."""
    adam_eps: float = 1e-5
    """Adam's epsilon (CleanRL's PPO: 1e-5, not torch's 1e-8)."""
    norm_adv: bool = True
    """Normalise advantages to mean 0, std 1 within each minibatch."""
    clip_reward: bool = True
    """Learn from the sign of the reward (Atari's reward clipping); episode returns are recorded unclipped."""
    obs_norm: bool = False
    """Normalise observations by running mean and variance, clipped to +-``norm_clip`` (continuous control)."""
    reward_norm: bool = False
    """Scale rewards by the running std of the discounted return, clipped to +-``norm_clip`` (continuous control)."""
    norm_clip: float = 10.0
    """Clip of normalised observations and rewards."""
    encoder: str = "nature_cnn"
    """Network trunk: nature_cnn (84x84 Atari frames), minatar_cnn (10x10 MinAtar maps), mlp_64, mlp_256 or simba
    (SimBa's residual MLP with LayerNorm, arXiv 2410.09754; vector observations)."""
    activation: str = "relu"
    """Hidden nonlinearity: relu, tanh (CleanRL's continuous PPO), crelu or dff (sin and cos)."""
    obs_scale: float = 1.0 / 255.0
    """Factor on raw observations before the network (1/255 for Atari pixels, 1 for MinAtar)."""
    precision: str = "fp32"
    """Forward passes of the update: fp32, bf16 autocast (faster only with native bf16), or auto (bf16 where
    this machine's device has it natively, else fp32)."""

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
        checks.counts("agent", checks.fields(self, "num_envs", "num_steps", "num_minibatches", "update_epochs"))
        checks.positive("agent", checks.fields(self, "learning_rate", "adam_eps", "max_grad_norm", "norm_clip"))
        checks.positive("agent", checks.fields(self, "obs_scale"))
        checks.probabilities("agent", checks.fields(self, "gamma", "gae_lambda"))
        checks.non_negative("agent", checks.fields(self, "clip_coef", "ent_coef", "vf_coef"))
        checks.one_of("agent", "encoder", self.encoder, ENCODERS)
        checks.one_of("agent", "activation", self.activation, ACTIVATIONS)
        checks.one_of("agent", "precision", self.precision, PRECISIONS)
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
    def empty(
        cls, cfg: PPOConfig, spec: EnvSpec, obs_dtype: torch.dtype, device: torch.device, steps: int | None = None
    ) -> Rollout:
        """Zeroed storage on ``device`` (the learner's: a rollout is trained on where it is gathered)."""
        shape = (steps or cfg.num_steps, cfg.num_envs)
        dim = spec.action_spec.dim
        actions = (*shape, dim) if dim else shape
        return cls(
            obs=torch.zeros((*shape, *spec.obs_shape), dtype=obs_dtype, device=device),
            actions=torch.zeros(actions, dtype=torch.float32 if dim else torch.long, device=device),
            logprobs=torch.zeros(shape, device=device),
            rewards=torch.zeros(shape, device=device),
            dones=torch.zeros(shape, device=device),
            values=torch.zeros(shape, device=device),
        )

    def flat(self) -> Batch:
        """The rollout as one batch of ``num_steps * num_envs`` transitions."""
        assert self.advantages is not None and self.returns is not None
        return {
            "obs": self.obs.flatten(0, 1),
            "actions": self.actions.flatten(0, 1),
            "logprobs": self.logprobs.flatten(),
            "values": self.values.flatten(),
            "advantages": self.advantages.flatten(),
            "returns": self.returns.flatten(),
        }


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
    ACTION_KINDS = ("discrete", "continuous")  # the action spaces it can act in (ActionSpec.kind)

    def __init__(self, cfg: PPOConfig, spec: EnvSpec, seed: int, hooks: Hooks | None = None) -> None:
        self.cfg = cfg
        self._setup(
            spec, seed, hooks, ArchSpec(encoder=cfg.encoder, obs_scale=cfg.obs_scale, activation=cfg.activation)
        )
        self.family = policy_family(spec)
        self.networks: dict[str, nn.Module] = {name: self._build(name) for name in self.family.names}
        self.target_networks: dict[str, nn.Module] = {}
        wd = self.optimizer_options["weight_decay"]
        self.optimizers = {
            name: adam(net.parameters(), cfg.learning_rate, cfg.adam_eps, wd) for name, net in self.networks.items()
        }
        self._obs_norm = ObsNormalizer(spec.obs_shape, cfg.norm_clip) if cfg.obs_norm else None
        self._reward_norm = RewardScaler(cfg.num_envs, cfg.gamma, cfg.norm_clip) if cfg.reward_norm else None
        float_obs = cfg.obs_norm or spec.obs_dtype != "uint8"
        self._obs_dtype = torch.float32 if float_obs else torch.uint8
        if not spec.action_spec.discrete:
            self._low, self._high = np.array(spec.action_spec.low), np.array(spec.action_spec.high)
        self.iteration_steps = cfg.batch_size
        self.log_every = cfg.batch_size
        self._rollout: Rollout | None = None
        self._env: VectorEnv | None = None
        self._obs: np.ndarray | None = None
        self._iteration, self._iterations = 0, 1
        self._lr = cfg.learning_rate

    # --- the Learner seam -------------------------------------------------------------------------
    def _build(self, name: str) -> nn.Module:
        return self.family.build(name, self.arch)

    def sample(self, n: int, rng: np.random.Generator | None = None) -> Batch:
        if self._rollout is None or self._rollout.advantages is None:
            raise RuntimeError("the learner has no rollout yet: sample() needs at least one iteration")
        return self._draw(self._rollout.flat(), n, rng)

    def _draw(self, batch: Batch, n: int, rng: np.random.Generator | None = None) -> Batch:
        size = len(batch["returns"])
        draw = (self._rng if rng is None else rng).choice(size, size=n, replace=n > size)
        idx = torch.as_tensor(draw, device=self.device)
        return {k: v[idx] for k, v in batch.items()}

    def losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        """PPO's one loss: each network's gradient of it is the gradient that network trains on."""
        loss = self._loss_terms(batch)["loss"]
        return dict.fromkeys(self.networks, loss)

    def probe(self, env: VectorEnv, n: int) -> Batch:
        rollout = Rollout.empty(self.cfg, self.spec, self._obs_dtype, self.device, -(-n // env.num_envs))
        self._roll(env, self._observe(env.reset(), update=False), rollout, lambda result: None, learning=False)
        return self._draw(rollout.flat(), n)

    # --- training ---------------------------------------------------------------------------------
    def _loss_terms(self, batch: Batch) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        with self.autocast():
            logprob, entropy, value = self.family.evaluate(self.networks, batch["obs"], batch["actions"])
        entropy = entropy.mean()
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

    def start_phase(self, env: VectorEnv, iterations: int) -> None:
        self._env = env
        self._obs = self._observe(env.reset(), update=True)
        self._iteration, self._iterations = 0, max(iterations, 1)

    def _observe(self, obs: np.ndarray, update: bool) -> np.ndarray:
        """What the networks see: the observation, normalised if ``obs_norm`` (statistics updated if ``update``)."""
        return obs if self._obs_norm is None else self._obs_norm(obs, update)

    def _learning_reward(self, result: StepResult, learning: bool) -> np.ndarray:
        reward = np.sign(result.reward) if self.cfg.clip_reward else result.reward
        if self._reward_norm is not None:
            reward = self._reward_norm(reward, result.terminated, learning)
        return reward.astype(np.float32)

    def _env_actions(self, action: torch.Tensor) -> np.ndarray:
        if self.spec.action_spec.discrete:
            return to_numpy(action)
        return np.clip(to_numpy(action), self._low, self._high)

    def _roll(
        self,
        env: VectorEnv,
        obs: np.ndarray,
        ro: Rollout,
        on_step: Callable[[StepResult], None],
        learning: bool = True,
    ) -> np.ndarray:
        """Fill ``ro`` by acting from ``obs`` (as the networks see it); truncated episodes bootstrap from their
        final observation's value. A probe (``learning`` false) leaves the normalisation statistics alone."""
        cfg = self.cfg
        done = torch.zeros(env.num_envs, device=self.device)
        for t in range(ro.rewards.shape[0]):
            obs_t = self.to_device(obs)
            ro.obs[t] = obs_t
            ro.dones[t] = done
            with torch.inference_mode():  # no autograd bookkeeping; the rollout's buffers stay normal tensors
                action, logprob, value = self.family.act(self.networks, obs_t)
            ro.actions[t], ro.logprobs[t], ro.values[t] = action, logprob, value
            result = env.step(self._env_actions(action))
            on_step(result)
            ro.rewards[t] = self.to_device(self._learning_reward(result, learning))
            cut = result.truncated & ~result.terminated  # a real termination never bootstraps
            if cut.any():
                idx = np.flatnonzero(cut)
                final = self.to_device(self._observe(result.final_obs[idx], update=False))
                with torch.inference_mode():
                    ro.rewards[t, torch.as_tensor(idx, device=self.device)] += cfg.gamma * self.family.value(
                        self.networks, final
                    )
            obs = self._observe(result.obs, update=learning)
            done = self.to_device(result.done.astype(np.float32))
        with torch.inference_mode():
            next_value = self.family.value(self.networks, self.to_device(obs))
        gae(ro, next_value, done, cfg.gamma, cfg.gae_lambda)
        return obs

    def collect(self, on_episode: EpisodeCallback) -> None:
        assert self._env is not None and self._obs is not None, "start_phase first"
        self._lr = self._learning_rate()
        num_envs = self._env.num_envs

        def count(result: StepResult) -> None:
            self.global_step += num_envs
            for episode in result.episodes:
                on_episode(self.global_step, episode)

        self._rollout = Rollout.empty(self.cfg, self.spec, self._obs_dtype, self.device)
        self._obs = self._roll(self._env, self._obs, self._rollout, count)

    def update(self, hooks: Hooks) -> dict[str, float]:
        cfg = self.cfg
        for name in self.networks:
            self.set_learning_rate(name, self._lr)
        opts = list(self.optimizers.values())
        params = [p for opt in opts for p in all_parameters(opt)]
        assert self._rollout is not None
        batch = self._rollout.flat()
        sums: dict[str, float] = {}
        count = 0
        for _ in range(cfg.update_epochs):
            order = torch.as_tensor(self._rng.permutation(cfg.batch_size), device=self.device)
            for start in range(0, cfg.batch_size, cfg.minibatch_size):
                idx = order[start : start + cfg.minibatch_size]
                terms = self._loss_terms({k: v[idx] for k, v in batch.items()})
                loss = terms["loss"]
                for name in self.networks:
                    extra = hooks.extra_loss(self, name)
                    if extra is not None:
                        loss = loss + extra
                for opt in opts:
                    opt.zero_grad(set_to_none=True)
                loss.backward()
                terms["grad_norm"] = nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
                for opt in opts:
                    opt.step()
                self.updates += 1
                hooks.after_update(self, self.updates)
                for k, v in terms.items():
                    sums[k] = sums.get(k, 0.0) + float(v.detach())
                count += 1
        self._iteration += 1
        return {k: v / count for k, v in sums.items()} | {
            "learning_rate": self._lr,
            "explained_variance": explained_variance(batch["values"], batch["returns"]),
        }

    # --- checkpoints ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return self.base_state() | {
            "rollout": None if self._rollout is None else vars(self._rollout),  # sample() after a resume
            "obs": None if self._obs is None else torch.from_numpy(self._obs),  # a resume inside a phase
            "schedule": (self._iteration, self._iterations),
            "obs_norm": None if self._obs_norm is None else self._obs_norm.rms.state_dict(),
            "reward_norm": None if self._reward_norm is None else self._reward_norm.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.load_base_state(state)
        rollout = state["rollout"]
        if rollout is not None:  # a checkpoint is loaded onto the CPU (RunStore): back to this learner's device
            rollout = {k: None if v is None else v.to(self.device) for k, v in rollout.items()}
        self._rollout = None if rollout is None else Rollout(**rollout)
        self._obs = None if state["obs"] is None else state["obs"].numpy()
        self._iteration, self._iterations = state["schedule"]
        if self._obs_norm is not None:
            self._obs_norm.rms.load_state_dict(state["obs_norm"])
        if self._reward_norm is not None:
            self._reward_norm.load_state_dict(state["reward_norm"])


def explained_variance(values: torch.Tensor, returns: torch.Tensor) -> float:
    """1 − Var(returns − values) / Var(returns) over the rollout (CleanRL's statistic; NaN if the returns do not
    vary): 1 is a perfect critic, ≤ 0 one no better than a constant."""
    var = float(returns.var(unbiased=False))
    return float("nan") if var == 0 else 1.0 - float((returns - values).var(unbiased=False)) / var
