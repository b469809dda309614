"""Advantage actor-critic (A2C, Mnih et al. 2016, arXiv 1602.01783) for discrete actions, as a plug-in agent.

The whole agent is this module: a ``Config`` dataclass, a learner that subclasses ``LearnerBase`` and the
``pyproject.toml`` entry point ``a2c = "rlplastic_a2c:A2C"`` in the group ``rlplastic.agents``. One iteration is
an ``num_steps`` x ``num_envs`` rollout and one gradient step on its n-step returns. A toy for the tests: a
time-limit truncation is treated as an ending (no bootstrap from the final observation).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from rlplastic.agents.learner import Batch, EpisodeCallback, Hooks, LearnerBase, adam
from rlplastic.agents.networks import ActorCritic, ArchSpec
from rlplastic.envs.spec import EnvSpec, StepResult, VectorEnv


@dataclass(frozen=True)
class A2CConfig:
    """A2C hyper-parameters (Stable-Baselines3's A2C defaults, with Adam and MinAtar's network)."""

    num_envs: int = 8
    """Parallel environments of the task."""
    num_steps: int = 5
    """Steps each environment runs per update: the length of the n-step returns."""
    learning_rate: float = 7e-4
    """Adam's step size."""
    gamma: float = 0.99
    """Discount factor of returns."""
    ent_coef: float = 0.01
    """Weight of the entropy bonus in the loss."""
    vf_coef: float = 0.5
    """Weight of the value loss in the loss."""
    max_grad_norm: float = 0.5
    """Gradient-norm clip."""
    encoder: str = "minatar_cnn"
    """Network trunk (rlplastic.agents.networks): minatar_cnn, nature_cnn, mlp_64 or mlp_256."""

    @property
    def iteration_steps(self) -> int:
        return self.num_envs * self.num_steps


class A2C(LearnerBase):
    """One network ``actor_critic`` (policy and value heads on a shared trunk), one Adam optimiser."""

    Config = A2CConfig
    ACTION_KINDS = ("discrete",)

    def __init__(self, cfg: A2CConfig, spec: EnvSpec, seed: int, hooks: Hooks | None = None) -> None:
        self.cfg = cfg
        self._setup(spec, seed, hooks, ArchSpec(encoder=cfg.encoder))
        self.networks: dict[str, nn.Module] = {"actor_critic": self._build("actor_critic")}
        self.target_networks: dict[str, nn.Module] = {}
        params = self.networks["actor_critic"].parameters()
        self.optimizers = {
            "actor_critic": adam(params, cfg.learning_rate, 1e-5, self.optimizer_options["weight_decay"])
        }
        self.iteration_steps = self.log_every = cfg.iteration_steps
        self._env: VectorEnv | None = None
        self._obs: np.ndarray | None = None
        self._batch: Batch | None = None

    def _build(self, name: str) -> nn.Module:
        return ActorCritic(self.arch, self.obs_shape, self.num_actions)

    # --- acting -------------------------------------------------------------------------------------
    def start_phase(self, env: VectorEnv, iterations: int) -> None:
        self._env, self._obs = env, env.reset()

    def _rollout(
        self, env: VectorEnv, obs: np.ndarray, steps: int, on_step: Callable[[StepResult], None]
    ) -> tuple[Batch, np.ndarray]:
        """``steps`` vector steps from ``obs``: the batch (observations, actions, n-step returns) and the last obs."""
        net, rows = self.networks["actor_critic"], []
        for _ in range(steps):
            with torch.inference_mode():
                logits, _ = net(torch.from_numpy(obs))
                actions = torch.distributions.Categorical(logits=logits.float()).sample().numpy()
            result = env.step(actions)
            on_step(result)
            rows.append((obs, actions, result.reward.astype(np.float32), result.done.astype(np.float32)))
            obs = result.obs
        with torch.inference_mode():
            ret = net(torch.from_numpy(obs))[1].float().numpy()
        returns = []
        for _, _, reward, done in reversed(rows):
            ret = reward + self.cfg.gamma * (1.0 - done) * ret
            returns.insert(0, ret)
        columns = [np.concatenate(column) for column in zip(*rows, strict=True)]
        batch = {"obs": columns[0], "actions": columns[1], "returns": np.concatenate(returns)}
        return {k: torch.from_numpy(v) for k, v in batch.items()}, obs

    def collect(self, on_episode: EpisodeCallback) -> None:
        assert self._env is not None and self._obs is not None, "start_phase first"
        env = self._env

        def count(result: StepResult) -> None:
            self.global_step += env.num_envs
            for episode in result.episodes:
                on_episode(self.global_step, episode)

        self._batch, self._obs = self._rollout(env, self._obs, self.cfg.num_steps, count)

    def probe(self, env: VectorEnv, n: int) -> Batch:
        batch, _ = self._rollout(env, env.reset(), -(-n // env.num_envs), lambda result: None)
        return {k: v[:n] for k, v in batch.items()}

    # --- learning -----------------------------------------------------------------------------------
    def sample(self, n: int, rng: np.random.Generator | None = None) -> Batch:
        if self._batch is None:
            raise RuntimeError("no rollout yet: sample() needs at least one iteration")
        size = len(self._batch["returns"])
        idx = torch.as_tensor((rng or self._rng).choice(size, size=n, replace=n > size))
        return {k: v[idx] for k, v in self._batch.items()}

    def losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        logits, value = self.networks["actor_critic"](batch["obs"])
        logp = torch.log_softmax(logits.float(), dim=-1)
        advantage = batch["returns"] - value.detach()
        policy = -(logp.gather(1, batch["actions"][:, None]).squeeze(1) * advantage).mean()
        entropy = -(logp.exp() * logp).sum(-1).mean()
        value_loss = (batch["returns"] - value.float()).pow(2).mean()
        return {"actor_critic": policy + self.cfg.vf_coef * value_loss - self.cfg.ent_coef * entropy}

    def update(self, hooks: Hooks) -> dict[str, float]:
        assert self._batch is not None, "collect first"
        loss = self.losses(self._batch)["actor_critic"]
        extra = hooks.extra_loss(self, "actor_critic")
        total = loss if extra is None else loss + extra
        optimizer = self.optimizers["actor_critic"]
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        nn.utils.clip_grad_norm_(self.networks["actor_critic"].parameters(), self.cfg.max_grad_norm)
        optimizer.step()
        self.updates += 1
        hooks.after_update(self, self.updates)
        return {"loss": float(loss.detach())}

    # --- checkpoints --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        obs = None if self._obs is None else torch.from_numpy(self._obs)
        return self.base_state() | {"obs": obs, "batch": self._batch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.load_base_state(state)
        self._obs = None if state["obs"] is None else state["obs"].numpy()
        self._batch = state["batch"]
