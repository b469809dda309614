"""The README's Stable-Baselines3 example, run as written (its one Python block under "Your own loop"), then
``table`` on its folder: an SB3 user's own ``model.learn()`` with FIRE through ``scrambled`` gives a leaderboard."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

README = Path(__file__).parents[2] / "README.md"


def example() -> str:
    section = README.read_text(encoding="utf-8").split("## Stable-Baselines3", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```python\n(.*?)```", section, re.S)
    return block


def test_the_readme_sb3_example_trains_and_table_reads_its_run(tmp_path: Path) -> None:
    code = example()
    assert "PlasticityCallback" in code and len(code.strip().splitlines()) <= 12
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, timeout=900)
    (done,) = tmp_path.glob("sb3_runs/scrambled/*/fire/seed_0/DONE")
    episodes = (done.parent / "episodes.csv").read_text().splitlines()
    phases = {int(line.split(",")[0]) for line in episodes[1:]}
    assert len(phases) >= 5  # episodes end in most of the 10 phases (one PPO iteration each)
    table = subprocess.run(
        [sys.executable, "-m", "rlplastic.bench", "table", "--out", "sb3_runs"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert table.returncode == 0, table.stderr
    assert "| fire | 1 |" in table.stdout
