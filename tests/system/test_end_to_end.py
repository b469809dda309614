"""The CLI end to end on tiny budgets with the real environments (ale-py, MinAtar) and TensorBoard."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rlplastic.run.cli import main

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "suite,tasks",
    [
        ("minatar", ["Breakout", "SpaceInvaders", "Freeway", "Asterix", "Seaquest"]),
        ("atari", ["SpaceInvaders", "BeamRider", "MsPacman"]),
    ],
)
def test_fire_runs_with_its_baselines_and_writes_a_leaderboard(
    suite: str, tasks: list[str], tiny: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if suite == "minatar":  # MinAtar episodes are short enough to finish within a tiny budget
        tiny = [*tiny, "--set", "budget.steps_per_phase=1024"]
    code = main(["--suite", suite, "--method", "fire", "--out", str(tmp_path), "--quiet", *tiny])
    out = capsys.readouterr().out
    assert code == 0
    assert "NOT research results" in out
    group = tmp_path / suite / next(p.name for p in (tmp_path / suite).iterdir())
    for method in ("none", "reset", "fire"):
        run = group / method / "seed_0"
        assert (run / "DONE").exists()
        config = json.loads((run / "config.json").read_text())
        assert config["method"] == method and config["tasks"] == tasks
        metrics = pd.read_csv(run / "metrics.csv")
        assert sorted(set(metrics["phase"])) == list(range(len(tasks)))
        events = EventAccumulator(str(run / "tensorboard"))
        events.Reload()
        assert {"train/policy_loss", "speed/steps_per_s"} <= set(events.Tags()["scalars"])
        episodes = pd.read_csv(run / "episodes.csv")
        assert list(episodes.columns) == ["phase", "task", "step", "start", "return", "length"]
        # Envs step in lockstep (8 here): an episode began ``length`` vector steps before it ended.
        assert (episodes["start"] == episodes["step"] - 8 * episodes["length"]).all()
        if suite == "minatar":
            assert set(episodes["task"]) == set(tasks) - {"Freeway"}  # Freeway lasts 2,500 steps
    board = (group / "leaderboard.md").read_text()
    for method in ("| none |", "| reset |", "| fire |"):
        assert method in board
    assert ("human-normalised" in board) == (suite == "atari")
    assert (group / "curves.png").stat().st_size > 0
    assert len(pd.read_csv(group / "leaderboard.csv")) == 3 * len(tasks)
    # A second call reuses every finished run instead of training again.
    assert main(["--suite", suite, "--method", "fire", "--out", str(tmp_path), "--quiet", *tiny]) == 0
    assert capsys.readouterr().out.count(" reused ") == 3


def test_same_seed_same_numbers(tiny: list[str], tmp_path: Path) -> None:
    args = [
        "--suite",
        "minatar",
        "--method",
        "fire",
        "--no-baselines",
        "--quiet",
        *tiny,
        "--set",
        "budget.steps_per_phase=512",
    ]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    a, b = (next((tmp_path / d).rglob("seed_0")) for d in ("a", "b"))
    assert (a / "episodes.csv").read_text() == (b / "episodes.csv").read_text()
    assert (a / "metrics.csv").read_text().count("\n") > 1
    assert (a / "metrics.csv").read_text() == (b / "metrics.csv").read_text()


def test_user_suite_file(tiny: list[str], tmp_path: Path) -> None:
    suite = tmp_path / "two_games.toml"
    suite.write_text(
        'name = "two"\nenv = "minatar"\nagent = "ppo"\ntasks = ["Asterix", "Breakout"]\n'
        "[budgets.smoke]\nsteps_per_phase = 256\ncycles = 2\n"
        '[agent_options]\nencoder = "minatar_cnn"\nobs_scale = 1.0\nclip_reward = false\n'
    )
    assert (
        main(
            [
                "--suite",
                str(suite),
                "--method",
                "none",
                "--no-baselines",
                "--quiet",
                "--out",
                str(tmp_path),
                *tiny[:-2],
            ]
        )
        == 0
    )
    config = json.loads(next(tmp_path.rglob("config.json")).read_text())
    assert config["suite"] == "two" and config["tasks"] == ["Asterix", "Breakout"] and config["cycles"] == 2


def test_parallel_jobs_give_the_serial_records_under_the_same_thread_count(
    tiny: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep_threads
) -> None:
    """``--jobs N`` splits the cores, so each run trains with fewer torch threads than under ``--jobs 1``, and the
    thread count changes a run's numbers. With one thread per run on both sides (1 core for ``--jobs 1``, 2 cores
    split by ``--jobs 2``) a run's records do not depend on the process it trained in; each run's config.json
    says under how many threads it trained."""
    args = ["--suite", "minatar", "--method", "fire", "--no-baselines", "--seeds", "2", "--quiet", *tiny]
    args += ["--set", "budget.steps_per_phase=256"]
    for jobs in (1, 2):
        monkeypatch.setattr(os, "cpu_count", lambda cores=jobs: cores)  # the executor gives cores // jobs each
        assert main([*args, "--jobs", str(jobs), "--out", str(tmp_path / str(jobs))]) == 0
    serial = sorted((tmp_path / "1").rglob("DONE"))
    assert len(serial) == 2
    for done in serial:
        folders = (done.parent, tmp_path / "2" / done.parent.relative_to(tmp_path / "1"))
        assert [json.loads((f / "config.json").read_text())["numerics"]["threads"] for f in folders] == [1, 1]
        for name in ("episodes.csv", "metrics.csv", "diagnostics.csv"):
            assert (folders[1] / name).read_text() == (folders[0] / name).read_text(), name


TINY_CONTINUOUS = {
    "sac": [
        *["--set", "agent.learning_starts=64", "--set", "agent.batch_size=32", "--set", "agent.buffer_size=4000"],
        *["--set", "agent.log_interval=64"],
    ],
    "ppo": ["--set", "agent.num_steps=64", "--set", "agent.num_minibatches=2", "--set", "agent.update_epochs=1"],
}
TINY_CONTINUOUS["sb3_sac"] = TINY_CONTINUOUS["sac"]  # SB3's SAC reads our SAC's options


@pytest.mark.parametrize(
    "suite,agent,method",
    [
        ("humanoid", "sac", "fire"),
        ("walker", "sac", "lnwd+fire"),
        ("slippery", "sac", "dash"),
        ("walker", "ppo", "fire"),
        ("walker", "sb3_sac", "fire"),  # SB3's own SAC (agents/sb3), the suite's [agents.sac] settings
    ],
)
def test_continuous_suites_run_every_agent(
    suite: str, agent: str, method: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny = [*TINY_CONTINUOUS[agent], "--set", "budget.steps_per_phase=128"]
    if agent != "ppo":
        tiny += ["--set", "dash.batches=2", "--set", "dash.batch_size=32"] if method == "dash" else []
    args = ["--suite", suite, "--agent", agent, "--method", method, "--out", str(tmp_path), "--quiet", "--no-baselines"]
    assert main([*args, *tiny]) == 0
    run = next((tmp_path / suite).glob(f"*/{method}*/seed_0"))
    config = json.loads((run / "config.json").read_text())
    assert config["agent"] == agent and (run / "DONE").exists()
    if agent == "sb3_sac":  # the walker table's CleanRL delay (2) is not read: config.json records what ran
        assert config["agent_options"]["policy_frequency"] == 1 and config["agent_options"]["q_lr"] == 1e-3
    metrics = pd.read_csv(run / "metrics.csv")
    assert sorted(set(metrics["phase"])) == list(range(len(config["tasks"])))
    loss = "policy_loss" if agent == "ppo" else "critic_loss"
    assert metrics[loss].notna().any()
    if suite == "slippery":  # each phase's dynamics are recorded with the run
        assert config["variants"]["walk-friction0.1"] == {
            "task": "quadruped-walk",
            "env": {"friction": 0.1},
            "permute_obs": -1,
            "permute_actions": -1,
            "random_reward": -1,
            "reward_scale": 1.0,
        }
