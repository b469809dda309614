"""A nonstationary schedule: the phases an agent trains through, one task each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Phase:
    """One stretch of training on one task; ``start`` and ``steps`` count agent steps (all envs)."""

    index: int
    task: str
    start: int
    steps: int

    @property
    def end(self) -> int:
        return self.start + self.steps

    @property
    def label(self) -> str:
        return f"{self.index + 1}:{self.task}"


def make_schedule(tasks: list[str], steps_per_phase: int, cycles: int) -> list[Phase]:
    """Tasks in the given order, repeated ``cycles`` times, each phase ``steps_per_phase`` long."""
    if not tasks:
        raise ValueError("a schedule needs at least one task")
    if steps_per_phase <= 0 or cycles <= 0:
        raise ValueError("steps_per_phase and cycles must be positive")
    order = [task for _ in range(cycles) for task in tasks]
    return [Phase(i, task, i * steps_per_phase, steps_per_phase) for i, task in enumerate(order)]
