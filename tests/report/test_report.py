"""``table`` and ``plot`` rebuild the leaderboard from run folders alone, over every command's runs, without torch;
its numbers follow from the episodes on disk; bad folders are refused with one line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_PPO

from rlplastic.run.cli import main

pytestmark = pytest.mark.slow

STEPS = 1024
TINY = [a for k, v in (TINY_PPO | {"budget.steps_per_phase": STEPS}).items() for a in ("--set", f"{k}={v}")]
SCHEDULE = ["--set", 'suite.tasks=["Breakout","Asterix"]', "--set", "budget.cycles=2"]
BASE = ["--suite", "minatar", "--quiet", *TINY, *SCHEDULE]


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Runs made by three commands: seeds 0-1 of fire and the baselines, then seed 2, then dash alone."""
    out = tmp_path_factory.mktemp("report")
    assert main([*BASE, "--method", "fire", "--seeds", "2", "--out", str(out)]) == 0
    assert main([*BASE, "--method", "fire", "--first-seed", "2", "--out", str(out)]) == 0
    assert main([*BASE, "--method", "dash", "--no-baselines", "--out", str(out)]) == 0
    return out


def _group(out: Path) -> Path:
    (group,) = (out / "minatar").iterdir()
    return group


def _report(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m rlplastic.bench table|plot ...`` in a fresh interpreter that must not import torch or agents."""
    code = (
        "import sys\nfrom rlplastic.bench.__main__ import main\nrc = main(sys.argv[1:])\n"
        "heavy = [m for m in ('torch', 'rlplastic.agents', 'rlplastic.interventions') if m in sys.modules]\n"
        "assert not heavy, heavy\nsys.exit(rc)"
    )
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)


def test_table_covers_every_command_s_runs_without_torch(out: Path) -> None:
    result = _report("table", "--out", str(out), "--reps", "2000")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "Runs: 10 finished (seeds 0, 1, 2)" in text
    aggregate_rows = text.split("### Aggregate over phases")[1].split("###")[0]
    for method, seeds in (("none", 3), ("reset", 3), ("fire", 3), ("dash", 1)):
        assert f"| {method} | {seeds} |" in aggregate_rows
    assert "### Plasticity gap against reset, per phase" in text
    for name in ("leaderboard.md", "leaderboard.csv", "aggregates.csv", "scores.csv"):
        assert (_group(out) / name).stat().st_size > 0


def test_scores_follow_from_the_episodes(out: Path) -> None:
    group = _group(out)
    scores = pd.read_csv(group / "scores.csv")
    assert len(scores) == 10 * 4  # 10 runs x 4 phases
    window = round(STEPS * 0.05)
    for row in scores.itertuples():
        episodes = pd.read_csv(group / row.method / f"seed_{row.seed}" / "episodes.csv")
        start, end = row.phase * STEPS, (row.phase + 1) * STEPS
        mine = episodes[(episodes["step"] > start) & (episodes["step"] <= end)]
        late = mine[mine["step"] > end - window]
        expected = (late if len(late) else mine.tail(1))["return"].mean()
        assert row.end == pytest.approx(expected, nan_ok=True)
    # MinAtar scores are normalised by reset's mean end score on the same task.
    reset = scores[scores["method"] == "reset"].groupby("task")["end"].mean()
    np.testing.assert_allclose(scores["n_end"], scores["end"] / scores["task"].map(reset).to_numpy())


def test_gap_is_paired_by_seed(out: Path) -> None:
    group = _group(out)
    scores = pd.read_csv(group / "scores.csv").set_index(["method", "seed", "phase"])["n_end"]
    table = pd.read_csv(group / "leaderboard.csv")
    for row in table[table["method"] == "fire"].itertuples():
        diffs = [scores["fire", s, row.phase] - scores["reset", s, row.phase] for s in (0, 1, 2)]
        assert row.gap_vs_reset == pytest.approx(np.mean(diffs))
        if np.std(diffs) > 0:
            assert row.gap_vs_reset_low < row.gap_vs_reset < row.gap_vs_reset_high
    first = table[(table["method"] == "fire") & (table["phase"] == 0)]
    assert first["gap_vs_reset"].item() == 0.0  # before the first switch fire is reset: same seed, same numbers


def test_plot_writes_every_figure(out: Path) -> None:
    result = _report("plot", "--out", str(out), "--reps", "500")
    assert result.returncode == 0, result.stderr
    for name in ("curves.png", "gap.png", "aggregates.png", "profiles.png"):
        assert (_group(out) / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _copy(out: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns("tensorboard", "checkpoint.pt"))
    return copy


def test_an_unfinished_run_is_left_out_and_said(out: Path, tmp_path: Path) -> None:
    copy = _copy(out, tmp_path)
    (_group(copy) / "dash" / "seed_0" / "DONE").unlink()
    result = _report("table", "--out", str(copy), "--reps", "500")
    assert result.returncode == 0, result.stderr
    assert "Runs: 9 finished (seeds 0, 1, 2); 1 not finished, left out." in result.stdout
    assert "| dash |" not in result.stdout


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("nothing", "no finished run under --out"),
        ("config", "differ in 'steps_per_phase'"),
        ("start", "no 'start' column (written by an older rlplastic)"),
    ],
)
def test_bad_folders_are_refused_in_one_line(out: Path, tmp_path: Path, damage: str, message: str) -> None:
    if damage == "nothing":
        target = tmp_path / "empty"
        target.mkdir()
    else:
        target = _copy(out, tmp_path)
        for board in target.rglob("leaderboard.md"):  # the copy's boards go, so any rewrite would show
            board.unlink()
        run = _group(target) / "fire" / "seed_1"
        if damage == "config":
            config = json.loads((run / "config.json").read_text())
            (run / "config.json").write_text(json.dumps(config | {"steps_per_phase": 7}))
        else:
            episodes = pd.read_csv(run / "episodes.csv")
            episodes.drop(columns="start").to_csv(run / "episodes.csv", index=False)
    result = _report("table", "--out", str(target))
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not list(target.rglob("leaderboard.md"))  # where boards are written: the experiment folder
