"""Agent names -> Learner classes: the shipped ones plus any package's entry points.

Another installed package registers its own agent with an entry point in the group ``rlplastic.agents``
(``myagent = "my_pkg.module:MyLearner"``); it then appears in ``--list``, ``--describe`` shows its options and
``--agent myagent`` trains it like a shipped one, on any suite whose actions it can take (``ACTION_KINDS``),
with its ``Config`` defaults where the suite has no ``[agents.myagent]`` table. As for interventions
(``rlplastic.interventions.registry``), a plug-in cannot shadow a shipped name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from functools import cache
from importlib.metadata import entry_points

from rlplastic.agents.dqn import DQN
from rlplastic.agents.learner import Learner
from rlplastic.agents.ppo import PPO
from rlplastic.agents.sac import SAC
from rlplastic.agents.sb3.dqn import SB3DQNLearner
from rlplastic.agents.sb3.ppo import SB3PPOLearner
from rlplastic.agents.sb3.sac import SB3SACLearner

ENTRY_POINT_GROUP = "rlplastic.agents"
BUILTINS: dict[str, type] = {
    "ppo": PPO,
    "dqn": DQN,
    "sac": SAC,
    "sb3_ppo": SB3PPOLearner,
    "sb3_dqn": SB3DQNLearner,
    "sb3_sac": SB3SACLearner,
}
ACTION_KINDS = ("discrete", "continuous")  # the values of ActionSpec.kind
CONFIG_FIELDS = ("num_envs",)  # read by the runner (env seeds) and by planning (seed limits)
SEAM = tuple(name for name, value in vars(Learner).items() if callable(value) and not name.startswith("_"))


class AgentError(ValueError):
    """An unknown agent name, or a plug-in that does not fulfil the agent contract."""


def contract_problem(cls: object) -> str:
    """Why ``cls`` cannot be an agent ("" if it can): a class with the ``Learner`` methods, a ``Config``
    dataclass with ``num_envs`` and ``iteration_steps``, and the action kinds it can act in."""
    if not isinstance(cls, type):
        return "is not a class"
    missing = [m for m in SEAM if not callable(getattr(cls, m, None))]
    if missing:
        return f"lacks the Learner method(s) {', '.join(missing)} (subclass rlplastic.agents.learner.LearnerBase)"
    config = getattr(cls, "Config", None)
    if not (isinstance(config, type) and dataclasses.is_dataclass(config)):
        return "has no Config dataclass"
    names = {f.name for f in dataclasses.fields(config)}
    lacking = [n for n in CONFIG_FIELDS if n not in names] + [n for n in ("iteration_steps",) if not hasattr(config, n)]
    if lacking:
        return f"has a Config without {', '.join(lacking)}"
    kinds = getattr(cls, "ACTION_KINDS", ())
    if not kinds or not set(kinds) <= set(ACTION_KINDS):
        return f"must set ACTION_KINDS to some of {', '.join(ACTION_KINDS)}, not {kinds!r}"
    return ""


@cache
def available() -> dict[str, type]:
    """Every agent by name: the shipped ones first, then plug-ins (a plug-in cannot shadow a shipped one)."""
    agents = dict(BUILTINS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in agents:
            continue
        cls = ep.load()
        problem = contract_problem(cls)
        if problem:
            raise AgentError(f"plug-in agent {ep.name!r} ({ep.value}) {problem}")
        agents[ep.name] = cls
    return agents


class _Agents(Mapping[str, type]):
    """``AGENTS``: a live view of ``available()``, so code that looks agents up there sees plug-ins too."""

    def __getitem__(self, name: str) -> type:
        return available()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(available())

    def __len__(self) -> int:
        return len(available())


AGENTS: Mapping[str, type] = _Agents()


def config_class(name: str) -> type:
    """The ``Config`` dataclass of agent ``name``."""
    if name not in available():
        raise AgentError(f"unknown agent {name!r}; valid agents: {', '.join(available())}")
    return available()[name].Config
