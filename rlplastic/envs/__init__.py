"""Task adapters (Atari, MinAtar) behind one vector-environment interface, and schedules of tasks."""

from __future__ import annotations

from typing import Any

from rlplastic.envs.schedule import Phase, make_schedule
from rlplastic.envs.vector import VectorEnv

ENV_KINDS = ("atari", "minatar")


def adapter(kind: str) -> type:
    """The vector-environment class of adapter ``kind`` (imported lazily: ale-py is heavy)."""
    if kind == "atari":
        from rlplastic.envs.atari import AtariVector

        return AtariVector
    if kind == "minatar":
        from rlplastic.envs.minatar import MinAtarVector

        return MinAtarVector
    raise ValueError(f"unknown environment kind {kind!r}; choose one of {', '.join(ENV_KINDS)}")


def make_env(kind: str, task: str, num_envs: int, seed: int, options: dict[str, Any]) -> VectorEnv:
    """Build ``num_envs`` copies of ``task`` for the adapter ``kind``."""
    return adapter(kind)(task, num_envs, seed, **options)


def task_names(kind: str) -> tuple[str, ...] | None:
    """The valid task names of an adapter, or None where any name the backend knows is accepted."""
    if kind == "minatar":
        from rlplastic.envs.minatar import GAMES

        return tuple(GAMES)
    return None


__all__ = ["ENV_KINDS", "Phase", "VectorEnv", "adapter", "make_env", "make_schedule", "task_names"]
