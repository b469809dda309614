from __future__ import annotations

import pytest
from conftest import trained_learner


@pytest.mark.parametrize("mode,expected", [("run", 0.1), ("none", 1.0)])
def test_learning_rate_schedules(mode: str, expected: float) -> None:
    learner = trained_learner(anneal_lr=mode)
    learner.set_run_length(1000)
    learner.global_step += 900  # 90 % of the run done
    assert learner._learning_rate(0, 10) == pytest.approx(learner.cfg.learning_rate * expected)


def test_phase_schedule_anneals_within_the_phase() -> None:
    learner = trained_learner(anneal_lr="phase")
    assert learner._learning_rate(3, 4) == pytest.approx(learner.cfg.learning_rate * 0.25)
