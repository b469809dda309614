"""kill -9 at any moment, then the same command again: the records equal an uninterrupted run's byte for byte.

A real run process is killed with SIGKILL at random points of its training (first phase, inside phases), inside
a checkpoint write and inside the cut-back of records on resume (``RLPLASTIC_FAULT``, see
``rlplastic/run/faults.py``); the command is rerun until it finishes. Checkpoints are taken at every metrics
row (``--checkpoint-minutes 0``), so resumes go through mid-phase checkpoints and their action replay: the test
reads the checkpoint each rerun resumes from and requires one taken inside a phase. No temporary file of the
killed writes may remain.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

pytestmark = pytest.mark.slow

SUITES = {
    "ppo": ["--suite", "minatar"],
    "dqn": ["--suite", "minatar", "--agent", "dqn"],
    "sac": ["--suite", "walker"],
    "sb3_ppo": ["--suite", "minatar", "--agent", "sb3_ppo"],  # SB3's own PPO (agents/sb3), numpy's RNG included
    "sb3_dqn": ["--suite", "minatar", "--agent", "sb3_dqn"],  # SB3's DQN: its replay buffer in the checkpoints
    "sb3_sac": ["--suite", "walker", "--agent", "sb3_sac"],  # SB3's SAC: its temperature and action-space RNG too
}
SETTINGS = {
    "ppo": {
        "agent.num_envs": 4,
        "agent.num_steps": 32,
        "agent.num_minibatches": 2,
        "agent.update_epochs": 1,
        "budget.steps_per_phase": 1024,
        "diagnostics.every": 256,
    },
    "dqn": {
        "agent.learning_starts": 200,
        "agent.batch_size": 16,
        "agent.buffer_size": 5000,
        "agent.log_interval": 100,
        "budget.steps_per_phase": 800,
        "diagnostics.every": 300,
    },
    "sb3_dqn": {  # SB3's per-step overhead: a shorter schedule than dqn's
        "agent.learning_starts": 100,
        "agent.batch_size": 16,
        "agent.buffer_size": 2000,
        "agent.log_interval": 100,
        "budget.steps_per_phase": 400,
        "diagnostics.every": 200,
    },
    "sac": {
        "agent.learning_starts": 100,
        "agent.batch_size": 16,
        "agent.buffer_size": 3000,
        "agent.log_interval": 50,
        "budget.steps_per_phase": 300,
        "diagnostics.every": 150,
    },
}


SETTINGS["sb3_ppo"] = SETTINGS["ppo"]  # SB3's PPO reads our PPO's options
SETTINGS["sb3_sac"] = SETTINGS["sac"]


def command(agent: str, out: Path) -> list[str]:
    settings = [arg for key, value in SETTINGS[agent].items() for arg in ("--set", f"{key}={value}")]
    return [
        sys.executable,
        "-m",
        "rlplastic.bench",
        *SUITES[agent],
        *settings,
        "--method",
        "fire",
        "--no-baselines",
        "--out",
        str(out),
        "--quiet",
        "--checkpoint-minutes",
        "0",
    ]


def metrics_rows(out: Path) -> int:
    files = list(out.glob("**/metrics.csv"))
    return max(0, len(files[0].read_text().splitlines()) - 1) if files else 0


def run_until(cmd: list[str], out: Path, rows: int | None, fault: str = "") -> int:
    """Start the command; SIGKILL it once ``rows`` metrics rows exist (None: let it end). Its exit code."""
    env = os.environ | ({"RLPLASTIC_FAULT": fault} if fault else {})
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if rows is not None:
        while proc.poll() is None and metrics_rows(out) < rows:
            time.sleep(0.02)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
    return proc.wait(timeout=600)


def resume_iteration(out: Path) -> int:
    """The iteration inside its phase of the checkpoint the next run will resume from (0: a phase's end)."""
    files = list(out.glob("**/checkpoint.pt"))
    return int(torch.load(files[0], weights_only=True)["iteration"]) if files else 0


def scalars(run: Path) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    return {
        tag: [(e.step, "nan" if math.isnan(e.value) else e.value) for e in events.Scalars(tag)]
        for tag in events.Tags()["scalars"]
        if not tag.startswith("speed/")  # wall-clock throughput is not a record
    }


@pytest.mark.parametrize("agent", ["ppo", "dqn", "sac", "sb3_ppo", "sb3_dqn", "sb3_sac"])
def test_sigkill_anywhere_then_rerun_gives_the_uninterrupted_records(agent: str, tmp_path: Path) -> None:
    whole, crashed = tmp_path / "whole", tmp_path / "crashed"
    assert run_until(command(agent, whole), whole, None) == 0
    total = metrics_rows(whole)
    cmd = command(agent, crashed)
    rng = np.random.default_rng(0)
    assert run_until(cmd, crashed, None, fault="checkpoint") == -signal.SIGKILL  # dies in its first checkpoint
    resumed_from = []
    for rows in sorted(rng.integers(2, total - 1, 3)):  # random points, first phase to last
        run_until(cmd, crashed, int(rows))
        resumed_from.append(resume_iteration(crashed))
    assert run_until(cmd, crashed, None, fault="cut_back") == -signal.SIGKILL  # dies cutting the records back
    resumed_from.append(resume_iteration(crashed))
    assert run_until(cmd, crashed, None) == 0
    assert any(resumed_from), f"no resume from a checkpoint inside a phase (iterations {resumed_from})"
    (a,), (b,) = list(whole.glob("**/seed_0")), list(crashed.glob("**/seed_0"))
    for name in ("episodes.csv", "metrics.csv", "diagnostics.csv"):
        assert (a / name).read_text() == (b / name).read_text(), name
    assert scalars(a) == scalars(b)
    assert sorted(p.name for p in b.glob(".*.tmp")) == []  # the killed writes' temporary files are gone
