"""Task adapters (Atari, MinAtar) behind one vector-environment interface, and schedules of tasks."""

from __future__ import annotations

from typing import Any

from rlplastic.envs.schedule import Phase, make_schedule
from rlplastic.envs.vector import VectorEnv

ENV_KINDS = ("atari", "minatar")


def make_env(kind: str, task: str, num_envs: int, seed: int, options: dict[str, Any]) -> VectorEnv:
    """Build ``num_envs`` copies of ``task`` for the adapter ``kind`` (imported lazily: ale-py is heavy)."""
    if kind == "atari":
        from rlplastic.envs.atari import AtariVector

        return AtariVector(task, num_envs, seed, **options)
    if kind == "minatar":
        from rlplastic.envs.minatar import MinAtarVector

        return MinAtarVector(task, num_envs, seed, **options)
    raise ValueError(f"unknown environment kind {kind!r}; choose one of {', '.join(ENV_KINDS)}")


def task_names(kind: str) -> tuple[str, ...] | None:
    """The valid task names of an adapter, or None where any name the backend knows is accepted."""
    if kind == "minatar":
        from rlplastic.envs.minatar import GAMES

        return tuple(GAMES)
    return None


__all__ = ["ENV_KINDS", "Phase", "VectorEnv", "make_env", "make_schedule", "task_names"]
