"""A replay buffer that stores each frame once.

A stacked Atari observation is 4 frames of 84x84 and consecutive observations share 3 of them, so storing
``obs`` and ``next_obs`` per transition keeps every frame 8 times. Here each env has a ring of slots; a slot
holds the newest frame of the observation before the step, the action, reward and end flags, and how many
steps of its episode came before it. Stacks are rebuilt at sampling time: frames from before the episode's
start are zero, exactly as ale-py stacks them. The next observation is the following slot's stack, except
where the episode was truncated (time limit or task switch): then its final frame is kept aside.

Memory for Atari (84x84 uint8 frames): 7,056 bytes of frame plus 18 bytes of action, reward, flags and
episode position per transition, so 1M transitions take 7.07 GB (plus one final frame per truncated
episode); storing stacked ``obs`` and ``next_obs`` would take 56 GB, stacked ``obs`` alone 28 GB.
Observations with ``frame_stack`` = 1 (MinAtar's full game state, a proprioceptive state vector) are stored
whole, once per transition, in their own dtype; actions are indices or continuous vectors.

The buffer lives in host memory (numpy) whatever the run's device, and ``sample`` returns CPU tensors: the
learner moves each batch to its device (``OffPolicyLearner._batch``), so a GPU holds only the batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rlplastic.agents.learner import Batch

ARRAYS = ("frames", "actions", "rewards", "terminated", "truncated", "episode_pos")


class FrameReplay:
    """Uniform replay over ``capacity`` transitions of ``num_envs`` envs stepped together."""

    def __init__(
        self,
        capacity: int,
        num_envs: int,
        obs_shape: tuple[int, ...],
        frame_stack: int,
        rng: np.random.Generator,
        obs_dtype: str = "uint8",
        action_dim: int = 0,
    ) -> None:
        """``action_dim`` 0 stores discrete action indices, otherwise continuous actions of that many floats."""
        self.stack = frame_stack
        self.frame_shape = obs_shape[1:] if frame_stack > 1 else obs_shape
        if frame_stack > 1 and obs_shape[0] != frame_stack:
            raise ValueError(f"observation {obs_shape} does not hold {frame_stack} stacked frames")
        self.slots = capacity // num_envs
        if self.slots <= frame_stack:
            raise ValueError(f"agent.buffer_size={capacity} is too small for {num_envs} envs")
        self.num_envs = num_envs
        shape = (num_envs, self.slots)
        self.frames = np.zeros((*shape, *self.frame_shape), dtype=obs_dtype)
        if action_dim:
            self.actions = np.zeros((*shape, action_dim), dtype=np.float32)
        else:
            self.actions = np.zeros(shape, dtype=np.int64)
        self.rewards = np.zeros(shape, dtype=np.float32)
        self.terminated = np.zeros(shape, dtype=bool)
        self.truncated = np.zeros(shape, dtype=bool)
        self.episode_pos = np.zeros(shape, dtype=np.int32)
        self.final: dict[tuple[int, int], np.ndarray] = {}
        self.written = 0  # steps written per env
        self._pos = np.zeros(num_envs, dtype=np.int32)  # steps of the running episode before the next add
        self._rng = rng

    @property
    def held(self) -> int:
        """Steps per env the ring holds now."""
        return min(self.written, self.slots)

    def __len__(self) -> int:
        return self.held * self.num_envs

    def newest_frame(self, obs: np.ndarray) -> np.ndarray:
        return obs[:, -1] if self.stack > 1 else obs

    def add(
        self,
        obs: np.ndarray,
        action: np.ndarray,
        reward: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        final_obs: np.ndarray,
    ) -> None:
        """Store one vector step: ``obs`` the observations acted on, ``final_obs`` where episodes ended."""
        slot = self.written % self.slots
        self.frames[:, slot] = self.newest_frame(obs)
        self.actions[:, slot] = action
        self.rewards[:, slot] = reward
        self.terminated[:, slot] = terminated
        self.truncated[:, slot] = truncated
        self.episode_pos[:, slot] = self._pos
        for env in range(self.num_envs):
            self.final.pop((env, slot), None)
        for env in np.flatnonzero(truncated):
            self.final[(int(env), slot)] = self.newest_frame(final_obs[env : env + 1])[0].copy()
        done = np.logical_or(terminated, truncated)
        self._pos = np.where(done, 0, self._pos + 1)
        self.written += 1

    def cut(self, next_obs: np.ndarray) -> None:
        """End every running episode here (a task switch): the last step is truncated, ``next_obs`` its end."""
        if self.written == 0:
            return
        slot = (self.written - 1) % self.slots
        running = ~(self.terminated[:, slot] | self.truncated[:, slot])
        for env in np.flatnonzero(running):
            self.final[(int(env), slot)] = self.newest_frame(next_obs[env : env + 1])[0].copy()
        self.truncated[:, slot] |= running
        self._pos[:] = 0

    def _stack(self, env: np.ndarray, slot: np.ndarray) -> np.ndarray:
        """The observation at each (env, slot), with zero frames before its episode's start."""
        if self.stack == 1:
            return self.frames[env, slot]
        ages = np.arange(self.stack - 1, -1, -1)  # oldest frame first
        slots = (slot[:, None] - ages) % self.slots
        frames = self.frames[env[:, None], slots]
        before_start = ages[None, :] > self.episode_pos[env, slot][:, None]
        frames[before_start] = 0  # a fresh copy (fancy indexing): zero the frames before each episode began
        return frames

    def _valid(self, age: np.ndarray, env: np.ndarray, slot: np.ndarray) -> np.ndarray:
        """A slot can be sampled once its next observation exists and all frames of its stack are still held."""
        done = self.terminated[env, slot] | self.truncated[env, slot]
        lookback = np.minimum(self.episode_pos[env, slot], self.stack - 1)
        return ((age >= 1) | done) & (age + lookback <= self.held - 1)

    def sample(self, n: int, rng: np.random.Generator | None = None) -> Batch:
        """``n`` transitions drawn uniformly: obs, actions, rewards, next_obs, terminated. ``rng`` draws them
        instead of the buffer's own generator (a diagnostic probe must not change what training samples)."""
        return self._gather(*self.draw(n, rng))

    def draw(self, n: int, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(env, slot) of ``n`` transitions drawn uniformly among those that can be sampled."""
        rng = self._rng if rng is None else rng
        held = self.held
        if held < 2:
            raise RuntimeError("the replay buffer holds no complete transition yet")
        env = rng.integers(0, self.num_envs, n)
        age = rng.integers(0, held, n)
        newest = (self.written - 1) % self.slots
        while True:
            slot = (newest - age) % self.slots
            bad = ~self._valid(age, env, slot)
            if not bad.any():
                break
            env[bad] = rng.integers(0, self.num_envs, int(bad.sum()))
            age[bad] = rng.integers(0, held, int(bad.sum()))
        return env, slot

    def _gather(self, env: np.ndarray, slot: np.ndarray) -> Batch:
        obs = self._stack(env, slot)
        next_obs = self._stack(env, (slot + 1) % self.slots)
        for row in np.flatnonzero(self.truncated[env, slot]):
            final = self.final[(int(env[row]), int(slot[row]))]
            next_obs[row] = np.concatenate([obs[row, 1:], final[None]]) if self.stack > 1 else final
        return {
            "obs": torch.from_numpy(obs),
            "actions": torch.from_numpy(self.actions[env, slot]),
            "rewards": torch.from_numpy(self.rewards[env, slot]),
            "next_obs": torch.from_numpy(next_obs),
            "terminated": torch.from_numpy(self.terminated[env, slot].astype(np.float32)),
        }

    @staticmethod
    def bytes_per_transition(
        obs_shape: tuple[int, ...], frame_stack: int, obs_dtype: str = "uint8", action_dim: int = 0
    ) -> int:
        """Bytes one transition takes: its newest frame, action (8 bytes, or 4 per continuous dimension), reward
        (4), two flags, episode position (4)."""
        frame = obs_shape[1:] if frame_stack > 1 else obs_shape
        action = 4 * action_dim if action_dim else 8
        return int(np.prod(frame)) * np.dtype(obs_dtype).itemsize + action + 4 + 1 + 1 + 4

    def nbytes(self) -> int:
        return sum(getattr(self, name).nbytes for name in ARRAYS)

    # --- checkpoints: only the slots written so far -------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Tensors and plain data only (checkpoints load with ``weights_only=True``)."""
        held = self.held

        def filled(name: str) -> torch.Tensor:  # a full ring is saved as it is (no second 7 GB copy)
            array = getattr(self, name)
            return torch.from_numpy(array if held == self.slots else array[:, :held].copy())

        return {name: filled(name) for name in ARRAYS} | {
            "final": {key: torch.from_numpy(frame) for key, frame in self.final.items()},
            "written": self.written,
            "pos": torch.from_numpy(self._pos.copy()),
            "rng": self._rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name in ARRAYS:
            value = state[name].numpy()
            getattr(self, name)[:, : value.shape[1]] = value
        self.final = {tuple(key): frame.numpy() for key, frame in state["final"].items()}
        self.written = state["written"]
        self._pos = state["pos"].numpy().copy()
        self._rng.bit_generator.state = state["rng"]
