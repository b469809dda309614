"""What SB3's off-policy agents (``sb3_dqn``, ``sb3_sac``) share behind our Learner seam: one iteration is
``train_frequency`` vector steps of SB3's ``collect_rollouts`` into its replay buffer, then its ``train()`` once
learning has started; interventions draw replay samples with the learner's own generator, not numpy's global one
that SB3 draws from; checkpoints hold the filled part of the replay buffer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.type_aliases import TrainFreq, TrainFrequencyUnit

from rlplastic.agents.learner import Batch, EpisodeCallback, Hooks
from rlplastic.agents.sb3.learner import SB3Learner
from rlplastic.envs.spec import EnvSpec, VectorEnv

REPLAY = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")
BATCH_KEYS = ("obs", "actions", "rewards", "next_obs", "terminated")

ProbeActor = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""observations -> (actions for the env, actions as the replay buffer stores them)."""


class SB3OffPolicyLearner(SB3Learner):
    """Base of the SB3 agents with a replay buffer; a subclass adds ``_replay_actions`` (the stored actions in the
    form its ``losses`` read) and ``_probe_actor``."""

    model: OffPolicyAlgorithm

    def __init__(self, cfg: Any, spec: EnvSpec, seed: int, hooks: Hooks | None = None) -> None:
        super().__init__(cfg, spec, seed, hooks)
        self.log_every = max(1, cfg.log_interval // self.iteration_steps) * self.iteration_steps  # as our agents'

    def set_run_length(self, total_steps: int) -> None:
        super().set_run_length(total_steps)
        self.model._total_timesteps = max(total_steps, 1)  # SB3's progress; its schedules are replaced by ours

    def _replay_kwargs(self) -> dict[str, Any]:
        """Our replay options (``OffPolicyConfig``) under SB3's names, the same for its DQN and SAC."""
        cfg = self.cfg
        return {
            "buffer_size": cfg.buffer_size,
            "learning_starts": cfg.learning_starts,
            "batch_size": cfg.batch_size,
            "tau": cfg.tau,
            "gamma": cfg.gamma,
            "train_freq": cfg.train_frequency,
            "gradient_steps": cfg.gradient_steps,
            "target_update_interval": cfg.target_network_frequency,
        }

    def collect(self, on_episode: EpisodeCallback) -> None:
        m = self.model
        m.collect_rollouts(
            m.env,
            self._collect_with(on_episode),
            TrainFreq(self.cfg.train_frequency, TrainFrequencyUnit.STEP),
            m.replay_buffer,
            learning_starts=m.learning_starts,
        )

    def _train_due(self) -> bool:
        """SB3's own rule (``OffPolicyAlgorithm.learn``): train once more steps than ``learning_starts`` are in."""
        m = self.model
        return m.num_timesteps > 0 and m.num_timesteps > m.learning_starts

    # --- what interventions use ---------------------------------------------------------------------
    def _replay_actions(self, actions: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def sample(self, n: int, rng: np.random.Generator | None = None) -> Batch:
        """``n`` stored transitions drawn with ``rng`` (or the learner's), not numpy's global generator, so an
        intervention's sample leaves SB3's own draws untouched."""
        buf = self.model.replay_buffer
        size = buf.buffer_size if buf.full else buf.pos
        if size == 0:
            raise RuntimeError("the replay buffer is empty: sample() needs collected transitions")
        rng = self._rng if rng is None else rng
        rows, envs = rng.integers(0, size, n), rng.integers(0, buf.n_envs, n)
        done, timeout = buf.dones[rows, envs], buf.timeouts[rows, envs]
        arrays = (
            buf.observations[rows, envs],
            self._replay_actions(buf.actions[rows, envs]),
            buf.rewards[rows, envs],
            buf.next_observations[rows, envs],
            done * (1.0 - timeout),
        )
        return self._batch(dict(zip(BATCH_KEYS, arrays, strict=True)))

    def _batch(self, arrays: dict[str, np.ndarray]) -> Batch:
        as_float = ("rewards", "terminated")
        return {
            k: self.to_device(np.asarray(v, np.float32) if k in as_float else np.ascontiguousarray(v))
            for k, v in arrays.items()
        }

    def _probe_actor(self) -> ProbeActor:
        raise NotImplementedError

    def probe(self, env: VectorEnv, n: int) -> Batch:
        """``n`` transitions of the current policy on ``env`` (``_probe_actor``); nothing is stored or counted."""
        act, obs, rows = self._probe_actor(), env.reset(), []
        while len(rows) * env.num_envs < n:
            env_actions, stored = act(obs)
            result = env.step(env_actions)
            next_obs = np.where(result.done.reshape(-1, *[1] * (obs.ndim - 1)), result.final_obs, result.obs)
            rows.append((obs, stored, result.reward, next_obs, result.terminated))
            obs = result.obs
        cols = [np.concatenate(c)[:n] for c in zip(*rows, strict=True)]
        return self._batch(dict(zip(BATCH_KEYS, cols, strict=True)))

    # --- checkpoints --------------------------------------------------------------------------------
    @property
    def restarted_buffer(self) -> bool:
        return getattr(self, "_restarted", False)

    def state_dict(self) -> dict[str, Any]:
        """With ``checkpoint_buffer``, the filled rows of SB3's replay buffer (not its whole allocation)."""
        buf, replay = self.model.replay_buffer, None
        if self.cfg.checkpoint_buffer:
            rows = buf.buffer_size if buf.full else buf.pos
            replay = {k: torch.from_numpy(getattr(buf, k)[:rows].copy()) for k in REPLAY}
            replay |= {"pos": buf.pos, "full": buf.full}
        return super().state_dict() | {"replay": replay}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        buf, replay = self.model.replay_buffer, state["replay"]
        if replay is None:  # an empty buffer fills again before the next update
            self._restarted = True
            self.model.learning_starts = self.model.num_timesteps + self.cfg.learning_starts
            return
        for k in REPLAY:
            saved = replay[k].numpy()
            getattr(buf, k)[: len(saved)] = saved
        buf.pos, buf.full = replay["pos"], replay["full"]
