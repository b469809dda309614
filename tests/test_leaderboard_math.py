from __future__ import annotations

import math

import pandas as pd
import pytest

from rlplastic.envs import make_schedule
from rlplastic.metrics.phases import end_of_phase_returns
from rlplastic.metrics.scores import human_normalised


def test_human_normalised_from_the_reference_table() -> None:
    # Pong: random -20.7, human 14.6 (dqn_zoo).
    assert human_normalised("Pong", -20.7) == pytest.approx(0.0)
    assert human_normalised("Pong", 14.6) == pytest.approx(1.0)
    assert human_normalised("Pong", 0.0) == pytest.approx(20.7 / 35.3)
    assert human_normalised("NotAGame", 1.0) is None


def test_end_of_phase_return_uses_last_episodes_that_ended_in_the_phase() -> None:
    phases = make_schedule(["A", "B", "C"], 100, 1)
    episodes = pd.DataFrame({"step": [10, 50, 100, 101, 150, 199], "return": [1.0, 2.0, 3.0, 10.0, 20.0, 30.0]})
    got = end_of_phase_returns(episodes, phases, last=2)
    assert got[0] == pytest.approx(2.5)  # episodes ending at 50 and 100
    assert got[1] == pytest.approx(25.0)  # 150 and 199
    assert math.isnan(got[2])  # nothing finished in phase C
