"""Numbers the leaderboard shows, on synthetic run folders with a known answer: every configuration its own row,
every cell its n, no interval from one seed, non-recovery visible, runs of other numerics flagged, and damaged
folders refused in one line with nothing written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rlplastic.metrics import aggregate
from rlplastic.metrics import dynamics as dyn
from rlplastic.report import commands as report
from rlplastic.report import leaderboard
from rlplastic.report.commands import main
from rlplastic.report.synthetic import write_run

LEVELS = [10.0] * 4
GROUP = Path("suite") / "ppo-short"
FIRE5 = {"method_options": {"fire": {"iters": 5}}, "method_tag": "e612238d"}


def _table(out: Path) -> str:
    ((text, _),) = report.build(out, report.Options(reps=500, figures=False))
    return text


def _rows(text: str, section: str) -> dict[str, list[str]]:
    """The Markdown table under ``section`` as {first cell: other cells}."""
    body = text.split(f"### {section}")[1].split("###")[0]
    rows = [line.strip("|").split(" | ") for line in body.splitlines() if line.startswith("| ")]
    return {r[0].strip(): [c.strip() for c in r[1:]] for r in rows[1:]}


def test_two_configurations_of_a_method_are_two_rows(tmp_path: Path) -> None:
    for seed in range(3):
        write_run(tmp_path, "reset", seed, LEVELS)
        write_run(tmp_path, "fire", seed, LEVELS)
    for seed in range(5):  # the same seeds as default fire too: once a pandas traceback
        write_run(tmp_path, "fire", seed, [12.0] * 4, folder="fire-e612238d", **FIRE5)
    text = _table(tmp_path)
    rows = _rows(text, "Aggregate over phases")
    assert rows["fire"][0] == "3" and rows["fire[iters=5]"][0] == "5"
    scores = pd.read_csv(tmp_path / GROUP / "scores.csv")
    assert scores.groupby("method")["seed"].nunique().to_dict() == {"fire": 3, "fire[iters=5]": 5, "reset": 3}
    # iters=5 runs score higher by construction: merged into one row, fire would sit between the two.
    ends = scores.groupby("method")["n_end"].mean()
    assert ends["fire[iters=5]"] > ends["fire"] + 0.1


def test_a_configuration_in_two_folders_is_refused_in_one_line(tmp_path: Path, capsys) -> None:
    write_run(tmp_path, "reset", 0, LEVELS)
    write_run(tmp_path, "fire", 0, LEVELS, **FIRE5)
    write_run(tmp_path, "fire", 0, LEVELS, folder="fire-e612238d", **FIRE5)
    assert main(["table", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "both seed 0 of fire" in err
    assert not list(tmp_path.rglob("leaderboard.md"))


def test_every_cell_states_its_seeds(tmp_path: Path) -> None:
    for seed in range(5):
        write_run(tmp_path, "none", seed, LEVELS)
    for seed in range(3):
        write_run(tmp_path, "reset", seed, LEVELS)
    text = _table(tmp_path)
    gap = _rows(text, "Plasticity gap against reset, per phase")
    assert gap["none"][0] == "3"  # paired seeds, not none's 5
    end = _rows(text, "End-of-phase score, per phase")
    assert end["none"][0] == "5" and end["reset"][0] == "3"
    assert "Methods ran different seeds (none: 0-4; reset: 0-2)" in text
    table = pd.read_csv(tmp_path / GROUP / "leaderboard.csv").set_index(["method", "phase"])
    assert (table.loc["none", "gap_vs_reset_n"] == 3).all() and (table.loc["none", "end_n"] == 5).all()
    agg = pd.read_csv(tmp_path / GROUP / "aggregates.csv").set_index(["method", "metric"])
    assert agg.loc[("none", "IQM"), "n"] == 5 and agg.loc[("none", "P(> reset)"), "n"] == 3


def test_a_phase_without_episodes_is_missing_with_its_n(tmp_path: Path) -> None:
    for seed in range(3):
        write_run(tmp_path, "reset", seed, LEVELS)
        run = write_run(tmp_path, "none", seed, LEVELS)
    episodes = pd.read_csv(run / "episodes.csv")  # seed 2 of none: no episode ends in phase 3
    episodes[episodes["phase"] != 2].to_csv(run / "episodes.csv", index=False)
    text = _table(tmp_path)
    end = _rows(text, "End-of-phase score, per phase")["none"]
    assert end[0] == "3" and end[3].endswith("(n=2)") and "(n=" not in end[1]
    scores = pd.read_csv(tmp_path / GROUP / "scores.csv")
    judged = scores[(scores["method"] == "none") & (scores["phase"] == 2)]
    assert judged["secondary_plateau"].isna().sum() == 1  # no curve: not judged, never counted as "no plateau"


def test_non_recovery_is_visible_not_dropped(tmp_path: Path) -> None:
    for seed in range(3):
        write_run(tmp_path, "reset", seed, LEVELS)
        write_run(tmp_path, "dash", seed, [10.0, 2.0, 2.0, 2.0], rise=0.0)  # never near reset after a switch
    text = _table(tmp_path)
    dynamics = _rows(text, "Training dynamics after a switch")
    assert dynamics["dash"][4] == "not reached" and dynamics["dash"][5].endswith("(0/9)")
    assert dynamics["reset"][5].endswith("(9/9)") and dynamics["reset"][4] != "not reached"


def test_one_seed_prints_no_interval(tmp_path: Path) -> None:
    for method in ("none", "reset", "fire"):
        write_run(tmp_path, method, 0, LEVELS)
    text = _table(tmp_path)
    assert "(n=1)" in text
    intervals = re.findall(r"\[(-?[\d.,]+), (-?[\d.,]+)\]", text.split("### Training dynamics")[0])
    assert not intervals  # no bracket anywhere before the dynamics (whose shares count phases, not seeds)
    agg = pd.read_csv(tmp_path / GROUP / "aggregates.csv")
    assert agg["low"].isna().all() and (agg["n"] == 1).all()


def test_runs_of_other_numerics_are_flagged(tmp_path: Path) -> None:
    one = {"threads": 1, "cpu_capability": "AVX2", "torch": "2.13.0"}
    for seed in range(2):
        write_run(tmp_path, "reset", seed, LEVELS, numerics=one | {"threads": 2})
        write_run(tmp_path, "fire", seed, LEVELS, numerics=one)
    text = _table(tmp_path)
    assert "**Runs differ in numerics**" in text and "2, AVX2, 2.13.0: reset 0, 1" in text


def test_plots_draw_no_bar_from_one_seed(tmp_path: Path) -> None:
    for method in ("none", "reset"):
        write_run(tmp_path, method, 0, LEVELS)
    ((_, written),) = report.build(tmp_path, report.Options(reps=200, tables=False))
    assert {p.name for p in written} >= {"gap.png", "aggregates.png", "profiles.png", "curves.png"}


def _damage(run: Path, what: str) -> None:
    if what in ("steps_per_phase", "scores", "tasks"):
        config = json.loads((run / "config.json").read_text())
        config[what] = {"steps_per_phase": "x", "scores": "bogus", "tasks": []}[what]
        (run / "config.json").write_text(json.dumps(config))
    elif what == "episode value":
        text = (run / "episodes.csv").read_text().splitlines()
        text[5] = ",".join([*text[5].split(",")[:4], "oops", "10"])
        (run / "episodes.csv").write_text("\n".join(text) + "\n")
    elif what == "cut line":
        (run / "episodes.csv").write_text((run / "episodes.csv").read_text()[:-5])
    else:
        header = "phase,step,when,network,layer,quantity,value" if what == "diagnostic value" else "a,b,c"
        (run / "diagnostics.csv").write_text(f"{header}\n0,10,cadence,q,all,dormant,x\n")


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("steps_per_phase", "'steps_per_phase' is 'x', not a whole number"),
        ("scores", "'scores' is 'bogus'"),
        ("tasks", "'tasks' is [], not a non-empty list"),
        ("episode value", "column 'return' holds 'oops', not a number"),
        ("cut line", "its last line is cut"),
        ("diagnostic value", "column 'value' holds 'x', not a number"),
        ("diagnostic header", "has no 'phase' column"),
    ],
)
def test_a_damaged_finished_run_is_refused_in_one_line(tmp_path: Path, capsys, what: str, message: str) -> None:
    for seed in range(2):
        write_run(tmp_path, "reset", seed, LEVELS)
    _damage(tmp_path / GROUP / "reset" / "seed_1", what)
    for command in ("table", "plot"):
        assert main([command, "--out", str(tmp_path)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err
    assert not list(tmp_path.rglob("leaderboard.md")) and not list(tmp_path.rglob("*.png"))


def test_numbers_never_print_as_minus_zero() -> None:
    assert leaderboard._num(-0.001, 2) == "0.00" and leaderboard._num(-0.004, 2) == "0.00"
    assert leaderboard._num(-0.006, 2) == "-0.01" and leaderboard._num(-1234.4, 0) == "-1,234"


def test_wilson_interval_by_hand() -> None:
    # 0 of 10 with z = 1.96: upper bound z^2 / (n + z^2) = 3.8415 / 13.8415 = 0.2775 (Wilson 1927; any table).
    none = aggregate.wilson(0, 10)
    assert none.value == 0.0 and none.low == 0.0 and none.high == pytest.approx(0.2775, abs=1e-4)
    every = aggregate.wilson(10, 10)
    assert every.high == pytest.approx(1.0) and every.low == pytest.approx(1 - 0.2775, abs=1e-4) and every.n == 10
    assert np.isnan(aggregate.wilson(0, 0).value)


def test_censored_median_by_hand() -> None:
    assert dyn.censored_median(np.array([10.0, 20.0, 30.0, np.nan]), np.array([0, 0, 0, 1])) == 25.0
    assert dyn.censored_median(np.array([10.0, 20.0, np.nan, np.nan]), np.array([0, 0, 1, 1])) == np.inf
    # Dropping the censored ones would give 15: faster than a method whose every phase recovered in 25.
    assert dyn.censored_median(np.array([10.0, np.nan, 20.0]), np.array([0, 1, 0])) == 20.0


def test_step_counts_stay_inside_the_phase() -> None:
    iv = aggregate.mean_interval(np.array([0.0, 0.0, 3000.0]), bounds=(0.0, 100_000.0))
    assert iv.low == 0.0 and iv.high > iv.value > 0


def test_scores_that_cannot_be_normalised_get_no_aggregate(tmp_path: Path) -> None:
    for seed in range(2):
        write_run(tmp_path, "reset", seed, [0.0] * 4, rise=0.0, noise=0.0)  # reset scores 0: nothing to divide by
        write_run(tmp_path, "fire", seed, LEVELS)
    text = _table(tmp_path)
    assert "raw returns (not normalised" in text and "No aggregate: scores are not normalised." in text
    assert "### Aggregate over phases" not in text
