"""Agents (PPO, DQN, SAC) and the networks they build, behind the Learner seam of ``rlplastic.agents.learner``.

Adding an agent: one module with a class implementing ``Learner`` (subclass ``LearnerBase``) with a ``Config``
dataclass (``num_envs``, and ``iteration_steps``: how many agent steps one iteration takes) and ``ACTION_KINDS``
(the action spaces it can act in), registered by an entry point in the group ``rlplastic.agents``
(``rlplastic.agents.registry``); the shipped agents are listed in ``registry.BUILTINS``.
"""

from __future__ import annotations

from typing import Any

import torch

from rlplastic.agents.dqn import DQN, DQNConfig
from rlplastic.agents.learner import Batch, Hooks, Learner
from rlplastic.agents.ppo import PPO, PPOConfig
from rlplastic.agents.registry import AGENTS, ENTRY_POINT_GROUP, AgentError, available, config_class
from rlplastic.agents.sac import SAC, SACConfig
from rlplastic.envs.spec import ActionSpec, EnvSpec, StepResult, VectorEnv, env_spec


def fitting(actions: ActionSpec) -> list[str]:
    """The agents that can act in ``actions`` (each class's ``ACTION_KINDS``), so planning refuses a mismatch (DQN
    on a continuous box, SAC on discrete actions) before any run, instead of every run failing as it starts."""
    return [name for name, cls in available().items() if actions.kind in cls.ACTION_KINDS]


def make(
    name: str,
    options: dict[str, Any],
    spec: EnvSpec,
    seed: int,
    hooks: Hooks | None = None,
    device: torch.device | str = "cpu",
) -> Learner:
    """Build agent ``name`` with hyper-parameters ``options`` for the environments ``spec`` on ``device`` (its
    networks are born there; see ``agents/device.py``); ``hooks`` may edit the architecture and optimiser
    before they are built."""
    with torch.device(device):
        return available()[name](config_class(name)(**options), spec, seed, hooks)


__all__ = [
    "AGENTS",
    "DQN",
    "ENTRY_POINT_GROUP",
    "PPO",
    "SAC",
    "ActionSpec",
    "AgentError",
    "Batch",
    "DQNConfig",
    "EnvSpec",
    "Hooks",
    "Learner",
    "PPOConfig",
    "SACConfig",
    "StepResult",
    "VectorEnv",
    "available",
    "config_class",
    "env_spec",
    "fitting",
    "make",
]
