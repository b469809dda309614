"""A method registered by another installed package appears in --list and runs like a built-in."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import TINY_PPO, pip_install, with_site

pytestmark = pytest.mark.slow

PLUGIN = '''
from dataclasses import dataclass

import torch

from rlplastic.interventions.base import PointIntervention, When


@dataclass(frozen=True)
class HalveConfig(When):
    factor: float = 0.5


class Halve(PointIntervention):
    """Scale every parameter by ``factor`` at each task switch (a toy method)."""

    name = "halve"
    paper = "plug-in example"
    Config = HalveConfig

    @torch.no_grad()
    def apply(self, learner, boundary=None):
        for net in learner.networks.values():
            for p in net.parameters():
                p.mul_(self.config.factor)
'''

PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "rlplastic-halve"
version = "0.1.0"

[project.entry-points."rlplastic.interventions"]
halve = "rlplastic_halve:Halve"
"""


def test_entry_point_plugin_runs_through_the_cli(tmp_path: Path) -> None:
    src, site = tmp_path / "src", tmp_path / "site"
    src.mkdir()
    (src / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    (src / "rlplastic_halve.py").write_text(textwrap.dedent(PLUGIN))
    env = with_site(pip_install(src, site))
    cli = [sys.executable, "-m", "rlplastic.bench"]
    listing = subprocess.run([*cli, "--list"], env=env, capture_output=True, text=True, check=True).stdout
    assert "halve" in listing and "plug-in example" in listing
    tiny = [a for k, v in TINY_PPO.items() for a in ("--set", f"{k}={v}")]
    args = [
        *cli,
        "--suite",
        "minatar",
        "--method",
        "halve",
        "--set",
        "halve.factor=0.25",
        "--quiet",
        "--out",
        str(tmp_path / "out"),
        *tiny,
    ]
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "| halve |" in done.stdout and "| none |" in done.stdout
    config = next((tmp_path / "out").rglob("halve-*/seed_0/config.json")).read_text()
    assert '"factor": 0.25' in config
