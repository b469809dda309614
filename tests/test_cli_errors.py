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
        (
            ["--suite", "pong"],
            "unknown suite 'pong'; valid suites: atari, cminatar, humanoid, minatar, permuted, scrambled, slippery, "
            "walker, warmstart",
        ),
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
        # counts >= 1, probabilities in [0, 1], finite positive rates, known names, valid step lists
        (["--suite", "minatar", "--jobs", "0"], "--seeds and --jobs must be at least 1"),
        (["--suite", "minatar", "--first-seed", "-1"], "seed -1 is outside 0..999"),
        (["--suite", "minatar", "--checkpoint-minutes", "-1"], "--checkpoint-minutes must be a finite number >= 0"),
        (["--suite", "minatar", "--checkpoint-minutes", "nan"], "--checkpoint-minutes must be a finite number >= 0"),
        (["--suite", "minatar", "--address", "auto"], "--address names a Ray cluster; add --executor ray"),
        (["--suite", "minatar", "--executor", "spark"], "invalid choice: 'spark'"),
        (["--suite", "minatar", "--set", "budget.steps_per_phase=0"], "budget.steps_per_phase=0 must be at least 1"),
        (["--suite", "minatar", "--set", "budget.steps_per_phase=-5"], "budget.steps_per_phase=-5 must be at least 1"),
        (["--suite", "minatar", "--set", "budget.cycles=0"], "budget.cycles=0 must be at least 1"),
        (["--suite", "minatar", "--set", "suite.tasks=[]"], "suite.tasks is empty"),
        (["--suite", "minatar", "--set", "agent.num_envs=0"], "agent.num_envs must be a whole number >= 1, not 0"),
        (["--suite", "minatar", "--set", "agent.num_steps=-4"], "agent.num_steps must be a whole number >= 1"),
        (["--suite", "minatar", "--set", "agent.update_epochs=0"], "agent.update_epochs must be a whole number >= 1"),
        (
            ["--suite", "minatar", "--set", "agent.learning_rate=-1e-3"],
            "agent.learning_rate must be a finite number > 0",
        ),
        (["--suite", "minatar", "--set", "agent.learning_rate=inf"], "agent.learning_rate must be a finite number > 0"),
        (["--suite", "minatar", "--set", "agent.learning_rate=nan"], "agent.learning_rate must be a finite number > 0"),
        (["--suite", "minatar", "--set", "agent.gamma=1.5"], "agent.gamma must be in [0, 1], not 1.5"),
        (["--suite", "minatar", "--set", "agent.gae_lambda=-0.1"], "agent.gae_lambda must be in [0, 1]"),
        (["--suite", "minatar", "--set", "agent.clip_coef=-0.2"], "agent.clip_coef must be a finite number >= 0"),
        (["--suite", "minatar", "--set", "agent.encoder='resnet'"], "agent.encoder must be one of nature_cnn"),
        (["--suite", "minatar", "--set", "agent.activation='gelu'"], "agent.activation must be one of relu"),
        (["--suite", "minatar", "--agent", "dqn", "--set", "agent.start_e=2.0"], "agent.start_e must be in [0, 1]"),
        (["--suite", "minatar", "--agent", "dqn", "--set", "agent.end_e=-0.1"], "agent.end_e must be in [0, 1]"),
        (["--suite", "minatar", "--agent", "dqn", "--set", "agent.tau=0.0"], "agent.tau must be in (0, 1]"),
        (["--suite", "minatar", "--agent", "dqn", "--set", "agent.buffer_size=0"], "agent.buffer_size must be a whole"),
        (["--suite", "minatar", "--agent", "dqn", "--set", "agent.batch_size=0"], "batch_size"),
        (["--suite", "minatar", "--agent", "dqn", "--set", "agent.exploration_fraction=1.5"], "must be in (0, 1]"),
        (["--suite", "minatar", "--agent", "dqn", "--set", "agent.init='zeros'"], "agent.init must be one of"),
        (["--suite", "walker", "--set", "agent.tau=1.5"], "agent.tau must be in (0, 1], not 1.5"),
        (["--suite", "walker", "--set", "agent.q_lr=0.0"], "agent.q_lr must be a finite number > 0"),
        (["--suite", "walker", "--set", "agent.policy_frequency=0"], "agent.policy_frequency must be a whole number"),
        (["--suite", "walker", "--set", "agent.alpha=-1.0"], "agent.alpha must be a finite number >= 0"),
        (["--suite", "minatar", "--set", "env.sticky_action_prob=1.5"], "env.sticky_action_prob must be in [0, 1]"),
        (["--suite", "minatar", "--set", "env.max_episode_steps=0"], "env.max_episode_steps must be a whole number"),
        (["--suite", "atari", "--set", "env.repeat_action_probability=2.0"], "repeat_action_probability must be in"),
        (["--suite", "atari", "--set", "env.noop_max=-1"], "env.noop_max must be a whole number >= 0"),
        (["--suite", "walker", "--set", "env.friction=0.0"], "env.friction must be a finite number > 0"),
        (["--suite", "walker", "--set", "env.gravity=-1.0"], "env.gravity must be a finite number > 0"),
        (["--suite", "minatar", "--set", "fire.iters=0"], "fire.iters must be a whole number >= 1, not 0"),
        (["--suite", "minatar", "--set", "fire.every=-10"], "fire.every must be a whole number >= 0"),
        (["--suite", "minatar", "--set", "fire.at_steps=[-5]"], "fire.at_steps must be a list of whole numbers >= 0"),
        (["--suite", "minatar", "--set", "fire.at_steps=['a']"], "fire.at_steps"),
        (["--suite", "minatar", "--method", "dash", "--set", "dash.alpha=1.5"], "dash.alpha must be in (0, 1]"),
        (["--suite", "minatar", "--method", "dash", "--set", "dash.lam=-0.3"], "dash.lam must be in [0, 1]"),
        (["--suite", "minatar", "--method", "dash", "--set", "dash.batches=0"], "dash.batches must be a whole number"),
        (["--suite", "minatar", "--method", "redo", "--set", "redo.tau=-0.1"], "redo.tau must be a finite number >= 0"),
        (["--suite", "minatar", "--method", "redo", "--set", "redo.samples=0"], "redo.samples must be a whole number"),
        (["--suite", "minatar", "--method", "sp", "--set", "sp.shrink=-0.4"], "sp.shrink must be a finite number"),
        (
            ["--suite", "minatar", "--method", "cbp", "--set", "cbp.replacement_rate=2.0"],
            "cbp.replacement_rate must be in",
        ),
        (["--suite", "minatar", "--method", "cbp", "--set", "cbp.decay=1.01"], "cbp.decay must be in [0, 1]"),
        (["--suite", "minatar", "--method", "l2init", "--set", "l2init.lam=-1.0"], "l2init.lam must be a finite"),
        (["--suite", "minatar", "--method", "lnwd", "--set", "lnwd.weight_decay=-1e-5"], "lnwd.weight_decay must be"),
        (
            ["--suite", "minatar", "--method", "crelu", "--set", "crelu.width=0.0"],
            "crelu.width must be a finite number > 0",
        ),
        (
            ["--suite", "minatar", "--method", "headreset", "--set", "headreset.layers=3"],
            "headreset.layers must be one of 1, 2",
        ),
        (
            [],
            "--suite is required; valid suites: atari, cminatar, humanoid, minatar, permuted, scrambled, slippery, "
            "walker, warmstart",
        ),
        (["--suite", "minatar", "--agent", "a2c"], "unknown agent 'a2c'; valid agents: ppo, dqn, sac"),
        (["--suite", "minatar", "--agent", "sac"], "suite 'minatar' defines no options for agent 'sac'"),
        (
            ["--suite", "minatar", "--preset", "fire_dqn"],
            "suite 'minatar' has no preset 'fire_dqn'; its presets: high_replay",
        ),
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


SUITE = 'env = "minatar"\ntasks = ["Breakout"]\n[budgets.smoke]\nsteps_per_phase = 64\ncycles = 1\n'


def _file(tmp: Path, name: str, content: bytes) -> str:
    path = tmp / name
    path.write_bytes(content)
    return str(path)


@pytest.mark.parametrize(
    "make,expected",
    [
        (lambda t: ["--suite", _file(t, "s.toml", b'name = "../../x"\n' + SUITE.encode())], "name '../../x' must be"),
        (lambda t: ["--suite", _file(t, "s.toml", b'name = "/abs"\n' + SUITE.encode())], "name '/abs' must be"),
        (lambda t: ["--suite", _file(t, "s.toml", b'name = ".hidden"\n' + SUITE.encode())], "not starting with '.'"),
        (lambda t: ["--suite", _file(t, "s.toml", b"# caf\xe9\n" + SUITE.encode())], "is not UTF-8 text"),
        (
            lambda t: ["--suite", _file(t, "s.toml", b'scores = "atari_human"\n' + SUITE.encode())],
            "are for env 'atari'",
        ),
        (lambda t: ["--suite", _file(t, "s.toml", b'scores = "minatar_pro"\n' + SUITE.encode())], "is not one of"),
        (
            lambda t: [
                "--suite",
                _file(
                    t,
                    "s.toml",
                    SUITE.replace("minatar", "atari")
                    .replace("Breakout", "Zork")
                    .encode()
                    .replace(b'env = "atari"', b'env = "atari"\nscores = "atari_human"'),
                ),
            ],
            "task 'Zork' has no human reference score",
        ),
        (lambda t: ["--suite", "minatar", "--out", _file(t, "file", b"x")], "is a file, not a folder"),
        (lambda t: ["--suite", "minatar", "--out", "/proc/rlplastic-out"], "cannot write in /proc"),
    ],
)
def test_bad_files_and_folders_are_one_line_and_exit_2(make, expected: str, tmp_path: Path, capsys) -> None:
    args = make(tmp_path)
    if "--out" not in args:
        args += ["--out", str(tmp_path / "out")]
    code, _, err = run_cli(args, capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert expected in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("damage", ["delete", "cut", "garble"])
def test_a_finished_run_with_damaged_records_is_refused(damage: str, tmp_path: Path, tiny, capsys) -> None:
    args = ["--suite", "minatar", "--method", "none", "--no-baselines", "--out", str(tmp_path), "--quiet", *tiny]
    assert main(args) == 0
    episodes = next(tmp_path.glob("**/episodes.csv"))
    if damage == "delete":
        episodes.unlink()
    elif damage == "cut":
        episodes.write_bytes(episodes.read_bytes()[:-3])
    else:
        episodes.write_text(episodes.read_text() + "1,Breakout,oops\n")
    capsys.readouterr()
    code, _, err = run_cli(args, capsys)
    assert code == 2 and err.count("\n") == 1 and "delete the run folder" in err, err
