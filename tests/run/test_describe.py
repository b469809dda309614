"""``--describe NAME`` prints every option of an agent or a method with its default and meaning; ``--list`` names
the agents."""

from __future__ import annotations

import dataclasses

import pytest

from rlplastic import configs
from rlplastic.agents import PPOConfig
from rlplastic.interventions.redo import RedoConfig
from rlplastic.run.cli import main


def described(name: str, capsys: pytest.CaptureFixture[str]) -> dict[str, tuple[str, str]]:
    """``--describe name`` as option -> (default as printed, meaning)."""
    assert main(["--describe", name]) == 0
    rows = {}
    for line in capsys.readouterr().out.splitlines()[1:]:
        option, rest = line.strip().split(" = ", 1)
        default, meaning = rest.split(": ", 1)
        rows[option] = (default, meaning)
    return rows


def test_describe_ppo_prints_every_field_with_its_default_and_meaning(capsys: pytest.CaptureFixture[str]) -> None:
    rows = described("ppo", capsys)
    docs = configs.field_docs(PPOConfig)
    assert list(rows) == [f.name for f in dataclasses.fields(PPOConfig)]
    for field in dataclasses.fields(PPOConfig):
        default, meaning = rows[field.name]
        assert default == repr(field.default) and meaning == docs[field.name] != "", field.name


def test_describe_redo_states_the_unit_of_its_period(capsys: pytest.CaptureFixture[str]) -> None:
    rows = described("redo", capsys)
    assert list(rows) == [f.name for f in dataclasses.fields(RedoConfig)]
    assert rows["period"][0] == "1000" and "Gradient updates (not agent steps" in rows["period"][1]
    assert "In agent steps: period x iteration_steps / updates per iteration" in rows["period"][1]


def test_list_names_every_agent_with_its_actions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "agents (--describe NAME for their options):" in out
    for line in ("  ppo ", "  dqn ", "  sac "):
        assert any(row.startswith(line) and "[actions: " in row for row in out.splitlines()), line
