"""Each shipped plasticity protocol runs its smoke budget through the CLI, one metrics phase per task."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlplastic.run.cli import main
from rlplastic.suites import load_suite

PROTOCOLS = ("permuted", "scrambled", "warmstart", "cminatar")


@pytest.mark.slow
@pytest.mark.parametrize("suite", PROTOCOLS)
def test_each_protocol_runs_its_smoke_budget(suite: str, tmp_path: Path) -> None:
    assert main(["--suite", suite, "--method", "none", "--no-baselines", "--quiet", "--out", str(tmp_path)]) == 0
    (run,) = tmp_path.glob(f"{suite}/*/none/seed_0")
    assert (run / "DONE").exists()
    assert len({line.split(",")[0] for line in (run / "metrics.csv").read_text().splitlines()[1:]}) == len(
        load_suite(suite).tasks
    )
