from __future__ import annotations

import pytest

from rlplastic.envs import make_schedule
from rlplastic.run.plan import plan


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


def test_phase_lengths_round_up_to_whole_rollouts() -> None:
    # 8 envs x 128 steps = 1024 agent steps per rollout: 1000 becomes 1024, 2049 becomes 3072.
    for asked, expected in [(1000, 1024), (2049, 3072), (2048, 2048)]:
        (config,) = plan("atari", ["none"], [0], "smoke", {"budget.steps_per_phase": asked})
        assert config.steps_per_phase == expected


def test_suite_budgets_and_task_orders() -> None:
    (atari,) = plan("atari", ["none"], [0], "smoke", {})
    assert atari.tasks == ("SpaceInvaders", "BeamRider", "MsPacman")
    (minatar,) = plan("minatar", ["none"], [0], "paper", {})
    assert minatar.tasks == ("Breakout", "SpaceInvaders", "Freeway", "Asterix", "Seaquest")
    assert minatar.steps_per_phase % 8192 == 0
    assert 10_000_000 <= minatar.steps_per_phase < 10_000_000 + 8192
