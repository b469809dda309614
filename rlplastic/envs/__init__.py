"""Task adapters (Atari, MinAtar) behind one vector-environment interface, and schedules of tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from rlplastic.envs.schedule import Phase, make_schedule

if TYPE_CHECKING:
    from rlplastic.agents.learner import VectorEnv

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


def make_env(kind: str, task: str, seeds: np.ndarray, options: dict[str, Any]) -> VectorEnv:
    """Build one copy of ``task`` per seed for the adapter ``kind``."""
    return adapter(kind)(task, len(seeds), seeds, **options)


def task_names(kind: str) -> tuple[str, ...] | None:
    """The valid task names of an adapter, or None where any name the backend knows is accepted."""
    if kind == "minatar":
        from rlplastic.envs.minatar import GAMES

        return tuple(GAMES)
    return None


__all__ = ["ENV_KINDS", "Phase", "adapter", "make_env", "make_schedule", "task_names"]
