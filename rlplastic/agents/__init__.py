"""Agents (PPO, DQN, SAC) and the networks they build, behind the Learner seam of ``rlplastic.agents.learner``.

Adding an agent: one module with a class implementing ``Learner`` (with a ``Config`` dataclass whose
``iteration_steps`` says how many agent steps one iteration takes, and ``ACTION_KINDS``, the action spaces it
can act in), plus one line in ``AGENTS``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rlplastic.agents.dqn import DQN, DQNConfig
from rlplastic.agents.learner import Batch, Hooks, Learner
from rlplastic.agents.ppo import PPO, PPOConfig
from rlplastic.agents.sac import SAC, SACConfig
from rlplastic.envs.spec import ActionSpec, EnvSpec, StepResult, VectorEnv, env_spec

AGENTS: dict[str, type] = {"ppo": PPO, "dqn": DQN, "sac": SAC}


def config_class(name: str) -> type:
    if name not in AGENTS:
        raise ValueError(f"unknown agent {name!r}; choose one of {', '.join(AGENTS)}")
    return AGENTS[name].Config


def fitting(actions: ActionSpec) -> list[str]:
    """The agents that can act in ``actions`` (each class's ``ACTION_KINDS``), so planning refuses a mismatch (DQN
    on a continuous box, SAC on discrete actions) before any run, instead of every run failing as it starts."""
    return [name for name, cls in AGENTS.items() if actions.kind in cls.ACTION_KINDS]


def agent_options(name: str) -> list[str]:
    """The hyper-parameter names an agent accepts (for validating ``--set agent.X=...``)."""
    return [f.name for f in dataclasses.fields(config_class(name))]


def make(name: str, options: dict[str, Any], spec: EnvSpec, seed: int, hooks: Hooks | None = None) -> Learner:
    """Build agent ``name`` with hyper-parameters ``options`` for the environments ``spec``; ``hooks`` may edit
    the architecture and optimiser before they are built."""
    return AGENTS[name](config_class(name)(**options), spec, seed, hooks)


__all__ = [
    "AGENTS",
    "DQN",
    "PPO",
    "SAC",
    "ActionSpec",
    "Batch",
    "DQNConfig",
    "EnvSpec",
    "Hooks",
    "Learner",
    "PPOConfig",
    "SACConfig",
    "StepResult",
    "VectorEnv",
    "agent_options",
    "config_class",
    "env_spec",
    "fitting",
    "make",
]
