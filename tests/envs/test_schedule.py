"""Schedules: tasks in order, cycled, with fixed lengths; empty schedules refused (phase lengths rounded to whole
rollouts: ``tests/run/test_plan.py``)."""

from __future__ import annotations

import pytest

from rlplastic.envs import make_schedule


def test_tasks_in_order_cycled_with_fixed_lengths() -> None:
    phases = make_schedule(["A", "B", "C"], 100, cycles=2)
    assert [p.task for p in phases] == ["A", "B", "C", "A", "B", "C"]
    assert [p.start for p in phases] == [0, 100, 200, 300, 400, 500]
    assert all(p.steps == 100 for p in phases)
    assert phases[-1].end == 600
    assert phases[3].label == "4:A"


@pytest.mark.parametrize("steps,cycles", [(0, 1), (10, 0)])
def test_empty_schedules_are_refused(steps: int, cycles: int) -> None:
    with pytest.raises(ValueError):
        make_schedule(["A"], steps, cycles)
