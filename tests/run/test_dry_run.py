"""--dry-run prints the grid (train / reuse / resume), its agent steps and a wall-time estimate, and writes nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from conftest import TINY_PPO

from rlplastic.run import cli, estimate
from rlplastic.run.plan import plan

pytestmark = pytest.mark.slow

TINY = TINY_PPO | {"budget.steps_per_phase": 128, "suite.tasks": ["Breakout", "Asterix"]}


def command(out: Path, *extra: str) -> list[str]:
    args = ["--suite", "minatar", "--method", "fire", "--seeds", "2", "--out", str(out), "--quiet", *extra]
    return args + [f"--set={k}={json.dumps(v)}" for k, v in TINY.items()]


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``folder`` (the folder too) with its size and modification time."""
    paths = [folder, *folder.rglob("*")] if folder.exists() else []
    return {str(p): (os.stat(p).st_size, os.stat(p).st_mtime_ns) for p in paths}


def test_dry_run_prints_grid_and_estimate_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, keep_threads
) -> None:
    monkeypatch.setattr(estimate, "CALIBRATION_S", 0.2)
    out = tmp_path / "results"
    assert cli.main(command(out, "--dry-run")) == 0
    assert not out.exists()
    text = capsys.readouterr().out
    assert "6 runs: 6 to train, 0 to resume, 0 to reuse; 1,536 agent steps to take" in text
    assert "calibrated: ppo on minatar Breakout" in text and "estimated wall time:" in text

    assert cli.main(command(out, "--method", "none", "--no-baselines", "--seeds", "1")) == 0  # one finished run
    capsys.readouterr()
    before = snapshot(out)
    assert cli.main(command(out, "--dry-run")) == 0
    assert snapshot(out) == before  # nothing written, not even a probe file
    lines = capsys.readouterr().out.splitlines()
    assert any(line.split()[:3] == ["none", "0", "reuse"] for line in lines)
    assert any(line.startswith("6 runs: 5 to train, 0 to resume, 1 to reuse") for line in lines)


def test_report_counts_resumes_and_divides_by_jobs() -> None:
    (config,) = plan("minatar", ["none"], [0], "smoke", TINY)
    runs = [estimate.Planned(config, "resume", 1000), estimate.Planned(config, "train", 3000)]
    text = estimate.report(runs, {estimate._key(config): 100.0}, 2, torch.device("cpu"), 1)
    assert "1 to train, 1 to resume, 0 to reuse; 4,000 agent steps" in text
    assert "estimated wall time: 20 s with --jobs 2" in text  # 40 s of steps over 2 jobs
