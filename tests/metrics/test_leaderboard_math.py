"""The leaderboard's numbers against small examples computed by hand from their definitions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rlplastic.envs.schedule import Phase, make_schedule
from rlplastic.metrics import aggregate, continual
from rlplastic.metrics.scores import NormalisationError, atari_reference, human_normalised, normaliser
from rlplastic.metrics.visits import curve, visit_scores


def test_human_normalised_from_the_reference_table() -> None:
    # Pong: random -20.7, human 14.6 (dqn_zoo).
    assert human_normalised("Pong", -20.7) == pytest.approx(0.0)
    assert human_normalised("Pong", 14.6) == pytest.approx(1.0)
    assert human_normalised("Pong", 0.0) == pytest.approx(20.7 / 35.3)
    with pytest.raises(NormalisationError, match="no human reference score for Atari game 'NotAGame'"):
        human_normalised("NotAGame", 1.0)


def test_the_atari_table_has_the_57_games_each_a_real_rom() -> None:
    import ale_py.roms

    from rlplastic.envs.atari import rom_id

    table = atari_reference()
    assert len(table) == 57
    assert {rom_id(game) for game in table} <= set(ale_py.roms.get_all_rom_ids())
    assert table["MontezumaRevenge"] == (0.0, 4753.3) and table["UpNDown"] == (533.4, 11693.2)


def test_reset_normalisation_refuses_a_missing_or_non_positive_reference() -> None:
    norm = normaliser("", {"A": 4.0, "B": 0.0})
    assert norm("A", 2.0) == 0.5
    with pytest.raises(NormalisationError, match="'B'"):
        norm("B", 1.0)
    with pytest.raises(NormalisationError, match="missing"):
        norm("C", 1.0)
    assert normaliser("dmc_max", {})("walker-walk", 500.0) == 0.5


def test_visit_scores_by_hand() -> None:
    phases = [*make_schedule(["A", "B", "C"], 100, 1), Phase(3, "A", 300, 100)]
    episodes = pd.DataFrame(
        {
            "step": [8, 20, 95, 100, 150, 330, 400],
            "start": [0, 8, 60, 90, 101, 300, 310],
            "return": [1.0, 2.0, 4.0, 6.0, 7.0, 3.0, 9.0],
        }
    )
    a, b, c, a2 = visit_scores(episodes, phases, fraction=0.1)  # window: 10 steps
    assert a.end == 5.0  # episodes ending at 95 and 100 (after step 90)
    assert a.start == 1.5  # episodes beginning at 0 and 8 (before step 10)
    assert a.auc == pytest.approx((1 + 2 + 5) / 3)  # bins [0,10): 1; [10,20]: 2; [90,100]: (4+6)/2
    assert a.gain == 3.5 and a.visit == 1 and a.episodes == 4
    assert b.end == 7.0 and b.start == 7.0  # one episode: the window falls back to it
    assert math.isnan(c.end) and math.isnan(c.start) and c.episodes == 0
    assert a2.visit == 2 and a2.end == 9.0  # only the episode ending at 400 ended after step 390
    assert a2.start == 3.0  # only the episode that began at 300 began in the first 10 steps


def test_curve_bins_by_hand() -> None:
    phases = make_schedule(["A", "B"], 40, 1)
    episodes = pd.DataFrame({"step": [5, 10, 25, 80], "start": [0, 0, 10, 60], "return": [1.0, 3.0, 5.0, 7.0]})
    x, y = curve(episodes, phases, fraction=0.5)  # 20-step bins: (0,20], (20,40], (40,60], (60,80]
    assert list(x) == [10, 30, 50, 70]
    assert y[0] == 2.0 and y[1] == 5.0 and math.isnan(y[2]) and y[3] == 7.0


def test_aggregate_estimators_by_hand() -> None:
    scores = np.arange(1.0, 9.0).reshape(2, 4)  # 1..8
    assert aggregate.iqm(scores) == 4.5  # the middle half: 3, 4, 5, 6
    assert aggregate.mean(scores) == 4.5 and aggregate.median(scores) == 4.5
    skewed = np.array([[0.0, 1.0, 10.0], [2.0, 3.0, 10.0]])  # task means 1, 2, 10
    assert aggregate.median(skewed) == 2.0 and aggregate.mean(skewed) == pytest.approx(13 / 3)
    assert aggregate.optimality_gap(np.array([[0.5, 1.5]])) == 0.25  # 1 - mean(0.5, min(1.5, 1))
    odd = np.array([[10.0, 1.0, 2.0, 3.0, 4.0, -50.0]])  # n = 6: drop int(1.5) = 1 from each end
    assert aggregate.iqm(odd) == pytest.approx((1 + 2 + 3 + 4) / 4)


def test_probability_of_improvement_by_hand() -> None:
    x = np.array([[3.0, 5.0], [1.0, 5.0]])
    y = np.array([[2.0, 5.0], [0.0, 4.0]])
    # Task 1, x (3, 1) vs y (2, 0): pairs (3,2) (3,0) (1,0) win, (1,2) loses: 3/4.
    # Task 2, x (5, 5) vs y (5, 4): two ties count 1/2 each, two wins: (0.5 + 1 + 0.5 + 1) / 4 = 3/4.
    assert aggregate.improvement_probability(x, y) == pytest.approx(0.75)
    assert aggregate.improvement_probability(y, x) == pytest.approx(0.25)
    assert aggregate.improvement_probability(x, x) == 0.5


def test_stratified_bootstrap_keeps_each_task_s_runs_and_brackets_the_estimate() -> None:
    rng = np.random.default_rng(0)
    scores = np.stack([rng.normal(0, 1, 5), rng.normal(100, 1, 5)], axis=1)  # two tasks far apart
    boot = aggregate._resample(scores, 200, np.random.default_rng(1))
    assert set(np.unique(boot[:, :, 0])) <= set(scores[:, 0]) and set(np.unique(boot[:, :, 1])) <= set(scores[:, 1])
    # Stratified: each task draws its runs on its own. A whole-run bootstrap draws one run for every task, so
    # run i's two scores would always stay together; here a drawn pair is one run's only 1 time in 5.
    runs = [np.argsort(scores[:, t])[np.searchsorted(np.sort(scores[:, t]), boot[:, :, t])] for t in (0, 1)]
    assert (runs[0] == runs[1]).mean() == pytest.approx(1 / 5, abs=0.03)
    iv = aggregate.interval(scores, aggregate.mean, reps=2000)
    assert iv.low < iv.value < iv.high and iv.value == pytest.approx(scores.mean())
    constant = aggregate.interval(np.ones((3, 2)), aggregate.iqm, reps=500)
    assert constant.value == constant.low == constant.high == 1.0
    with pytest.raises(ValueError, match="NaN"):
        aggregate.interval(np.array([[1.0, np.nan]]), aggregate.mean)


def test_mean_interval_is_student_t() -> None:
    iv = aggregate.mean_interval(np.array([1.0, 2.0, 3.0]))
    # t(0.975, 2 dof) = 4.3027 (any t table); sd = 1, n = 3.
    assert iv.value == 2.0 and iv.high - 2.0 == pytest.approx(4.3027 / math.sqrt(3), abs=1e-4)
    assert math.isnan(aggregate.mean_interval(np.array([5.0])).low)


def test_performance_profile_by_hand() -> None:
    scores = np.array([[0.0, 0.5], [1.0, 1.5]])
    assert list(aggregate.profile(scores, np.array([0.25, 1.0]))) == [0.75, 0.25]


def _scores() -> pd.DataFrame:
    rows = []
    # Two seeds of none and reset on A -> B -> A; "end" and "start" chosen by hand.
    table = {
        ("none", 0): [(1.0, 0.0), (2.0, 0.5), (4.0, 3.0)],
        ("none", 1): [(1.0, 0.0), (3.0, 1.0), (5.0, 2.0)],
        ("reset", 0): [(1.0, 0.0), (3.0, 0.0), (3.0, 0.0)],
        ("reset", 1): [(1.0, 0.0), (2.0, 0.0), (4.0, 0.0)],
    }
    for (method, seed), visits in table.items():
        for phase, (end, start) in enumerate(visits):
            task = "AB"[phase % 2]
            rows.append(
                {
                    "method": method,
                    "seed": seed,
                    "phase": phase,
                    "task": task,
                    "visit": 1 + phase // 2,
                    "end": end,
                    "start": start,
                    "auc": end / 2,
                }
            )
    return pd.DataFrame(rows)


def test_paired_gap_forgetting_and_forward_transfer_by_hand() -> None:
    scores = _scores()
    gap = continual.paired(scores, "none", "reset", "end")
    assert gap[gap["phase"] == 1]["diff"].tolist() == [-1.0, 1.0]  # seed 0: 2-3, seed 1: 3-2
    assert gap[gap["phase"] == 2]["diff"].tolist() == [1.0, 1.0]
    forgetting = continual.forgetting(scores)
    none = forgetting[forgetting["method"] == "none"]
    assert none["phase"].tolist() == [2, 2] and none["forgetting"].tolist() == [1.0 - 3.0, 1.0 - 2.0]
    transfer = continual.forward_transfer(scores, "none")
    assert transfer[transfer["phase"] == 2]["diff"].tolist() == [0.5, 0.5]
    assert continual.per_seed_mean(gap, "diff").tolist() == [0.0, 2.0 / 3.0]


def test_later_gap_averages_phases_after_the_first_per_seed_by_hand() -> None:
    from rlplastic.report.leaderboard import later_gap

    scores = _scores().assign(n_end=lambda d: d["end"])
    # seed 0: phases 1, 2 give (2-3, 4-3) -> mean 0; seed 1: (3-2, 5-4) -> mean 1; phase 0 (equal) is left out
    assert later_gap(scores, "none").tolist() == [0.0, 1.0]
    interval = aggregate.mean_interval(later_gap(scores, "none"))
    half = 12.706 * math.sqrt(0.5) / math.sqrt(2)  # t(0.975, 1 dof) * sample std / sqrt(n)
    assert interval.value == pytest.approx(0.5) and interval.high - 0.5 == pytest.approx(half, rel=1e-3)
