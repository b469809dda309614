"""Every built-in method (and two compositions) trains with PPO through the CLI on both suites."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlplastic.interventions.registry import BUILTINS
from rlplastic.run.cli import main

pytestmark = pytest.mark.slow

METHODS = [m for m in BUILTINS if m not in ("none", "reset")] + ["lnwd+fire", "crelu+redo"]
EXTRA = {  # make the periodic methods actually act within a tiny budget
    "redo": ["--set", "redo.period=2"],
    "crelu+redo": ["--set", "redo.period=2"],
    "cbp": ["--set", "cbp.maturity=1", "--set", "cbp.replacement_rate=0.05"],
    # Kron's eager preconditioner on the Nature CNN's 3136-wide layer costs seconds per update: diagonal factors
    # above 1024 keep the test to the run's plumbing (the formula is tests/interventions/test_new_methods_optim)
    "kron": ["--set", "kron.max_size_triangular=1024"],
}


@pytest.mark.parametrize("suite", ["minatar", "atari"])
@pytest.mark.parametrize("method", METHODS)
def test_method_runs(method: str, suite: str, tiny: list[str], tmp_path: Path) -> None:
    args = ["--suite", suite, "--method", method, "--no-baselines", "--quiet", "--out", str(tmp_path)]
    assert main([*args, *tiny, *EXTRA.get(method, [])]) == 0
    assert len(list(tmp_path.rglob("DONE"))) == 1
