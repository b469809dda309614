"""Bad input: one line naming the problem and the fix, exit code 2, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rlplastic.bench.cli import main


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "args,expected",
    [
        (["--suite", "pong"], "unknown suite 'pong'; valid suites: atari, humanoid, minatar, slippery, walker"),
        (
            ["--suite", "minatar", "--method", "magic"],
            "unknown method 'magic'; valid methods: none, reset, fire",
        ),
        (["--suite", "minatar", "--method", "fire+magic"], "unknown method 'magic'"),
        (
            ["--suite", "minatar", "--budget", "huge"],
            "has no budget 'huge'; its budgets: smoke, short, paper",
        ),
        (["--suite", "minatar", "--set", "agent.learning_rate"], "is malformed"),
        (["--suite", "minatar", "--set", "agent.lr=1"], "unknown option; valid agent options: num_envs"),
        (["--suite", "minatar", "--set", "agent.learning_rate=fast"], "expected a float"),
        (["--suite", "minatar", "--set", "fire.iters=2.5"], "expected a int"),
        (["--suite", "minatar", "--set", "dash.lam=0.1"], "'dash' is not a section of this run"),
        (["--suite", "minatar", "--set", 'suite.tasks=["Pong"]'], "task 'Pong' is not a minatar task"),
        (["--suite", "minatar", "--set", "agent.anneal_lr='cosine'"], "agent.anneal_lr must be"),
        (["--suite", "minatar", "--seeds", "0"], "--seeds and --jobs must be at least 1"),
        (["--suite", "minatar", "--method", "dash", "--set", "dash.lamda=0.1"], "valid dash options: at_switch, every"),
        (["--suite", "minatar", "--method", "redo", "--set", "redo.tau=yes"], "redo.tau='yes': expected a float"),
        (["--suite", "minatar", "--method", "injection+redo"], "'injection' and 'redo' cannot be combined"),
        (["--suite", "minatar", "--method", "ln+lnwd"], "ln, wd and lnwd overlap; use lnwd for both"),
        (["--suite", "minatar", "--method", "fire+fire"], "names a part twice"),
        (["--suite", "minatar", "--bogus"], "unrecognized arguments: --bogus"),
        ([], "--suite is required; valid suites: atari, humanoid, minatar, slippery, walker"),
        (["--suite", "minatar", "--agent", "a2c"], "unknown agent 'a2c'; valid agents: ppo, dqn, sac"),
        (["--suite", "minatar", "--agent", "sac"], "suite 'minatar' defines no options for agent 'sac'"),
        (["--suite", "minatar", "--preset", "fire_dqn"], "suite 'minatar' has no preset 'fire_dqn'; its presets: none"),
        (["--suite", "atari", "--agent", "ppo", "--preset", "fire_dqn"], "preset 'fire_dqn' is for agent 'dqn'"),
        (["--suite", "minatar", "--first-seed", "999", "--seeds", "2"], "seed 1000 is outside 0..999"),
        (
            ["--suite", "minatar", "--agent", "dqn", "--set", "agent.num_steps=4"],
            "unknown option; valid agent options: num_envs, buffer_size",
        ),
        (["--suite", "minatar", "--agent", "dqn", "--set", "agent.loss='l1'"], "agent.loss must be one of mse, huber"),
        (["--suite", "minatar", "--agent", "dqn", "--set", "agent.gradient_steps=0"], "gradient_steps"),
        (
            ["--suite", "minatar", "--agent", "dqn", "--set", "agent.learning_starts=100000"],
            "agent.learning_starts=100000 is not below the run's 81920 steps: the agent would never learn",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli([*args, "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    assert err.count("\n") == 1, err
    assert expected in err
    assert not (tmp_path / "out").exists()


def test_malformed_suite_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('env = "minatar"\ntasks = "Breakout"\n')
    code, _, err = run_cli(["--suite", str(bad), "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and "'tasks' must be a list" in err and err.count("\n") == 1
    broken = tmp_path / "broken.toml"
    broken.write_text("env = [\n")
    code, _, err = run_cli(["--suite", str(broken)], capsys)
    assert code == 2 and "is not valid TOML" in err


def test_an_agent_the_suite_has_no_options_for(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suite = tmp_path / "ppo_only.toml"
    suite.write_text(
        'env = "minatar"\ntasks = ["Breakout"]\n[budgets.smoke]\nsteps_per_phase = 64\ncycles = 1\n'
        '[agents.ppo]\nencoder = "minatar_cnn"\nlearing_rate = 1e-3\n'
    )
    code, _, err = run_cli(["--suite", str(suite), "--agent", "dqn", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "defines no options for agent 'dqn' (an [agents.dqn] table)" in err
    code, _, err = run_cli(["--suite", str(suite), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "[agents.ppo]: unknown option 'learing_rate'" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_list_and_help_through_the_module(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["--list"], capsys)
    assert code == 0
    for word in ("atari", "minatar", "smoke", "paper", "none", "reset", "fire", "arXiv 2602.08040", "fire_dqn", "dqn"):
        assert word in out
    done = subprocess.run([sys.executable, "-m", "rlplastic.bench", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    for flag in ("--suite", "--agent", "--preset", "--method", "--seeds", "--budget", "--out", "--jobs", "--set"):
        assert flag in done.stdout
    done = subprocess.run([sys.executable, "-m", "rlplastic.bench", "--suite", "nope"], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
