"""A crash between phases loses nothing and duplicates nothing: resume gives the uninterrupted records."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from conftest import TINY_PPO

from rlplastic.errors import UsageError
from rlplastic.folders import CHECKPOINT, CONFIG, DONE
from rlplastic.run import numerics, runner
from rlplastic.run.plan import plan
from rlplastic.run.recorder import RECORDS
from rlplastic.run.store import RunStore, temporary

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
    assert_same_records(resumed.dir, whole.dir)


def assert_same_records(a: Path, b: Path) -> None:
    for name in RECORDS:
        assert (a / name).read_text() == (b / name).read_text(), name


def test_temporary_files_of_a_killed_process_are_removed_on_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tiny_config("ppo", "fire")
    whole = runner.run(config, tmp_path / "whole")
    real_env = crash_at(3, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        runner.run(config, tmp_path / "crashed")
    folder = RunStore(tmp_path / "crashed", config).dir
    # What kill -9 leaves between ``temporary`` and ``os.replace``: a checkpoint, a cut-back record, a config.
    stale = [temporary(folder / name) for name in (CHECKPOINT, "episodes.csv", CONFIG)]
    for fd, _ in stale:
        os.write(fd, b"half written")
        os.close(fd)
    others = [folder / "notes.tmp", folder / ".checkpoint.pt.tmp", folder / ".episodes.csv.12.short.tmp"]
    for path in others:  # not temporary()'s names: not ours to delete
        path.write_text("someone else's")
    monkeypatch.setattr(runner, "_env", real_env)
    assert runner.run(config, tmp_path / "crashed").status == "resumed"
    assert [p for _, p in stale if Path(p).exists()] == []
    assert all(p.read_text() == "someone else's" for p in others)
    assert_same_records(folder, whole.dir)


@pytest.mark.parametrize(
    "stored,resume_threads,allow,noted",
    [
        ("first", 1, False, {}),  # same numerics: nothing to note
        ("first", 2, False, "refused"),  # another thread count changes the numbers: refused in one line
        ("first", 2, True, {"threads": 2}),  # ... unless --allow-numerics-change, and DONE says so
        ("absent", 1, False, "all"),  # a folder written before runs recorded numerics: they are unknown
    ],
)
def test_numerics_are_recorded_and_a_resume_under_others_is_refused_or_noted(
    stored: str, resume_threads: int, allow: bool, noted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep_threads
) -> None:
    config = tiny_config("ppo", "none")
    folder = RunStore(tmp_path, config).dir
    torch.set_num_threads(1)
    real_env = crash_at(3, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        runner.run(config, tmp_path)
    monkeypatch.setattr(runner, "_env", real_env)
    began = numerics.measure(torch.device("cpu"), "fp32", threads=1)
    written = json.loads((folder / CONFIG).read_text())
    assert written["numerics"] == began
    if stored == "absent":
        (folder / CONFIG).write_text(json.dumps({k: v for k, v in written.items() if k != "numerics"}))
    torch.set_num_threads(resume_threads)
    options = numerics.Options(allow_change=allow)
    if noted == "refused":
        with pytest.raises(UsageError, match=r"cannot resume .*threads 1 -> 2.*--allow-numerics-change"):
            runner.run(config, tmp_path, options=options)
        assert not (folder / DONE).exists()
        return
    assert runner.run(config, tmp_path, options=options).status == "resumed"
    assert json.loads((folder / CONFIG).read_text()).get("numerics") == (began if stored == "first" else None)
    expected = began | {"threads": resume_threads} if noted == "all" else noted
    summary = json.loads((folder / DONE).read_text())
    assert summary.get("numerics_at_resume", {}) == expected
    assert summary.get("numerics_change_allowed", False) == (allow and bool(noted))


@pytest.mark.parametrize("edit", ["absent", "other threads"])
def test_a_finished_run_is_reused_only_under_the_numerics_it_recorded(edit: str, tmp_path: Path) -> None:
    config = tiny_config("ppo", "none")
    folder = runner.run(config, tmp_path).dir
    stored = json.loads((folder / CONFIG).read_text())
    if edit == "absent":
        del stored["numerics"]
    else:
        stored["numerics"]["threads"] += 7
    (folder / CONFIG).write_text(json.dumps(stored))
    if edit == "absent":  # an older folder: nothing recorded to compare
        assert runner.run(config, tmp_path).status == "reused"
        return
    with pytest.raises(UsageError, match="cannot reuse"):
        runner.run(config, tmp_path)
    allowed = runner.run(config, tmp_path, options=numerics.Options(allow_change=True))
    assert allowed.status == "reused"


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
    store.claim(numerics.measure())
    (store.dir / CHECKPOINT).write_bytes(b"not a checkpoint")
    with pytest.raises(UsageError, match=r"cannot be loaded safely.*delete it to restart"):
        runner.run(config, tmp_path)


def test_folder_with_another_configuration_is_refused(tmp_path: Path) -> None:
    (config,) = plan("minatar", ["none"], [0], "smoke", TINY)
    store = RunStore(tmp_path, config)
    store.claim(numerics.measure())
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
