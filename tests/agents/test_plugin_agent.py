"""An agent shipped by another package (``tests/agents/plugin_a2c``: one module, one entry point in the group
``rlplastic.agents``) is listed, described, planned with its own defaults on a suite without a table for it (a
table overrides them), trained by the CLI with the baselines into a leaderboard, and refused where it cannot act.
Every intervention acting on it is checked with the other agents in tests/interventions/test_matrix.py."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import with_site

from rlplastic import agents, configs
from rlplastic.agents.registry import contract_problem
from rlplastic.run.plan import plan

CLI = [sys.executable, "-m", "rlplastic.bench"]
TINY = ["--set", "budget.steps_per_phase=80", "--set", 'suite.tasks=["Breakout","Asterix"]', "--quiet"]
SUITE = 'env = "minatar"\ntasks = ["Breakout"]\n[budgets.smoke]\nsteps_per_phase = 80\ncycles = 1\n'


def bench(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=with_site(site), capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_plugin_agent_runs_through_the_cli_with_the_baselines(a2c_site: Path, tmp_path: Path) -> None:
    listing = bench(a2c_site, "--list").stdout
    assert any(line.startswith("  a2c ") and "[actions: discrete]" in line for line in listing.splitlines())
    described = bench(a2c_site, "--describe", "a2c").stdout
    assert "agent a2c: Advantage actor-critic" in described and "  num_steps = 5: Steps each environment" in described
    done = bench(a2c_site, "--suite", "minatar", "--agent", "a2c", "--method", "fire", "--out", str(tmp_path), *TINY)
    assert done.returncode == 0, done.stderr
    assert all(f"| {m} |" in done.stdout for m in ("none", "reset", "fire"))
    (group,) = (tmp_path / "minatar").iterdir()
    assert group.name.startswith("a2c-smoke") and (group / "leaderboard.md").is_file()
    config = json.loads((group / "fire" / "seed_0" / "config.json").read_text())
    assert config["agent"] == "a2c" and config["agent_options"]["learning_rate"] == 7e-4  # its own default
    refused = bench(a2c_site, "--suite", "walker", "--agent", "a2c", "--out", str(tmp_path / "no"))
    assert refused.returncode == 2 and "agent 'a2c' cannot act in the continuous actions" in refused.stderr
    assert refused.stderr.count("\n") == 1 and not (tmp_path / "no").exists()


def test_a_suite_table_only_overrides_the_agents_defaults(a2c_agent: Path, tmp_path: Path) -> None:
    from rlplastic_a2c import A2C, A2CConfig

    assert agents.AGENTS["a2c"] is A2C and agents.config_class("a2c") is A2CConfig  # callers' names see it too
    bare, tuned = tmp_path / "bare.toml", tmp_path / "tuned.toml"
    bare.write_text(SUITE)
    tuned.write_text(SUITE + "[agents.a2c]\nlearning_rate = 1e-3\n")
    (own,) = plan(str(bare), ["none"], [0], "smoke", {}, agent="a2c")
    (table,) = plan(str(tuned), ["none"], [0], "smoke", {}, agent="a2c")
    assert own.agent_options == configs.defaults(A2CConfig)
    assert table.agent_options == configs.defaults(A2CConfig) | {"learning_rate": 1e-3}
    assert own.steps_per_phase == 80  # two whole iterations of 8 envs x 5 steps


class _Seamless:
    """Has a Config but none of the Learner methods."""

    @dataclasses.dataclass(frozen=True)
    class Config:
        num_envs: int = 1

    ACTION_KINDS = ("discrete",)


def test_a_plugin_that_breaks_the_contract_is_named() -> None:
    from rlplastic.agents import PPO

    assert contract_problem(PPO) == ""
    assert contract_problem(object()) == "is not a class"
    assert contract_problem(_Seamless).startswith("lacks the Learner method(s) start_phase, collect")
    no_steps = type("NoSteps", (PPO,), {"Config": _Seamless.Config})
    assert contract_problem(no_steps) == "has a Config without iteration_steps"
    boxed = type("Boxed", (PPO,), {"ACTION_KINDS": ("box",)})
    assert contract_problem(boxed) == "must set ACTION_KINDS to some of discrete, continuous, not ('box',)"
