"""Our ``VectorEnv`` seen as a stable-baselines3 ``VecEnv``, so SB3's own rollout code steps the suite's tasks.

SB3 reads an episode's end from ``dones`` and tells a time limit from a real end by ``info["TimeLimit.truncated"]``
with the last observation in ``info["terminal_observation"]``: PPO then bootstraps the cut episode from that
observation's value and the replay buffers store it as the transition's next observation (``timeouts``). Our
``StepResult`` keeps ``terminated``, ``truncated`` and ``final_obs`` apart, so nothing is lost in the translation.
The finished episodes of the last step (raw, unclipped returns) stay on ``last.episodes`` for the learner to
record. Rewards are passed as the env gives them, or as their sign with ``clip_reward`` (what SB3's
``AtariWrapper`` does; the recorded returns stay raw).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from rlplastic.envs.spaces import action_space, observation_space
from rlplastic.envs.spec import StepResult, VectorEnv


class SB3VecEnv(VecEnv):
    """``env`` (one of our vector envs) behind SB3's ``VecEnv`` interface."""

    def __init__(self, env: VectorEnv, clip_reward: bool = False, kind: str = "") -> None:
        space = observation_space(kind, tuple(env.obs_shape), env.obs_dtype)
        super().__init__(env.num_envs, space, action_space(env.action_spec))
        self.env = env
        self.clip_reward = clip_reward
        self.last: StepResult | None = None
        self._actions: np.ndarray | None = None

    def reset(self) -> np.ndarray:
        self.last = None
        return self.env.reset()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        assert self._actions is not None, "step_async first"
        actions = self._actions.reshape(-1) if self.env.action_spec.discrete else self._actions
        result = self.last = self.env.step(actions)
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for i in np.flatnonzero(result.done):
            infos[i]["terminal_observation"] = result.final_obs[i]
            infos[i]["TimeLimit.truncated"] = bool(result.truncated[i] and not result.terminated[i])
        reward = np.sign(result.reward) if self.clip_reward else result.reward
        return result.obs, reward.astype(np.float32), result.done.copy(), infos

    def close(self) -> None:
        self.env.close()

    # --- the rest of SB3's VecEnv interface: our envs have no per-copy attributes or wrappers -----------
    def _indices(self, indices: int | Sequence[int] | None) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        return [indices] if isinstance(indices, int) else list(indices)

    def get_attr(self, attr_name: str, indices: int | Sequence[int] | None = None) -> list[Any]:
        if attr_name == "render_mode":  # nothing renders
            return [None] * len(self._indices(indices))
        return [getattr(self.env, attr_name)] * len(self._indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: int | Sequence[int] | None = None) -> None:
        setattr(self.env, attr_name, value)

    def env_method(self, method_name: str, *args: Any, indices: int | Sequence[int] | None = None, **kw: Any) -> list:
        return [getattr(self.env, method_name)(*args, **kw)] * len(self._indices(indices))

    def env_is_wrapped(self, wrapper_class: type, indices: int | Sequence[int] | None = None) -> list[bool]:
        return [False] * len(self._indices(indices))
