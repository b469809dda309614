"""Bad input: one line naming the problem and the fix, exit code 2, nothing written."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import TINY_PPO

from rlplastic import configs
from rlplastic.agents import DQNConfig
from rlplastic.folders import CHECKPOINT
from rlplastic.run import executor, runner
from rlplastic.run.cli import main
from rlplastic.run.plan import plan
from rlplastic.run.recorder import DamagedRecords
from rlplastic.run.resumable import ROWS


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
        (["--suite", "minatar", "--gpus-per-run", "1"], "are Ray requests; add --executor ray"),
        (["--suite", "minatar", "--executor", "ray", "--cpus-per-run", "0"], "--cpus-per-run must be above 0"),
        (["--suite", "minatar", "--executor", "ray", "--gpus-per-run", "-1"], "--gpus-per-run must be a finite"),
        (["--suite", "minatar", "--device", "tpu"], "--device 'tpu' is not a device; choose one of auto, cpu"),
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
        (["--suite", "minatar", "--agent", "sac"], "agent 'sac' cannot act in the discrete actions of task 'Breakout'"),
        (
            ["--describe", "fier"],
            "--describe fier: no agent or method of that name; valid names: ppo, dqn, sac, sb3_ppo, sb3_dqn, "
            "sb3_sac, none",
        ),
        (
            ["--suite", "minatar", "--preset", "fire_dqn"],
            "suite 'minatar' has no preset 'fire_dqn'; its presets: high_replay",
        ),
        (["--suite", "atari", "--agent", "ppo", "--preset", "fire_dqn"], "preset 'fire_dqn' is for agent 'dqn'"),
        (["--suite", "minatar", "--first-seed", "999", "--seeds", "2"], "seed 1000 is outside 0..999"),
        (
            ["--suite", "minatar", "--agent", "dqn", "--set", "agent.num_steps=4"],
            "unknown option; valid agent options: train_frequency, learning_starts",
        ),
        (["--suite", "minatar", "--agent", "dqn", "--set", "agent.loss='l1'"], "agent.loss must be one of mse, huber"),
        (["--suite", "minatar", "--agent", "dqn", "--set", "agent.gradient_steps=0"], "gradient_steps"),
        (
            ["--suite", "minatar", "--agent", "dqn", "--set", "agent.learning_starts=100000"],
            "agent.learning_starts=100000 is not below the run's 81920 steps: the agent would never learn",
        ),
        # every slippery task is a variant with its own friction: a global one is invalid or would be ignored
        (["--suite", "slippery", "--set", "env.friction=-1"], "env.friction must be a finite number > 0, not -1.0"),
        (["--suite", "slippery", "--set", "env.friction=0.5"], "--set env.friction=0.5 has no effect: every task"),
        (["--suite", "minatar", "--set", f"budget.steps_per_phase={10**20}"], "(1 x 5 phases of 1e+20 steps)"),
        (["--suite", "minatar", "--set", "budget.steps_per_phase=true"], "budget.steps_per_phase=True: expected a"),
        (
            ["--suite", "minatar", "--executor", "ray", "--address", "127.0.0.1:1"],
            "--address 127.0.0.1:1: cannot connect to 127.0.0.1:1",
        ),
        (["--suite", "minatar", "--executor", "ray", "--address", "ray://127.0.0.1:1"], "cannot connect to 127."),
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
    """Without an [agents.dqn] table DQN runs with its own defaults, which are checked against the suite's
    observations (its Nature CNN cannot read MinAtar's 10x10 maps) before anything is written."""
    suite = tmp_path / "ppo_only.toml"
    suite.write_text(
        'env = "minatar"\ntasks = ["Breakout"]\n[budgets.smoke]\nsteps_per_phase = 64\ncycles = 1\n'
        '[agents.ppo]\nencoder = "minatar_cnn"\nlearing_rate = 1e-3\n'
    )
    short = ["--set", "agent.learning_starts=8"]  # DQN's own 80,000 would be refused first
    code, _, err = run_cli(["--suite", str(suite), "--agent", "dqn", *short, "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "'nature_cnn' reads (channels, 84, 84) images, not observations of shape (10, 10" in err
    assert "set agent.encoder to one that fits: minatar_cnn" in err and err.count("\n") == 1
    given = {"agent.encoder": "minatar_cnn", "agent.learning_starts": 8}
    (config,) = plan(str(suite), ["none"], [0], "smoke", given, agent="dqn")
    assert config.agent_options == configs.defaults(DQNConfig) | {"encoder": "minatar_cnn", "learning_starts": 8}
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


# [agents.ppo]: PPO's own Nature CNN cannot read MinAtar's maps, which planning would refuse first
SUITE = (
    'env = "minatar"\ntasks = ["Breakout"]\n[budgets.smoke]\nsteps_per_phase = 64\ncycles = 1\n'
    '[agents.ppo]\nencoder = "minatar_cnn"\n'
)
LONG_NAME = f'name = "{"y" * 300}"\n{SUITE}'.encode()  # a run folder name above NAME_MAX
SAC_ON_MINATAR = f'agent = "sac"\n{SUITE}[agents.sac]\nlearning_starts = 8\n'.encode()
DQN_ON_DMC = SAC_ON_MINATAR.replace(b"sac", b"dqn").replace(b"minatar", b"dmc").replace(b"Breakout", b"walker-walk")
BOOL_BUDGET = SUITE.replace("= 64", "= true").encode()  # TOML's true is Python's 1
HUGE_BUDGET = SUITE.replace("= 64", f"= {10**20}").encode()


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
        (lambda t: ["--suite", "minatar", "--out", str(t / ("x" * 300) / "o")], "is 300 bytes, above this file"),
        (lambda t: ["--suite", _file(t, "s.toml", LONG_NAME)], "is 300 bytes, above this file system's limit"),
        (lambda t: ["--suite", _file(t, "s.toml", SAC_ON_MINATAR)], "agent 'sac' cannot act in the discrete actions"),
        (lambda t: ["--suite", _file(t, "s.toml", DQN_ON_DMC)], "agents that fit: ppo, sac"),
        (lambda t: ["--suite", _file(t, "s.toml", BOOL_BUDGET)], "'steps_per_phase' must be an int, got bool True"),
        (lambda t: ["--suite", _file(t, "s.toml", HUGE_BUDGET)], "above the limit of 1e+12"),
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


def _halve_rows(path: Path) -> None:
    lines = path.read_text().split("\n")[:-1]
    path.write_text("\n".join(lines[: 1 + (len(lines) - 1) // 2]) + "\n")


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


DAMAGE_IDS = ["garbage", "truncated", "empty", "not-a-run-state", "garbage-episodes", "no-episodes"]
DAMAGE_IDS += ["garbage-metrics", "no-metrics", "half-the-episodes"]
UNFINISHED = ["--suite", "minatar", "--method", "reset,none", "--no-baselines", "--quiet"]
UNFINISHED += [arg for key, value in TINY_PPO.items() for arg in ("--set", f"{key}={value}")]


@pytest.fixture(scope="module")
def unfinished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An --out with a finished tiny run (reset) and its leaderboard, and a run (none) that crashed after 2 of
    its 5 phases: a checkpoint and the records up to it."""
    out = tmp_path_factory.mktemp("unfinished")
    assert main([*UNFINISHED[:3], "reset", *UNFINISHED[4:], "--out", str(out)]) == 0
    (config,) = plan("minatar", ["none"], [0], "smoke", TINY_PPO)
    real_env = runner._env

    def crash(cfg, phase, stream="train"):
        if phase.index == 2:
            raise KeyboardInterrupt
        return real_env(cfg, phase, stream)

    with pytest.MonkeyPatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(runner, "_env", crash)
        runner.run(config, out)
    assert (out / config.relative_dir() / CHECKPOINT).exists()
    return out / config.relative_dir()


@pytest.mark.parametrize(
    "damage,expected",
    [
        (lambda d: (d / CHECKPOINT).write_bytes(b"garbage"), "cannot be loaded safely"),
        (lambda d: (d / CHECKPOINT).write_bytes((d / CHECKPOINT).read_bytes()[:5000]), "cannot be loaded safely"),
        (lambda d: (d / CHECKPOINT).write_bytes(b""), "cannot be loaded safely"),
        (lambda d: torch.save({"phase": 2}, d / CHECKPOINT), "does not hold a run's state (no 'learner')"),
        (lambda d: (d / "episodes.csv").write_bytes(b"\xff\xfe garbage\n"), "episodes.csv is damaged at line 0"),
        (lambda d: (d / "episodes.csv").unlink(), "episodes.csv is missing but the checkpoint is at step 256"),
        (lambda d: (d / "metrics.csv").write_text("no,header\n"), "metrics.csv is damaged at line 1"),
        (lambda d: (d / "metrics.csv").unlink(), "metrics.csv is missing"),
        (lambda d: _halve_rows(d / "episodes.csv"), "rows but the checkpoint at step 256 counted"),
    ],
    ids=DAMAGE_IDS,
)
def test_an_unfinished_run_with_damaged_state_is_refused_before_any_run(
    damage, expected: str, unfinished: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "out"
    shutil.copytree(unfinished.parents[3], out)
    damage(out / unfinished.relative_to(unfinished.parents[3]))
    before = _snapshot(out)
    code, _, err = run_cli([*UNFINISHED, "--out", str(out)], capsys)
    assert code == 2 and err.count("\n") == 1 and expected in err, err
    assert "delete" in err and _snapshot(out) == before  # nothing trained, no leaderboard rewritten


def test_records_shorter_than_the_checkpoint_stop_the_runner_too(unfinished: Path, tmp_path: Path) -> None:
    """The runner refuses them as it resumes; a checkpoint written before runs counted rows is not compared."""
    out = tmp_path / "out"
    shutil.copytree(unfinished.parents[3], out)
    folder = out / unfinished.relative_to(unfinished.parents[3])
    _halve_rows(folder / "episodes.csv")
    (config,) = plan("minatar", ["none"], [0], "smoke", TINY_PPO)
    with pytest.raises(DamagedRecords, match=r"episodes.csv has \d+ rows but the checkpoint at step 256 counted"):
        runner.run(config, out)
    checkpoint = torch.load(folder / CHECKPOINT, weights_only=True)
    del checkpoint[ROWS]
    torch.save(checkpoint, folder / CHECKPOINT)
    executor.verify_all([config], out)


def test_a_run_whose_folder_cannot_be_made_fails_with_one_line(tmp_path: Path, monkeypatch) -> None:
    """The error handler of a run must not raise, even where it cannot write the traceback."""
    (config,) = plan("minatar", ["none"], [0], "smoke", TINY_PPO)

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(executor, "run", boom)
    result = executor._safe_run(config, Path(_file(tmp_path, "a-file", b"x")), 1, 0.0)
    assert result.status == "failed" and result.error.startswith("RuntimeError: boom (its traceback could not be")


@pytest.mark.parametrize("address", [None, "auto", "local", "head-without-port"])
def test_ray_addresses_left_to_ray_are_not_checked(address: str | None) -> None:
    executor.check_address(address)


def test_a_ray_address_that_accepts_connections_passes() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        executor.check_address(f"127.0.0.1:{server.getsockname()[1]}")
        executor.check_address(f"ray://127.0.0.1:{server.getsockname()[1]}")
