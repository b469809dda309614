"""A crash between phases loses nothing and duplicates nothing: resume gives the uninterrupted records."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rlplastic.bench import runner
from rlplastic.bench.errors import UsageError
from rlplastic.bench.plan import plan
from rlplastic.bench.store import CHECKPOINT, RunStore

pytestmark = pytest.mark.slow

TINY = {
    "agent.num_envs": 8,
    "agent.num_steps": 16,
    "agent.num_minibatches": 2,
    "agent.update_epochs": 1,
    "budget.steps_per_phase": 256,
}


@pytest.mark.parametrize("method", ["fire", "injection", "cbp", "l2init", "dash", "redo"])
def test_resume_after_a_crash_matches_an_uninterrupted_run(
    method: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (config,) = plan("minatar", [method], [0], "smoke", TINY | ({"cbp.maturity": 2} if method == "cbp" else {}))
    whole = runner.run(config, tmp_path / "whole", show_progress=False)

    real_env = runner._env

    def crash_at_phase_3(cfg, phase):
        if phase.index == 3:
            raise KeyboardInterrupt
        return real_env(cfg, phase)

    monkeypatch.setattr(runner, "_env", crash_at_phase_3)
    with pytest.raises(KeyboardInterrupt):
        runner.run(config, tmp_path / "crashed", show_progress=False)
    store = RunStore(tmp_path / "crashed", config)
    assert (store.dir / CHECKPOINT).exists() and not store.done
    # Simulate records written after the checkpoint that the crash left behind.
    with open(store.dir / "episodes.csv", "a") as f:
        f.write("3,Asterix,999999,1.0,5\n")
    monkeypatch.setattr(runner, "_env", real_env)
    resumed = runner.run(config, tmp_path / "crashed", show_progress=False)
    assert resumed.status == "resumed"
    assert (resumed.dir / "episodes.csv").read_text() == (whole.dir / "episodes.csv").read_text()
    drop = ["steps_per_s"]
    metrics = [pd.read_csv(d / "metrics.csv").drop(columns=drop) for d in (resumed.dir, whole.dir)]
    assert metrics[0].equals(metrics[1])


def test_corrupt_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    (config,) = plan("minatar", ["none"], [0], "smoke", TINY)
    store = RunStore(tmp_path, config)
    store.claim()
    (store.dir / CHECKPOINT).write_bytes(b"not a checkpoint")
    with pytest.raises(UsageError, match=r"is corrupt .*delete it to restart"):
        runner.run(config, tmp_path, show_progress=False)


def test_folder_with_another_configuration_is_refused(tmp_path: Path) -> None:
    (config,) = plan("minatar", ["none"], [0], "smoke", TINY)
    store = RunStore(tmp_path, config)
    store.claim()
    (store.dir / "config.json").write_text('{"seed": 99}')
    with pytest.raises(UsageError, match="another configuration"):
        runner.run(config, tmp_path, show_progress=False)
