"""Shared helpers: tiny-budget overrides so end-to-end runs use the real environments in seconds."""

from __future__ import annotations

import pytest

# Real environments and networks, shrunk: 8 envs x 16 steps per rollout, one rollout per phase.
TINY = [
    "agent.num_envs=8",
    "agent.num_steps=16",
    "agent.num_minibatches=2",
    "agent.update_epochs=1",
    "budget.steps_per_phase=128",
]


@pytest.fixture
def tiny() -> list[str]:
    args: list[str] = []
    for item in TINY:
        args += ["--set", item]
    return args
