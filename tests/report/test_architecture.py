"""The architecture axis on the reading side: a run's torso is an agent option (``agent.encoder``), so runs of two
torsos are two experiment folders, each board says which torso it holds, and one folder never mixes them."""

from __future__ import annotations

import shutil
from pathlib import Path

from rlplastic.report import commands as report
from rlplastic.report.commands import main
from rlplastic.report.results import find_runs
from rlplastic.report.synthetic import write_run

LEVELS = [10.0] * 4


def torso_runs(out: Path, encoder: str, folder: str) -> None:
    """none and reset, two seeds each, trained with ``encoder`` into the experiment folder ``suite/<folder>``."""
    scratch = out / f"scratch-{encoder}"
    for seed in range(2):
        for method in ("none", "reset"):
            write_run(scratch, method, seed, LEVELS, agent_options={"encoder": encoder})
    shutil.move(scratch / "suite" / "ppo-short", out / "suite" / folder)
    shutil.rmtree(scratch)


def test_each_torso_is_its_own_board_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "suite").mkdir()
    torso_runs(tmp_path, "simba", "sac-short-0a1b2c3d")
    torso_runs(tmp_path, "mlp_256", "sac-short")
    runs, _ = find_runs(tmp_path)
    assert sorted({r.architecture for r in runs}) == ["mlp_256", "simba"]
    boards = report.build(tmp_path, report.Options(reps=200, figures=False))
    assert len(boards) == 2
    texts = sorted(text for text, _ in boards)
    assert sum("Network torso (agent.encoder): simba." in t for t in texts) == 1
    assert sum("Network torso (agent.encoder): mlp_256." in t for t in texts) == 1
    assert all("Network torso (agent.encoder): mlp_256, simba" not in t for t in texts)


def test_a_folder_mixing_torsos_is_refused_in_one_line(tmp_path: Path, capsys) -> None:
    write_run(tmp_path, "none", 0, LEVELS, agent_options={"encoder": "simba"})
    write_run(tmp_path, "reset", 0, LEVELS, agent_options={"encoder": "mlp_256"})
    assert main(["table", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "differ in 'agent_options'" in err


def test_runs_without_a_recorded_torso_get_no_note(tmp_path: Path) -> None:
    for seed in range(2):
        write_run(tmp_path, "none", seed, LEVELS)
        write_run(tmp_path, "reset", seed, LEVELS)
    ((text, _),) = report.build(tmp_path, report.Options(reps=200, figures=False))
    assert "Network torso" not in text
