"""Task adapters (Atari, MinAtar, dm_control) behind one vector-environment interface, schedules of tasks,
and the perturbations (variants) a suite may give a phase."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from rlplastic.envs.schedule import Phase, make_schedule

if TYPE_CHECKING:
    from rlplastic.envs.spec import VectorEnv

ENV_KINDS = ("atari", "minatar", "dmc")
VARIANT_KEYS = ("task", "env", "permute_obs", "permute_entries", "permute_actions", "reward_scale", "random_reward")


def adapter(kind: str) -> type:
    """The vector-environment class of adapter ``kind`` (imported lazily: ale-py and dm_control are heavy)."""
    if kind == "atari":
        from rlplastic.envs.atari import AtariVector

        return AtariVector
    if kind == "minatar":
        from rlplastic.envs.minatar import MinAtarVector

        return MinAtarVector
    if kind == "dmc":
        from rlplastic.envs.dmc import DMCVector

        return DMCVector
    raise ValueError(f"unknown environment kind {kind!r}; choose one of {', '.join(ENV_KINDS)}")


def make_env(
    kind: str, task: str, seeds: np.ndarray, options: dict[str, Any], variant: dict[str, Any] | None = None
) -> VectorEnv:
    """Build one copy of ``task`` per seed for the adapter ``kind``; a ``variant`` (a suite's ``[variants.X]``,
    resolved) names the base task, its own env options and a perturbation."""
    if variant is None:
        return adapter(kind)(task, len(seeds), seeds, **options)
    from rlplastic.envs.perturb import Perturbation, PerturbedEnv  # after the agents' seam: it builds StepResults

    env = adapter(kind)(variant["task"], len(seeds), seeds, **(options | variant["env"]))
    perturbation = Perturbation(
        variant["permute_obs"],
        variant["permute_actions"],
        variant["reward_scale"],
        variant["random_reward"],
        variant.get("permute_entries", -1),  # absent from configs written before it existed
    )
    return env if perturbation.identity else PerturbedEnv(env, perturbation)


def task_names(kind: str) -> tuple[str, ...] | None:
    """The valid task names of an adapter, or None where any name the backend knows is accepted."""
    if kind == "minatar":
        from rlplastic.envs.minatar import GAMES

        return tuple(GAMES)
    if kind == "dmc":
        from rlplastic.envs.dmc import task_names as dmc_tasks

        return dmc_tasks()
    return None


__all__ = ["ENV_KINDS", "VARIANT_KEYS", "Phase", "adapter", "make_env", "make_schedule", "task_names"]
