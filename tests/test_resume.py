"""A crash between phases loses nothing and duplicates nothing: resume gives the uninterrupted records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import TINY_PPO

from rlplastic.bench import runner
from rlplastic.bench.errors import UsageError
from rlplastic.bench.layout import CHECKPOINT
from rlplastic.bench.plan import plan
from rlplastic.bench.store import RunStore

pytestmark = pytest.mark.slow

TINY = TINY_PPO | {"budget.steps_per_phase": 256}
TINY_DQN = {
    "agent.learning_starts": 64,
    "agent.batch_size": 16,
    "agent.target_network_frequency": 100,
    "agent.buffer_size": 5000,
    "agent.log_interval": 100,
    "budget.steps_per_phase": 256,
}
EXTRA = {"cbp": {"cbp.maturity": 2}, "redo": {"redo.period": 50}, "dash": {"dash.batches": 2, "dash.batch_size": 64}}
CASES = [("ppo", m) for m in ("fire", "injection", "cbp", "l2init", "dash", "redo")]
CASES += [("dqn", m) for m in ("none", "fire", "dash", "injection", "redo")]
CASES += [("sac", m) for m in ("fire", "reset", "redo")]
CASES += [("ppo-gaussian", "fire")]  # normalisation statistics go through the checkpoint
TINY_SAC = {
    "agent.learning_starts": 64,
    "agent.batch_size": 16,
    "agent.buffer_size": 5000,
    "agent.log_interval": 100,
    "budget.steps_per_phase": 128,
}


TINY_GAUSSIAN = {"agent.num_steps": 64, "agent.num_minibatches": 2, "agent.update_epochs": 1}
TINY_GAUSSIAN |= {"budget.steps_per_phase": 128}


def tiny_config(case: str, method: str, **extra):
    base = {"ppo": TINY, "dqn": TINY_DQN, "sac": TINY_SAC, "ppo-gaussian": TINY_GAUSSIAN}[case]
    suite = {"sac": "slippery", "ppo-gaussian": "walker"}.get(case, "minatar")
    agent = case.split("-")[0]
    (config,) = plan(suite, [method], [0], "smoke", base | EXTRA.get(method, {}) | extra, agent=agent)
    return config


def crash_at(index: int, monkeypatch: pytest.MonkeyPatch):
    real_env = runner._env

    def crash(cfg, phase, stream="train"):
        if phase.index == index:
            raise KeyboardInterrupt
        return real_env(cfg, phase, stream)

    monkeypatch.setattr(runner, "_env", crash)
    return real_env


@pytest.mark.parametrize("agent,method", CASES)
def test_resume_after_a_crash_matches_an_uninterrupted_run(
    agent: str, method: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tiny_config(agent, method)
    whole = runner.run(config, tmp_path / "whole")
    real_env = crash_at(min(3, len(config.phases()) - 1), monkeypatch)

    with pytest.raises(KeyboardInterrupt):
        runner.run(config, tmp_path / "crashed")
    store = RunStore(tmp_path / "crashed", config)
    assert (store.dir / CHECKPOINT).exists() and not store.done
    # Simulate records written after the checkpoint that the crash left behind.
    with open(store.dir / "episodes.csv", "a") as f:
        f.write("3,Asterix,999999,999000,1.0,5\n")
    monkeypatch.setattr(runner, "_env", real_env)
    resumed = runner.run(config, tmp_path / "crashed")
    assert resumed.status == "resumed"
    assert (resumed.dir / "episodes.csv").read_text() == (whole.dir / "episodes.csv").read_text()
    assert (resumed.dir / "metrics.csv").read_text() == (whole.dir / "metrics.csv").read_text()
    assert (resumed.dir / "diagnostics.csv").read_text() == (whole.dir / "diagnostics.csv").read_text()


def test_dqn_without_buffer_in_checkpoints_resumes_from_an_empty_buffer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_buffer = tiny_config("dqn", "none")
    without = tiny_config("dqn", "none", **{"agent.checkpoint_buffer": False})
    sizes = {}
    for config in (with_buffer, without):
        real_env = crash_at(3, monkeypatch)
        with pytest.raises(KeyboardInterrupt):
            runner.run(config, tmp_path)
        store = RunStore(tmp_path, config)
        sizes[config.agent_options["checkpoint_buffer"]] = (store.dir / CHECKPOINT).stat().st_size
        checkpoint = store.load_checkpoint()
        assert (checkpoint["learner"]["buffer"] is None) == (not config.agent_options["checkpoint_buffer"])
        monkeypatch.setattr(runner, "_env", real_env)
        assert runner.run(config, tmp_path).status == "resumed"
        summary = json.loads((store.dir / "DONE").read_text())
        assert summary.get("restarted_buffer", False) == (not config.agent_options["checkpoint_buffer"])
    # 3 phases x 256 MinAtar transitions of 1,000 bytes each are in one checkpoint and not in the other.
    assert sizes[True] - sizes[False] > 3 * 256 * 1000


def test_corrupt_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    (config,) = plan("minatar", ["none"], [0], "smoke", TINY)
    store = RunStore(tmp_path, config)
    store.claim()
    (store.dir / CHECKPOINT).write_bytes(b"not a checkpoint")
    with pytest.raises(UsageError, match=r"cannot be loaded safely.*delete it to restart"):
        runner.run(config, tmp_path)


def test_folder_with_another_configuration_is_refused(tmp_path: Path) -> None:
    (config,) = plan("minatar", ["none"], [0], "smoke", TINY)
    store = RunStore(tmp_path, config)
    store.claim()
    (store.dir / "config.json").write_text('{"seed": 99}')
    with pytest.raises(UsageError, match="another configuration"):
        runner.run(config, tmp_path)


@pytest.mark.parametrize("damage", ["delete", "garble"])
def test_damaged_records_of_an_interrupted_run_are_refused(damage: str, tmp_path: Path, monkeypatch) -> None:
    config = tiny_config("ppo", "none")
    real_env = crash_at(3, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        runner.run(config, tmp_path)
    monkeypatch.setattr(runner, "_env", real_env)
    episodes = RunStore(tmp_path, config).dir / "episodes.csv"
    if damage == "delete":
        episodes.unlink()
    else:
        lines = episodes.read_text().splitlines()
        episodes.write_text("\n".join([*lines[:2], "0,Breakout,12x,1.0,5", *lines[2:]]) + "\n")
    with pytest.raises(UsageError, match="delete the run folder"):
        runner.run(config, tmp_path)
