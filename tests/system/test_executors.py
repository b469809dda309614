"""Executors and concurrency: Ray gives the same run folders and leaderboard as the local pool; two commands on
one ``--out`` never train a run twice (a run's lock and a tampered checkpoint: ``tests/run/test_store.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TINY_PPO

pytestmark = pytest.mark.slow

SETTINGS = [arg for key, value in TINY_PPO.items() for arg in ("--set", f"{key}={value}")]


def command(out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "rlplastic.bench",
        "--suite",
        "minatar",
        "--method",
        "fire",
        "--seeds",
        "2",
        *SETTINGS,
        "--out",
        str(out),
        "--quiet",
        *extra,
    ]


def records(out: Path) -> dict[str, str]:
    files = [*out.glob("**/episodes.csv"), *out.glob("**/metrics.csv"), *out.glob("**/leaderboard.csv")]
    return {str(f.relative_to(out)): f.read_text() for f in files}


def test_ray_executor_gives_the_local_pools_folders_and_leaderboard(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    jobs = str(os.cpu_count() or 1)  # one thread per run in both executors: the same arithmetic
    local = subprocess.run(command(tmp_path / "local", "--jobs", jobs), capture_output=True, text=True)
    assert local.returncode == 0, local.stderr
    ray = subprocess.run(command(tmp_path / "ray", "--executor", "ray"), capture_output=True, text=True)
    assert ray.returncode == 0, ray.stderr
    a, b = records(tmp_path / "local"), records(tmp_path / "ray")
    assert len(a) == 2 * 6 + 1 and a == b  # 6 runs x (episodes, metrics) + the leaderboard


def test_two_commands_on_one_out_train_each_run_once(tmp_path: Path) -> None:
    reference = subprocess.run(command(tmp_path / "reference", "--jobs", "2"), capture_output=True, text=True)
    assert reference.returncode == 0, reference.stderr
    shared = tmp_path / "shared"
    procs = [subprocess.Popen(command(shared, "--jobs", "2"), stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    statuses = [line.split()[2] for out in outputs for line in out.splitlines() if "/seed_" in line]
    assert statuses.count("ran") == 6 and statuses.count("reused") == 6  # each run trained by one command
    assert records(shared) == records(tmp_path / "reference")  # nothing doubled
    assert not list(shared.glob("**/.*.tmp"))
