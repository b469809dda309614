"""``table --select best``: each method's configuration is chosen on the tuning seeds alone and every reported
number comes from the evaluation seeds alone; what would mislead is refused in one line. Synthetic run folders
(``report/synthetic.py``) make the right answer known: dash[lam=0.1] is better on the tuning seeds 0-1, dash
[lam=0.3] on the evaluation seeds 2-3, so a selection that peeked at the evaluation seeds would pick lam=0.3."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rlplastic.report.commands import main
from rlplastic.report.results import by_experiment, find_runs
from rlplastic.report.select import format_seeds, parse_seeds
from rlplastic.report.synthetic import write_run

STEPS = 100_000


def _dash(out: Path, lam: float, seed: int, later: float) -> None:
    tag = {0.1: "aaaa1111", 0.3: "bbbb2222"}[lam]
    write_run(
        out, "dash", seed, [10.0, later], folder=f"dash-{tag}", method_options={"dash": {"lam": lam}}, method_tag=tag
    )


@pytest.fixture
def out(tmp_path: Path) -> Path:
    for seed in range(4):
        write_run(tmp_path, "none", seed, [10.0, 6.0])
        write_run(tmp_path, "reset", seed, [10.0, 10.0])
        tuning = seed < 2
        _dash(tmp_path, 0.1, seed, 12.0 if tuning else 4.0)
        _dash(tmp_path, 0.3, seed, 5.0 if tuning else 20.0)
    return tmp_path


def _selected(out: Path) -> Path:
    return out / "suite" / "ppo-short" / "selected"


def _hand_end(run: Path, phase: int) -> float:
    """The end-of-phase score by its definition: the mean return of the episodes ending in the last 5 % of the
    phase."""
    episodes = pd.read_csv(run / "episodes.csv")
    end = (phase + 1) * STEPS
    return float(episodes.loc[(episodes["step"] > end - 0.05 * STEPS) & (episodes["step"] <= end), "return"].mean())


def test_choice_uses_tuning_seeds_and_numbers_use_evaluation_seeds(out: Path, capsys) -> None:
    rc = main(["table", "--out", str(out), "--select", "best", "--tune-seeds", "0-1", "--eval-seeds", "2-3"])
    assert rc == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    assert "| dash | 2 | lam=0.1 |" in text  # chosen on seeds 0-1, although lam=0.3 is far better on 2-3
    assert "Selected on tuning seeds 0-1, reported on evaluation seeds 2-3 only." in text
    scores = pd.read_csv(_selected(out) / "scores.csv")
    assert set(scores["seed"]) == {2, 3} and set(scores["method"]) == {"none", "reset", "dash"}
    dash = scores[(scores["method"] == "dash") & (scores["phase"] == 1)].set_index("seed")["end"]
    for seed in (2, 3):  # lam=0.1's own runs of the evaluation seeds, not lam=0.3's
        expected = _hand_end(out / "suite" / "ppo-short" / "dash-aaaa1111" / f"seed_{seed}", 1)
        assert dash[seed] == pytest.approx(expected)
    selection = pd.read_csv(_selected(out) / "selection.csv")
    chosen = selection[selection["chosen"]].set_index("method")["label"]
    assert chosen["dash"] == "dash[lam=0.1]" and chosen["reset"] == "reset"
    assert (selection["n"] == 2).all()
    assert not (out / "suite" / "ppo-short" / "leaderboard.md").exists()  # the full board is not rewritten


def test_tuning_score_is_the_later_phases_mean_over_pooled_task_divisors(out: Path) -> None:
    """By hand: the score of a run is its phase-2 end score divided by the mean |end| of every tuning run on
    task B (the first phase is left out); the configuration's score is the mean over its tuning seeds."""
    from rlplastic.report.select import Protocol, choose

    (runs,) = by_experiment(find_runs(out)[0]).values()
    _, table = choose(runs, Protocol((0, 1), (2, 3)), 0.05)
    group = out / "suite" / "ppo-short"
    tuning = [
        group / name / f"seed_{s}" for name in ("none", "reset", "dash-aaaa1111", "dash-bbbb2222") for s in (0, 1)
    ]
    divisor = np.mean([abs(_hand_end(run, 1)) for run in tuning])
    lam01 = np.mean([_hand_end(group / "dash-aaaa1111" / f"seed_{s}", 1) / divisor for s in (0, 1)])
    assert table.set_index("label").loc["dash[lam=0.1]", "mean"] == pytest.approx(lam01)


def test_sensitivity_plot_is_written(out: Path) -> None:
    args = ["--out", str(out), "--select", "best", "--tune-seeds", "0,1", "--eval-seeds", "2-3"]
    assert main(["plot", *args]) == 0
    assert (_selected(out) / "sensitivity.png").stat().st_size > 0


@pytest.mark.parametrize(
    "args,message",
    [
        (["--tune-seeds", "0-2", "--eval-seeds", "2-3"], "seed(s) 2 are in both --tune-seeds and --eval-seeds"),
        (["--tune-seeds", "0", "--eval-seeds", "2-3"], "is one seed"),
        (["--tune-seeds", "0-1"], "--select best needs --eval-seeds"),
        (["--tune-seeds", "0-x", "--eval-seeds", "2"], "write seeds as 0-2,5"),
        (["--tune-seeds", "0-1", "--eval-seeds", "4"], "none has no finished run of evaluation seed(s) 4"),
        (["--tune-seeds", "0-1", "--eval-seeds", "2-4"], "has no finished run of evaluation seed(s) 4; every number"),
        (["--tune-seeds", "0-2", "--eval-seeds", "3"], "has no finished run of tuning seed(s) 2"),
    ],
)
def test_misleading_selections_are_refused_in_one_line(out: Path, capsys, args: list[str], message: str) -> None:
    for run in (out / "suite" / "ppo-short").glob("dash-*/seed_2"):  # seed 2: evaluation only where it is kept
        (run / "DONE").unlink()
    (out / "suite" / "ppo-short" / "dash-aaaa1111" / "seed_2" / "DONE").write_text("{}")
    assert main(["table", "--out", str(out), "--select", "best", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not _selected(out).exists()


def test_unequal_tuning_budgets_are_refused_unless_allowed(out: Path, capsys) -> None:
    for seed in range(4):
        write_run(out, "fire", seed, [10.0, 9.0])  # one configuration against dash's two
    args = ["table", "--out", str(out), "--select", "best", "--tune-seeds", "0-1", "--eval-seeds", "2-3"]
    assert main(args) == 2
    assert "unequal numbers of configurations (dash 2, fire 1)" in capsys.readouterr().err
    assert main([*args, "--allow-unequal-tuning"]) == 0
    assert "**Unequal tuning budgets**" in capsys.readouterr().out


def test_one_tuning_seed_when_allowed_is_said(out: Path, capsys) -> None:
    args = ["--select", "best", "--tune-seeds", "0", "--eval-seeds", "1", "--allow-one-tuning-seed"]
    assert main(["table", "--out", str(out), *args]) == 0
    text = capsys.readouterr().out
    assert "**Tuned on one seed**" in text and "| dash | 2 | lam=0.1 |" in text
    assert set(pd.read_csv(_selected(out) / "scores.csv")["seed"]) == {1}


def test_selection_flags_need_select(out: Path, capsys) -> None:
    assert main(["table", "--out", str(out), "--tune-seeds", "0-1"]) == 2
    assert "--tune-seeds needs --select best" in capsys.readouterr().err


def test_seed_sets_round_trip() -> None:
    assert parse_seeds("0-2,5", "--x") == (0, 1, 2, 5)
    assert format_seeds((5, 0, 1, 2)) == "0-2,5"


def test_a_tagged_run_of_the_default_configuration_is_the_same_row(out: Path) -> None:
    """A swept point at the default value is the configuration of the untagged folder: one label, so the same
    seed in both folders is refused instead of counted twice."""
    write_run(out, "dash", 0, [10.0, 12.0])  # plain dash (options as lam=0.3's, untagged)
    for run in (out / "suite" / "ppo-short").glob("*/seed_0/config.json"):
        if "dash" in str(run):
            text = run.read_text().replace('"method_options": {"dash": {}}', '"method_options": {"dash": {"lam": 0.3}}')
            run.write_text(text)
    with pytest.raises(Exception, match="both seed 0 of dash"):
        by_experiment(find_runs(out)[0])


def test_swept_agent_options_share_one_board_as_configurations(tmp_path: Path) -> None:
    for lr in (0.001, 0.0003):
        tag = f"t{lr}"
        extra = {"agent_options": {"learning_rate": lr, "gamma": 0.99}, "swept_agent": ["learning_rate"]}
        write_run(tmp_path, "none", 0, [10.0, 6.0], folder=f"none-{tag}", method_tag=tag, **extra)
    (runs,) = by_experiment(find_runs(tmp_path)[0]).values()
    assert sorted(r.label for r in runs) == ["none[agent.learning_rate=0.0003]", "none[agent.learning_rate=0.001]"]
    assert {r.row_settings for r in runs} == {(("agent.learning_rate", 0.001),), (("agent.learning_rate", 0.0003),)}


def test_a_tuning_run_without_a_score_is_refused_not_dropped(out: Path, capsys) -> None:
    """A seed with no episode in a scored phase would leave its configuration judged on fewer seeds."""
    run = out / "suite" / "ppo-short" / "dash-aaaa1111" / "seed_0"
    episodes = pd.read_csv(run / "episodes.csv")
    episodes[episodes["phase"] == 0].to_csv(run / "episodes.csv", index=False)
    assert main(["table", "--out", str(out), "--select", "best", "--tune-seeds", "0-1", "--eval-seeds", "2-3"]) == 2
    assert "dash[lam=0.1] seed 0 has no tuning score" in capsys.readouterr().err


def test_a_board_of_swept_resets_says_why_it_has_no_reference(tmp_path: Path, capsys) -> None:
    for lr in (0.001, 0.0003):
        extra = {"agent_options": {"learning_rate": lr}, "swept_agent": ["learning_rate"], "method_tag": f"t{lr}"}
        for method in ("none", "reset"):
            write_run(tmp_path, method, 0, [10.0, 6.0], folder=f"{method}-t{lr}", **extra)
    assert main(["table", "--out", str(tmp_path)]) == 0
    assert "reset ran in 2 configurations" in capsys.readouterr().out


def test_ties_are_said_and_the_first_label_kept(tmp_path: Path, capsys) -> None:
    for seed in range(3):
        write_run(tmp_path, "none", seed, [10.0, 6.0])
        write_run(tmp_path, "reset", seed, [10.0, 10.0])
        for lam, tag in ((0.1, "aaaa1111"), (0.3, "bbbb2222")):  # one method name and seed: the same episodes
            options = {"method_options": {"dash": {"lam": lam}}, "method_tag": tag}
            write_run(tmp_path, "dash", seed, [10.0, 8.0], folder=f"dash-{tag}", **options)
    assert main(["table", "--out", str(tmp_path), "--select", "best", "--tune-seeds", "0-1", "--eval-seeds", "2"]) == 0
    text = capsys.readouterr().out
    assert (
        "**Tied tuning scores** (the first label in sorted order is kept): dash: dash[lam=0.1], dash[lam=0.3]" in text
    )
    assert "| dash | 2 | lam=0.1 |" in text
