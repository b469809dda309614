"""Suites as data: a suite extends another but names its own tasks, ``extends`` refuses cycles and reads paths
beside the file, and a preset changes what it says (high replay: four updates per step)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlplastic.suites import SuiteError, load_suite

PROTOCOLS = ("permuted", "scrambled", "warmstart", "cminatar")


def test_a_suite_extends_another_but_names_its_own_tasks() -> None:
    minatar, permuted = load_suite("minatar"), load_suite("permuted")
    assert permuted.agents == minatar.agents and permuted.env_options == minatar.env_options
    assert permuted.tasks == [f"SI-p{i:02d}" for i in range(1, 11)] and permuted.name == "permuted"
    assert set(permuted.variants) == set(permuted.tasks) and "high_replay" in permuted.presets
    assert permuted.budgets["short"].steps_per_phase == 100_000  # its own budget, not minatar's 500k
    for name in PROTOCOLS:
        assert "measures" in load_suite(name).description or "plasticity" in load_suite(name).description


def test_extends_refuses_a_cycle_and_reads_paths_beside_the_file(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n')
    with pytest.raises(SuiteError, match="cycle"):
        load_suite(str(tmp_path / "a.toml"))
    (tmp_path / "c.toml").write_text('extends = "minatar"\nname = "c"\ntasks = ["Breakout"]\n')
    (tmp_path / "d.toml").write_text('extends = "c.toml"\nname = "d"\ntasks = ["Asterix"]\n')
    d = load_suite(str(tmp_path / "d.toml"))
    assert d.tasks == ["Asterix"] and d.agents == load_suite("minatar").agents


def test_the_high_replay_preset_makes_four_updates_per_step() -> None:
    from conftest import trained_learner

    from rlplastic.run.plan import plan

    (config,) = plan("minatar", ["none"], [0], "smoke", {}, preset="high_replay")
    assert config.agent == "dqn" and config.agent_options["gradient_steps"] == 4
    one = trained_learner(agent="dqn", iterations=100, learning_starts=32)
    four = trained_learner(agent="dqn", iterations=100, learning_starts=32, gradient_steps=4)
    assert one.global_step == four.global_step == 100
    assert four.updates == 4 * one.updates > 0  # replay ratio 4: four updates where the default makes one
