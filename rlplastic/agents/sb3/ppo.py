"""stable-baselines3's own PPO (``stable_baselines3.PPO``: its rollout collection and ``train()`` unmodified) as
agent ``sb3_ppo``, behind our Learner seam, for discrete actions.

It reads the same options as our ``ppo`` (``SB3PPOConfig`` extends ``PPOConfig``) from the suite's
``[agents.ppo]`` table, so ``--agent sb3_ppo`` trains with our PPO's hyper-parameters, network and env. The
network is our encoder as SB3's features extractor with ``net_arch=[]``: a shared trunk, a policy head and a value
head, orthogonally initialised by SB3 with CleanRL's gains (trunk sqrt 2, policy 0.01, value 1). Mapping:
``num_steps`` -> ``n_steps``, ``batch_size // num_minibatches`` -> ``batch_size``, ``update_epochs`` ->
``n_epochs``, ``clip_coef`` -> ``clip_range``, ``norm_adv`` -> ``normalize_advantage``, ``adam_eps`` -> Adam's
eps; ``anneal_lr`` is SB3's ``learning_rate`` schedule (``phase``: progress within the phase).

SB3 differs from CleanRL, and so from our ``ppo``, by design (kept: this agent is SB3's PPO):
- the value loss is ``mse(returns, v)`` without CleanRL's 1/2, so ``vf_coef`` weighs it twice as much;
- with ``clip_vloss`` (-> ``clip_range_vf = clip_coef``) SB3 uses the clipped value only, CleanRL the larger of
  the clipped and unclipped losses.
- extra loss terms of methods (L2-init, Parseval, C-CHAIN) join SB3's gradients after its clip, so they are not
  clipped (ours clip the sum): SB3's ``train()`` computes its loss inside.
Not supported: ``obs_norm``/``reward_norm`` (SB3 does them with ``VecNormalize``), bf16 ``precision``,
continuous actions (use ``ppo`` or ``sac`` on dm_control).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from stable_baselines3 import PPO as SB3PPO
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from torch import nn

from rlplastic.agents.learner import Batch, EpisodeCallback
from rlplastic.agents.ppo import PPOConfig
from rlplastic.agents.sb3.learner import SB3Learner
from rlplastic.agents.sb3.networks import PolicyView
from rlplastic.agents.sb3.vecenv import SB3VecEnv
from rlplastic.envs.spec import VectorEnv


@dataclass(frozen=True)
class SB3PPOConfig(PPOConfig):
    """Our PPO's options, read by SB3's PPO (see the module docstring for the mapping and what differs)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("obs_norm", "reward_norm"):
            if getattr(self, name):
                raise ValueError(
                    f"agent.{name}: sb3_ppo does not normalise (SB3 does it with VecNormalize) and acts in discrete "
                    "actions only; set it false, or use --agent ppo or sac on a continuous-control suite"
                )


class _Quiet(BaseCallback):
    def _on_step(self) -> bool:
        return True


class SB3PPOLearner(SB3Learner):
    """SB3's PPO; one iteration is one ``collect_rollouts`` of ``num_steps`` per env and one ``train()``."""

    Config = SB3PPOConfig
    ACTION_KINDS: ClassVar[tuple[str, ...]] = ("discrete",)
    LAST_STEPPED: ClassVar[str] = "actor_critic"
    SUITE_TABLE: ClassVar[str] = "ppo"

    def _make_model(self, seed: int) -> SB3PPO:
        cfg = self.cfg
        return SB3PPO(
            self._policy(),
            self.placeholder,
            learning_rate=self._schedule,
            n_steps=cfg.num_steps,
            batch_size=cfg.minibatch_size,
            n_epochs=cfg.update_epochs,
            gamma=cfg.gamma,
            gae_lambda=cfg.gae_lambda,
            clip_range=cfg.clip_coef,
            clip_range_vf=cfg.clip_coef if cfg.clip_vloss else None,
            normalize_advantage=cfg.norm_adv,
            ent_coef=cfg.ent_coef,
            vf_coef=cfg.vf_coef,
            max_grad_norm=cfg.max_grad_norm,
            policy_kwargs=self._policy_kwargs(optimizer_kwargs={"eps": cfg.adam_eps}),
            seed=seed,
            device=self.device,
        )

    def _schedule(self, progress_remaining: float) -> float:
        """SB3's learning-rate schedule; ``update`` sets the progress (phase or run) before each ``train()``."""
        return self.cfg.learning_rate * (progress_remaining if self.cfg.anneal_lr != "none" else 1.0)

    def _views(self, policy: nn.Module) -> tuple[dict[str, nn.Module], dict[str, nn.Module]]:
        heads = {
            "policy": (policy.action_net, lambda m: setattr(policy, "action_net", m)),
            "value": (policy.value_net, lambda m: setattr(policy, "value_net", m)),
        }
        return {"actor_critic": PolicyView.of(policy.features_extractor, heads)}, {}

    def _optimizer_owners(self) -> dict[str, tuple[nn.Module, tuple[str, ...]]]:
        return {"policy": (self.model.policy, ("actor_critic",))}

    # --- training -----------------------------------------------------------------------------------
    def collect(self, on_episode: EpisodeCallback) -> None:
        m = self.model
        m.collect_rollouts(m.env, self._collect_with(on_episode), m.rollout_buffer, n_rollout_steps=m.n_steps)

    def _progress_remaining(self) -> float:
        if self.cfg.anneal_lr == "run":
            start, total = self._run
            return max(0.0, 1.0 - (self.global_step - self.iteration_steps - start) / total)
        return 1.0 - self._iteration / self._iterations

    def _train(self) -> dict[str, float]:
        self.model._current_progress_remaining = self._progress_remaining()
        self.model.train()
        stats = self._train_stats()
        return stats | {"learning_rate": self._schedule(self.model._current_progress_remaining)}

    # --- what interventions use ---------------------------------------------------------------------
    def sample(self, n: int, rng: np.random.Generator | None = None) -> Batch:
        buf = self.model.rollout_buffer
        if not buf.full:
            raise RuntimeError("the learner has no rollout yet: sample() needs at least one iteration")
        return self._draw(_flat(buf, self.device), n, rng)

    def _draw(self, batch: Batch, n: int, rng: np.random.Generator | None = None) -> Batch:
        size = len(batch["returns"])
        idx = torch.as_tensor((self._rng if rng is None else rng).choice(size, size=n, replace=n > size))
        return {k: v[idx.to(v.device)] for k, v in batch.items()}

    def losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        """SB3's PPO loss (``PPO.train``'s formula) on ``batch``, for gradient-based methods; training itself
        runs SB3's own ``train()``."""
        m = self.model
        values, log_prob, entropy = m.policy.evaluate_actions(batch["obs"], batch["actions"].long().flatten())
        adv = batch["advantages"]
        if m.normalize_advantage and len(adv) > 1:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        ratio = torch.exp(log_prob - batch["logprobs"])
        clip = m.clip_range(m._current_progress_remaining)
        policy_loss = -torch.min(adv * ratio, adv * ratio.clamp(1 - clip, 1 + clip)).mean()
        values = values.flatten()
        if m.clip_range_vf is not None:
            clip_vf = m.clip_range_vf(m._current_progress_remaining)
            values = batch["values"] + (values - batch["values"]).clamp(-clip_vf, clip_vf)
        loss = policy_loss - m.ent_coef * entropy.mean() + m.vf_coef * F.mse_loss(batch["returns"], values)
        return {"actor_critic": loss}

    def probe(self, env: VectorEnv, n: int) -> Batch:
        """SB3's own rollout collection on ``env`` into a buffer of its own; the training env, its last
        observation and the step counters are put back after."""
        m = self.model
        steps = -(-n // env.num_envs)
        saved = (m.env, m._last_obs, m._last_episode_starts, m.num_timesteps, self.vec)
        buf = self._probe_buffer(steps, env.num_envs)
        m.env = SB3VecEnv(env, self.cfg.clip_reward)
        m._last_obs, m._last_episode_starts = m.env.reset(), np.ones(env.num_envs, dtype=bool)
        quiet = _Quiet()
        quiet.init_callback(m)
        try:
            m.collect_rollouts(m.env, quiet, buf, steps)
        finally:
            m.env, m._last_obs, m._last_episode_starts, m.num_timesteps, self.vec = saved
        return self._draw(_flat(buf, self.device), n)

    def _probe_buffer(self, steps: int, num_envs: int) -> RolloutBuffer:
        """A rollout buffer with the model's discount and GAE lambda (SB3's positional order is lambda, gamma)."""
        m = self.model
        return RolloutBuffer(
            steps, m.observation_space, m.action_space, device=m.device, gamma=m.gamma, gae_lambda=m.gae_lambda,
            n_envs=num_envs,
        )  # fmt: skip

    # --- checkpoints --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        buf = self.model.rollout_buffer
        rollout = None
        if buf.full:  # its arrays as they are: SB3's train() flattens them in place (``generator_ready``)
            rollout = {k: torch.from_numpy(getattr(buf, k).copy()) for k in ROLLOUT} | {"flat": buf.generator_ready}
        return super().state_dict() | {"rollout": rollout}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        buf, rollout = self.model.rollout_buffer, state["rollout"]
        if rollout is not None:
            for k in ROLLOUT:
                setattr(buf, k, rollout[k].numpy().copy())
            buf.full, buf.pos, buf.generator_ready = True, buf.buffer_size, rollout["flat"]


ROLLOUT = ("observations", "actions", "rewards", "returns", "episode_starts", "values", "log_probs", "advantages")


def _flat(buf: RolloutBuffer, device: torch.device) -> Batch:
    """A filled rollout buffer as one batch of our names, whether or not SB3's ``train()`` has flattened it."""
    n = buf.buffer_size * buf.n_envs

    def flat(a: np.ndarray, *shape: int) -> torch.Tensor:
        return torch.as_tensor(a.reshape(n, *shape), device=device)

    return {
        "obs": flat(buf.observations, *buf.obs_shape),
        "actions": flat(buf.actions),
        "logprobs": flat(buf.log_probs),
        "values": flat(buf.values),
        "advantages": flat(buf.advantages),
        "returns": flat(buf.returns),
    }
