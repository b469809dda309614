"""--sweep: a grid over method and agent options, each point its own run folders on one shared leaderboard; bad
sweeps are one-line errors before anything trains. Planning only, nothing trains."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from rlplastic.run import cli, estimate, sweep
from rlplastic.run.plan import RunConfig, plan


def by_method(configs: list[RunConfig]) -> dict[str, list[RunConfig]]:
    out: dict[str, list[RunConfig]] = {}
    for config in configs:
        out.setdefault(config.method, []).append(config)
    return out


def group(config: RunConfig) -> Path:
    return config.relative_dir().parent.parent


def test_a_method_sweep_plans_each_point_per_seed_and_the_baselines_once() -> None:
    configs = plan("minatar", ["none", "reset", "dash"], [0, 1], "smoke", {}, sweep={"dash.lam": [0.1, 0.3]})
    runs = by_method(configs)
    assert {m: len(c) for m, c in runs.items()} == {"none": 2, "reset": 2, "dash": 4}
    dash = runs["dash"]
    assert sorted((c.method_options["dash"]["lam"], c.seed) for c in dash) == [(0.1, 0), (0.1, 1), (0.3, 0), (0.3, 1)]
    assert len({c.relative_dir() for c in dash}) == 4  # each point and seed its own folder
    assert len({c.relative_dir().parent for c in dash}) == 2  # one method folder per point
    assert all(c.agent_options == configs[0].agent_options and c.env_options == configs[0].env_options for c in dash)
    assert len({group(c) for c in configs}) == 1
    assert all(c.swept_agent == () and "swept_agent" not in c.to_json() for c in configs)
    assert {c.method_options["dash"]["alpha"] for c in dash} == {0.3}  # the other options keep their defaults


def test_an_agent_sweep_gives_every_method_each_point_in_one_experiment_folder() -> None:
    (plain,) = plan("minatar", ["none"], [0], "smoke", {})
    lrs = [1e-3, 3e-4]
    configs = plan("minatar", ["none", "reset", "fire"], [0], "smoke", {}, sweep={"agent.learning_rate": lrs})
    assert {m: len(c) for m, c in by_method(configs).items()} == {"none": 2, "reset": 2, "fire": 2}
    assert {group(c) for c in configs} == {group(plain)}  # one leaderboard, the same as without a sweep
    assert len({c.relative_dir().parent for c in configs}) == 6  # each method's point its own method folder
    for config in configs:
        assert config.swept_agent == ("learning_rate",)
        assert config.to_json()["swept_agent"] == ("learning_rate",)
        assert config.agent_options["learning_rate"] in lrs
    assert [c.agent_options["learning_rate"] for c in configs] == lrs * 3
    assert "swept_agent" not in plain.to_json() and plain.method_tag == ""


def test_method_and_agent_keys_make_a_grid_only_where_they_apply() -> None:
    grid = {"dash.lam": [0.1, 0.3], "agent.learning_rate": [1e-3, 3e-4]}
    configs = plan("minatar", ["none", "reset", "fire", "dash"], [0], "smoke", {}, sweep=grid)
    assert {m: len(c) for m, c in by_method(configs).items()} == {"none": 2, "reset": 2, "fire": 2, "dash": 4}
    dash = {(c.method_options["dash"]["lam"], c.agent_options["learning_rate"]) for c in by_method(configs)["dash"]}
    assert dash == {(0.1, 1e-3), (0.1, 3e-4), (0.3, 1e-3), (0.3, 3e-4)}
    assert len({c.relative_dir() for c in configs}) == len(configs)


def test_a_sweep_point_is_the_same_configuration_as_its_set() -> None:
    pointed = plan("minatar", ["dash"], [0], "smoke", {}, sweep={"dash.lam": [0.1, 0.3]})[0]
    (set_,) = plan("minatar", ["dash"], [0], "smoke", {"dash.lam": 0.1})
    assert pointed.relative_dir() == set_.relative_dir() and pointed.to_json() == set_.to_json()
    (one,) = plan("minatar", ["dash"], [0], "smoke", {}, sweep={"dash.lam": [1]})  # coerced like --set: 1 -> 1.0
    (other,) = plan("minatar", ["dash"], [0], "smoke", {"dash.lam": 1.0})
    assert one.relative_dir() == other.relative_dir()


def test_an_agent_point_is_tagged_in_the_method_folder_not_the_experiment_folder() -> None:
    (swept,) = plan("minatar", ["none"], [0], "smoke", {}, sweep={"agent.learning_rate": [1e-3]})
    (set_,) = plan("minatar", ["none"], [0], "smoke", {"agent.learning_rate": 1e-3})
    assert set_.group_tag and set_.method_tag == ""  # --set: an experiment of its own, as before
    assert swept.group_tag == "" and swept.method_tag
    assert swept.agent_options == set_.agent_options
    (both,) = plan("minatar", ["dash"], [0], "smoke", {}, sweep={"agent.learning_rate": [1e-3], "dash.lam": [0.1]})
    assert both.method_tag == sweep_tag({"dash": {"lam": 0.1}, "agent": {"learning_rate": 1e-3}})


def sweep_tag(values: dict) -> str:
    """The method folder's tag, computed here as the layout documents it."""
    return hashlib.sha1(json.dumps(values, sort_keys=True).encode()).hexdigest()[:8]


def test_values_split_on_top_level_commas_and_parse_as_toml() -> None:
    assert sweep.split_values("0.1, [1,2], \"a,b\", 'c'") == ["0.1", "[1,2]", '"a,b"', "'c'"]
    parsed = sweep.parse_sweeps(["fire.at_steps=[1,2],[3]", "agent.learning_rate=1e-3,3e-4", "fire.linear=a,'b'"])
    assert parsed == {"fire.at_steps": [[1, 2], [3]], "agent.learning_rate": [0.001, 0.0003], "fire.linear": ["a", "b"]}


def test_points_and_description() -> None:
    grid = {"dash.lam": [0.1, 0.3], "fire.iters": [5, 10, 20]}
    assert sweep.points(grid, ["none"]) == [{}]
    assert sweep.points(grid, ["lnwd", "dash"]) == [{"dash.lam": 0.1}, {"dash.lam": 0.3}]
    assert sweep.describe({"dash.lam": [0.1, 0.3]}, {"none": 1, "dash": 2}) == "sweep: dash dash.lam=0.1,0.3 (2 points)"
    scale = {"fire.scale": ["paper", "init"], "agent.learning_rate": [1e-3, 5e-4]}
    assert sweep.describe(scale, {"none": 2, "fire": 4}) == (
        "sweep: none agent.learning_rate=0.001,0.0005 (2 points); "
        "fire fire.scale=paper,init, agent.learning_rate=0.001,0.0005 (4 points)"
    )
    assert sweep.describe(grid, {"dash": 2, "fire": 3}) == (
        "sweep: dash dash.lam=0.1,0.3 (2 points); fire fire.iters=5,10,20 (3 points)"
    )


def test_a_dry_run_lists_every_point(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(estimate, "calibrate", lambda *args: 1000.0)  # no training
    args = ["--suite", "minatar", "--method", "dash", "--sweep", "dash.lam=0.1,0.3", "--seeds", "2", "--dry-run"]
    assert cli.main([*args, "--out", str(tmp_path / "out")]) == 0
    assert not (tmp_path / "out").exists()
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    named = ("none", "reset", "dash", "dash[lam=0.1]")  # the rows name each point by its label
    folders = [row[-1] for row in rows if row[:1] and row[0] in named and row[2] == "train"]
    assert len(folders) == 8 and len(set(folders)) == 8
    assert len({f.split("/")[2] for f in folders if f.split("/")[2].startswith("dash")}) == 2


@pytest.mark.parametrize(
    "args,expected",
    [
        (["--method", "dash", "--set", "dash.lam=0.1", "--sweep", "dash.lam=0.1,0.3"], "is also given with --set"),
        (["--method", "dash", "--sweep", "dash.lam=0.1", "--sweep", "dash.lam=0.3"], "--sweep dash.lam is given twice"),
        (["--method", "dash", "--sweep", "dash.lam=0.1,0.1"], "--sweep dash.lam repeats the value 0.1"),
        (["--sweep", "agent.learning_rate=1e-3,0.001"], "repeats the value 0.001"),
        (["--method", "dash", "--sweep", "dash.lam="], "has an empty value"),
        (["--method", "dash", "--sweep", "dash.lam=0.1,,0.3"], "has an empty value"),
        (["--method", "dash", "--sweep", "dash.lam"], "--sweep 'dash.lam' is malformed"),
        (
            ["--method", "fire", "--sweep", "dash.lam=0.1,0.3"],
            "'dash' is not the agent or a method of this run; valid sections: agent, fire, none, reset",
        ),
        (["--no-baselines", "--sweep", "reset.every=0,5"], "'reset' is not the agent or a method of this run"),
        (["--method", "dash", "--sweep", "dash.lamda=0.1,0.3"], "--sweep dash.lamda: unknown option; valid dash"),
        (["--sweep", "agent.lr=1e-3,3e-4"], "--sweep agent.lr: unknown option; valid agent options: num_envs"),
        (["--sweep", "none.x=1,2"], "--sweep none.x: unknown option; valid none options: none"),
        (["--method", "dash", "--sweep", "dash.lam=0.1,fast"], "--sweep dash.lam='fast': expected a float"),
        (["--method", "dash", "--sweep", "dash.lam=0.1,-0.3"], "dash.lam must be in [0, 1]"),
        (["--sweep", "agent.learning_rate=1e-3,-1"], "agent.learning_rate must be a finite number > 0"),
        (["--sweep", 'suite.tasks=["Breakout"],["Asterix"]'], "--sweep suite.tasks: suite options cannot be swept"),
        (["--sweep", "budget.cycles=1,2"], "budget options cannot be swept (the board compares methods within one"),
        (["--sweep", "env.sticky_action_prob=0,0.1"], "run one command per value with --set env.sticky_action_prob"),
        (["--sweep", "diagnostics.every=1,2"], "--sweep diagnostics.every: diagnostics options cannot be swept"),
    ],
)
def test_bad_sweeps_are_one_line_and_exit_2(
    args: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code = cli.main(["--suite", "minatar", *args, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1, err
    assert expected in err
    assert not (tmp_path / "out").exists()


def test_a_point_at_the_default_is_the_plain_run() -> None:
    """A point equal to what the run would use anyway is that run: same folder, same stored configuration, so a
    sweep around an untuned reference reuses it instead of training it twice."""
    (plain_dash,) = plan("minatar", ["dash"], [0], "smoke", {})
    at_default = plan("minatar", ["dash"], [0], "smoke", {}, sweep={"dash.lam": [0.1, 0.3]})[1]
    assert at_default.method_options["dash"]["lam"] == 0.3 and at_default.relative_dir() == plain_dash.relative_dir()
    assert at_default.to_json() == plain_dash.to_json()
    (plain_none,) = plan("minatar", ["none"], [0], "smoke", {})
    suite_lr = plain_none.agent_options["learning_rate"]
    usual, other = plan("minatar", ["none"], [0], "smoke", {}, sweep={"agent.learning_rate": [suite_lr, 1e-3]})
    assert usual.to_json() == plain_none.to_json() and usual.relative_dir() == plain_none.relative_dir()
    assert other.swept_agent == ("learning_rate",) and group(other) == group(plain_none)


def test_a_sweep_that_changes_the_schedule_is_refused_before_training(tmp_path: Path, capsys) -> None:
    """PPO phases round to whole rollouts: num_steps 128 and 100 would give one board two phase lengths."""
    args = ["--suite", "minatar", "--method", "fire", "--sweep", "agent.num_steps=128,100", "--out", str(tmp_path)]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "the sweep gives one board two schedules" in err and err.count("\n") == 1
