"""What every replay-based agent (DQN, SAC) does the same way: act, store transitions, sample, checkpoint.

One iteration is ``train_frequency`` vector steps followed by ``gradient_steps`` updates, so the replay ratio
(updates per agent step) is ``gradient_steps / (train_frequency * num_envs)``. Episodes cut by a time limit or
by a task switch bootstrap from their final observation; only a real termination ends the return.

``checkpoint_buffer = true`` stores the replay buffer in each checkpoint, so a resumed run equals an
uninterrupted one; ``false`` keeps checkpoints small (1M Atari transitions take ~7 GB) and a resumed run
restarts from an empty buffer, collects ``learning_starts`` transitions again before its next update, and says
so in its ``DONE`` summary (``restarted_buffer``).

The replay buffer lives in host memory (numpy, frames as uint8) whatever the device: 1M Atari transitions take
7 GB, more than many GPUs spare beside the networks. Each sampled batch moves to the learner's device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rlplastic import checks
from rlplastic.agents.learner import Batch, EpisodeCallback, LearnerBase
from rlplastic.agents.networks import ENCODERS, INITS
from rlplastic.agents.precision import PRECISIONS
from rlplastic.agents.replay import FrameReplay
from rlplastic.envs.spec import EnvSpec, StepResult, VectorEnv

COUNTS = ("num_envs", "train_frequency", "gradient_steps", "batch_size", "target_network_frequency", "buffer_size")


@dataclass(frozen=True)
class OffPolicyConfig:
    """The options every replay-based agent shares (SB3's ``OffPolicyAlgorithm`` arguments, CleanRL's names).
    The first six have no default here: each agent sets its own (CleanRL's values differ between DQN and SAC).
    A subclass that only sets a default keeps the meaning written here."""

    train_frequency: int
    """Vector steps per iteration: one iteration is ``train_frequency * num_envs`` agent steps, then updates."""
    learning_starts: int
    """Agent steps before the first update (the replay buffer fills first)."""
    batch_size: int
    """Transitions per gradient update, drawn uniformly from the replay buffer."""
    target_network_frequency: int
    """How often target networks move toward the online ones (DQN: agent steps; SAC: updates)."""
    tau: float
    """Target update rate: 1 copies the online weights, below 1 is Polyak averaging."""
    encoder: str
    """Network trunk: nature_cnn (84x84 Atari frames), minatar_cnn (10x10 MinAtar maps), mlp_64, mlp_256 or simba
    (SimBa's residual MLP with LayerNorm, arXiv 2410.09754; vector observations)."""
    num_envs: int = 1
    """Parallel environments of the task."""
    buffer_size: int = 1_000_000
    """Replay capacity in transitions (summed over environments); the oldest are overwritten."""
    gamma: float = 0.99
    """Discount factor of returns."""
    gradient_steps: int = 1
    """Gradient updates per iteration: the replay ratio is ``gradient_steps / (train_frequency * num_envs)``."""
    init: str = "torch"
    """Weight initialisation: torch (PyTorch's default, CleanRL's), orthogonal or xavier."""
    checkpoint_buffer: bool = True
    """Keep the replay buffer in checkpoints, so a resumed run equals an uninterrupted one (false: small
    checkpoints, and a resumed run refills its buffer and says so)."""
    log_interval: int = 1000
    """Agent steps between metric rows (rounded to whole iterations)."""
    precision: str = "fp32"
    """Forward passes of the update: fp32, bf16 autocast (faster only with native bf16), or auto (bf16 where
    this machine's device has it natively, else fp32)."""

    @property
    def iteration_steps(self) -> int:
        return self.train_frequency * self.num_envs

    def __post_init__(self) -> None:
        """Range checks of the shared options; a subclass checks its own after calling this."""
        checks.one_of("agent", "precision", self.precision, PRECISIONS)
        checks.counts("agent", checks.fields(self, *COUNTS, "log_interval"))
        checks.counts("agent", checks.fields(self, "learning_starts"), minimum=0)
        checks.probabilities("agent", checks.fields(self, "gamma"))
        checks.probabilities("agent", checks.fields(self, "tau"), low_open=True)
        checks.one_of("agent", "encoder", self.encoder, ENCODERS)
        checks.one_of("agent", "init", self.init, INITS)


class OffPolicyLearner(LearnerBase):
    """A learner with a replay buffer. Subclasses implement ``_explore`` (actions while training),
    ``_probe_actions`` (actions of the current policy for probes) and ``update``."""

    cfg: OffPolicyConfig

    def _init_replay(self, spec: EnvSpec, seed: int) -> None:
        cfg = self.cfg
        self.iteration_steps = cfg.train_frequency * cfg.num_envs
        self.log_every = max(1, cfg.log_interval // self.iteration_steps) * self.iteration_steps
        rng = np.random.default_rng([seed, 1])
        dim = spec.action_spec.dim
        self.buffer = FrameReplay(
            cfg.buffer_size, cfg.num_envs, spec.obs_shape, spec.frame_stack, rng, spec.obs_dtype, dim
        )
        self._env: VectorEnv | None = None
        self._obs: np.ndarray | None = None
        self._learning_from = cfg.learning_starts  # moved on by a resume that restarts from an empty buffer

    # --- what subclasses decide -------------------------------------------------------------------
    def _explore(self, obs: np.ndarray) -> np.ndarray:
        """Actions taken while training."""
        raise NotImplementedError

    def _probe_actions(self, obs: np.ndarray) -> np.ndarray:
        """Actions of the current policy for a probe of an incoming task."""
        raise NotImplementedError

    def _reward(self, result: StepResult) -> np.ndarray:
        """The reward the agent learns from (raw by default)."""
        return result.reward.astype(np.float32)

    # --- acting -----------------------------------------------------------------------------------
    @property
    def learning(self) -> bool:
        """Past the warm-up and holding a full batch: updates happen."""
        return self.global_step >= self._learning_from and len(self.buffer) >= self.cfg.batch_size

    def start_phase(self, env: VectorEnv, iterations: int) -> None:
        if self._obs is not None:
            self.buffer.cut(self._obs)  # the previous task's running episodes end here, bootstrapped
        self._env = env
        self._obs = env.reset()

    def collect(self, on_episode: EpisodeCallback) -> None:
        assert self._env is not None and self._obs is not None, "start_phase first"
        for _ in range(self.cfg.train_frequency):
            actions = self._explore(self._obs)
            result = self._env.step(actions)
            self.buffer.add(
                self._obs, actions, self._reward(result), result.terminated, result.truncated, result.final_obs
            )
            self._obs = result.obs
            self.global_step += self._env.num_envs
            for episode in result.episodes:
                on_episode(self.global_step, episode)

    def probe(self, env: VectorEnv, n: int) -> Batch:
        obs, rows = env.reset(), []
        for _ in range(-(-n // env.num_envs)):
            actions = self._probe_actions(obs)
            result = env.step(actions)
            next_obs = np.where(result.done.reshape(-1, *[1] * (obs.ndim - 1)), result.final_obs, result.obs)
            rows.append((obs, actions, self._reward(result), next_obs, result.terminated.astype(np.float32)))
            obs = result.obs
        keys = ("obs", "actions", "rewards", "next_obs", "terminated")
        return {k: self.to_device(np.concatenate([r[i] for r in rows])[:n]) for i, k in enumerate(keys)}

    def sample(self, n: int, rng: np.random.Generator | None = None) -> Batch:
        if len(self.buffer) == 0:
            raise RuntimeError("the replay buffer is empty: sample() needs at least one iteration")
        return self._batch(self.buffer.sample(n, rng))

    def _batch(self, batch: Batch) -> Batch:
        """A batch of the host-side buffer on this learner's device."""
        return {k: v.to(self.device) for k, v in batch.items()}

    # --- checkpoints ------------------------------------------------------------------------------
    def replay_state(self) -> dict[str, Any]:
        keep = self.cfg.checkpoint_buffer
        return {
            "obs": None if self._obs is None else torch.from_numpy(self._obs),
            "learning_from": self._learning_from,
            "buffer": self.buffer.state_dict() if keep else None,
        }

    def load_replay_state(self, state: dict[str, Any]) -> None:
        self._obs = None if state["obs"] is None else state["obs"].numpy()
        self._learning_from = state["learning_from"]
        if state["buffer"] is not None:
            self.buffer.load_state_dict(state["buffer"])
        else:  # an empty buffer again: collect learning_starts transitions before the next update
            self._learning_from = self.global_step + self.cfg.learning_starts
            self._obs = None  # nothing to cut: the buffer holds none of the previous phase

    def state_dict(self) -> dict[str, Any]:
        return self.base_state() | self.replay_state()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.load_base_state(state)
        self.load_replay_state(state)

    @property
    def restarted_buffer(self) -> bool:
        """True after a resume from a checkpoint without the replay buffer."""
        return self._learning_from > self.cfg.learning_starts
