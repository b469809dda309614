"""A sweep trained through the CLI and a selected leaderboard built from it (issue 24's "done when"): the dash
points are their own runs beside the baselines, the table names the chosen lam, and every number of the
selected board comes from the evaluation seed alone."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rlplastic.report.commands import main as report
from rlplastic.run.cli import main

pytestmark = pytest.mark.slow


def test_sweep_then_select_on_held_out_seeds(tiny: list[str], tmp_path: Path, capsys) -> None:
    schedule = ["--set", 'suite.tasks=["Breakout","Asterix"]', "--set", "budget.steps_per_phase=1024"]
    args = ["--suite", "minatar", "--method", "dash", "--sweep", "dash.lam=0.1,0.3", "--seeds", "2"]
    assert main([*args, "--out", str(tmp_path), "--quiet", *tiny, *schedule]) == 0
    (group,) = (tmp_path / "minatar").iterdir()
    configs = [json.loads(p.read_text()) for p in group.glob("*/seed_*/config.json")]
    lams = sorted(c["method_options"]["dash"]["lam"] for c in configs if c["method"] == "dash")
    assert lams == [0.1, 0.1, 0.3, 0.3] and len(configs) == 8  # 2 points x 2 seeds, plus none and reset x 2
    capsys.readouterr()
    select = ["--select", "best", "--tune-seeds", "0", "--eval-seeds", "1", "--allow-one-tuning-seed"]
    assert report(["table", "--out", str(tmp_path), *select]) == 0
    text = capsys.readouterr().out
    selection = pd.read_csv(group / "selected" / "selection.csv").query("method == 'dash'")
    assert sorted(selection["label"]) == ["dash", "dash[lam=0.1]"]  # lam=0.3, the default, is the plain run
    lam = json.loads(selection.query("chosen")["settings"].item())["lam"]
    assert lam in (0.1, 0.3) and f"| dash | 2 | lam={lam} |" in text
    scores = pd.read_csv(group / "selected" / "scores.csv")
    assert set(scores["seed"]) == {1} and set(scores["method"]) == {"none", "reset", "dash"}
