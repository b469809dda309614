"""The run store: a finished run is reused only with an equal resolved configuration; a held run is reported busy
with its holder; a tampered checkpoint is refused without running it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from conftest import TINY_PPO, write_suite

from rlplastic.errors import UsageError
from rlplastic.folders import CHECKPOINT
from rlplastic.run import numerics, runner
from rlplastic.run.cli import main
from rlplastic.run.plan import plan
from rlplastic.run.store import RunLock, RunStore

pytestmark = pytest.mark.slow


def test_a_finished_run_is_reused_only_with_an_equal_resolved_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = write_suite(tmp_path / "s.toml", 1e-4)
    args = ["--suite", str(suite), "--method", "none", "--no-baselines", "--quiet", "--out", str(tmp_path / "o")]
    tiny = ["--set", "agent.num_envs=4", "--set", "agent.num_steps=8", "--set", "budget.steps_per_phase=64"]
    assert main(args + tiny) == 0
    (run_dir,) = [p.parent for p in (tmp_path / "o").rglob("DONE")]
    stored = json.loads((run_dir / "config.json").read_text())
    assert stored["agent_options"]["gae_lambda"] == 0.95  # defaults are resolved into the record
    assert stored["method_options"] == {"none": {}} and stored["version"] and len(stored["suite_sha256"]) == 64
    assert main(args + tiny) == 0 and " reused " in capsys.readouterr().out
    write_suite(suite, 3e-4)  # the suite file changes: the stored run is no longer what is asked for
    mtime = (run_dir / "episodes.csv").stat().st_mtime
    assert main(args + tiny) == 2
    err = capsys.readouterr().err
    assert "another configuration" in err and "agent_options.learning_rate: 0.0001 -> 0.0003" in err
    assert err.count("\n") == 1 and (run_dir / "episodes.csv").stat().st_mtime == mtime  # nothing trained


def test_a_held_run_is_reported_busy_with_its_holder(tmp_path: Path) -> None:
    (config,) = plan("minatar", ["none"], [0], "smoke", TINY_PPO)
    store = RunStore(tmp_path, config)
    held = RunLock(store.dir)
    assert held.acquire()
    result = runner.run(config, tmp_path)
    assert result.status == "busy" and f"pid {os.getpid()}" in result.error
    assert not (store.dir / "episodes.csv").exists()
    held.release()
    assert runner.run(config, tmp_path).status == "ran"


class Payload:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_tampered_checkpoint_is_refused_without_running_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (config,) = plan("minatar", ["none"], [0], "smoke", TINY_PPO)
    store = RunStore(tmp_path, config)
    store.claim(numerics.measure())
    torch.save({"learner": Payload()}, store.dir / CHECKPOINT)
    with pytest.raises(UsageError, match=r"cannot be loaded safely.*UnpicklingError.*delete it to restart"):
        runner.run(config, tmp_path)
    assert not (tmp_path / "pwned").exists()
