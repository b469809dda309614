"""Every option of every agent, method and the diagnostics has its meaning written under it (CleanRL's ``Args``
style), read back by ``rlplastic.configs``; a field without one is found."""

from __future__ import annotations

import dataclasses

import pytest

from rlplastic import agents, configs, interventions
from rlplastic.agents import DQNConfig
from rlplastic.agents.off_policy import OffPolicyConfig
from rlplastic.metrics.diagnose import DiagnosticsConfig

CONFIGS = {
    **{f"agent {name}": agents.config_class(name) for name in agents.available()},
    **{f"method {name}": cls.Config for name, cls in interventions.available().items()},
    "diagnostics": DiagnosticsConfig,
}


@pytest.mark.parametrize("owner", list(CONFIGS))
def test_every_option_has_a_meaning(owner: str) -> None:
    docs = configs.field_docs(CONFIGS[owner])
    assert list(docs) == [f.name for f in dataclasses.fields(CONFIGS[owner])]
    assert [name for name, meaning in docs.items() if not meaning] == []


def test_an_undocumented_option_is_found() -> None:
    @dataclasses.dataclass(frozen=True)
    class Half:
        documented: int = 1
        """Said here."""
        silent: float = 0.5
        trailing: str = "x"  # a comment is not a meaning

    assert configs.field_docs(Half) == {"documented": "Said here.", "silent": "", "trailing": ""}


def test_a_default_set_in_a_subclass_keeps_the_meaning_of_its_base() -> None:
    base = configs.field_docs(OffPolicyConfig)
    dqn = configs.field_docs(DQNConfig)
    assert dqn["tau"] == base["tau"] != "" and DQNConfig().tau == 1.0 != agents.SACConfig().tau


def test_defaults_build_fresh_lists() -> None:
    """A ``default_factory`` default is called, so two callers never share one list."""
    when = interventions.available()["fire"].Config
    first, second = configs.defaults(when), configs.defaults(when)
    assert first["at_steps"] == [] and first["at_steps"] is not second["at_steps"]
