"""Planning: CLI choices -> validated, serialisable run configurations, one per suite x method x seed.

Everything the user can get wrong is checked here, before any run starts or any file is written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlplastic import agents, envs, interventions
from rlplastic.bench.errors import UsageError
from rlplastic.bench.overrides import by_section, check_section, keyword_defaults
from rlplastic.envs import Phase, make_schedule
from rlplastic.suites import BUDGET_KEYS, Suite, SuiteError, load_suite

RUN_SECTIONS = ("suite", "budget", "env", "agent")


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one run; written to the run folder as ``config.json``."""

    suite: str
    suite_file: str
    budget: str
    env: str
    agent: str
    tasks: tuple[str, ...]
    steps_per_phase: int
    cycles: int
    env_options: dict[str, Any]
    agent_options: dict[str, Any]
    method: str
    method_options: dict[str, dict[str, Any]]
    scores: str
    seed: int
    group_tag: str = ""
    method_tag: str = ""

    def phases(self) -> list[Phase]:
        return make_schedule(list(self.tasks), self.steps_per_phase, self.cycles)

    @property
    def total_steps(self) -> int:
        return self.steps_per_phase * self.cycles * len(self.tasks)

    def relative_dir(self) -> Path:
        """``<suite>/<budget>[-tag]/<method>[-tag]/seed_<n>``: tags hash the overrides that change a run."""
        group = self.budget + (f"-{self.group_tag}" if self.group_tag else "")
        method = self.method + (f"-{self.method_tag}" if self.method_tag else "")
        return Path(self.suite) / group / method / f"seed_{self.seed}"

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunConfig:
        data = dict(data)
        data["tasks"] = tuple(data["tasks"])
        return cls(**data)


def method_parts(method: str) -> list[str]:
    """The parts of a (possibly composite) method name, as a usage error if any is unknown."""
    try:
        return interventions.split_method(method)
    except interventions.MethodError as err:
        raise UsageError(str(err)) from err


def _tag(values: dict[str, Any]) -> str:
    if not values:
        return ""
    return hashlib.sha1(json.dumps(values, sort_keys=True).encode()).hexdigest()[:8]


def _env_defaults(suite: Suite) -> dict[str, Any]:
    return keyword_defaults(envs.adapter(suite.env), skip=("game", "num_envs", "seed")) | suite.env_options


def _check_tasks(suite: Suite, tasks: list[str]) -> None:
    valid = envs.task_names(suite.env)
    if valid is None:
        return
    for task in tasks:
        if task not in valid:
            raise UsageError(f"task {task!r} is not a {suite.env} game; valid tasks: {', '.join(valid)}")


def load(suite_ref: str, budget: str) -> Suite:
    """Load a suite and check that it has ``budget``."""
    try:
        suite = load_suite(suite_ref)
    except SuiteError as err:
        raise UsageError(str(err)) from err
    if budget not in suite.budgets:
        raise UsageError(f"suite {suite.name!r} has no budget {budget!r}; its budgets: {', '.join(suite.budgets)}")
    if suite.agent not in agents.AGENTS:
        raise UsageError(f"{suite.source}: unknown agent {suite.agent!r}; valid agents: {', '.join(agents.AGENTS)}")
    return suite


def resolve(suite: Suite, budget: str, method: str, seed: int, overrides: dict[str, Any]) -> RunConfig:
    """Apply the overrides that concern this run to the suite, with every name and type checked."""
    sections = by_section(overrides)
    parts = method_parts(method)
    b = suite.budgets[budget]
    run = {
        "suite": check_section("suite", sections.get("suite", {}), {"tasks": list(suite.tasks)}),
        "budget": check_section("budget", sections.get("budget", {}), {k: getattr(b, k) for k in BUDGET_KEYS}),
        "env": check_section("env", sections.get("env", {}), _env_defaults(suite)),
        "agent": check_section("agent", sections.get("agent", {}), _agent_defaults(suite)),
    }
    tasks = run["suite"].get("tasks", suite.tasks)
    _check_tasks(suite, tasks)
    method_options = {p: check_section(p, sections.get(p, {}), interventions.option_defaults(p)) for p in parts}
    method_options = {p: o for p, o in method_options.items() if o}
    agent_options = suite.agent_options | run["agent"]
    rollout = agent_options.get("num_envs", 1) * agent_options.get("num_steps", 1)
    steps = run["budget"].get("steps_per_phase", b.steps_per_phase)
    config = RunConfig(
        suite=suite.name,
        suite_file=suite.source,
        budget=budget,
        env=suite.env,
        agent=suite.agent,
        tasks=tuple(tasks),
        steps_per_phase=-(-steps // rollout) * rollout,  # whole rollouts, so phases end where they should
        cycles=run["budget"].get("cycles", b.cycles),
        env_options=suite.env_options | run["env"],
        agent_options=agent_options,
        method=method,
        method_options=method_options,
        scores=suite.scores,
        seed=seed,
        group_tag=_tag({k: v for k, v in run.items() if v}),
        method_tag=_tag(method_options),
    )
    _check_buildable(config)
    return config


def _agent_defaults(suite: Suite) -> dict[str, Any]:
    cls = agents.AGENTS[suite.agent][1]
    return {f.name: f.default for f in dataclasses.fields(cls)} | suite.agent_options


def _check_buildable(config: RunConfig) -> None:
    """Construct the agent's and methods' configs once, so invalid combinations fail before any run."""
    try:
        agents.AGENTS[config.agent][1](**config.agent_options)
        interventions.build(config.method, config.method_options)
    except (TypeError, ValueError) as err:
        raise UsageError(f"invalid configuration: {err}") from err


def plan(
    suite_ref: str, methods: list[str], seeds: list[int], budget: str, overrides: dict[str, Any]
) -> list[RunConfig]:
    """All runs of ``methods`` x ``seeds`` on one suite; overrides for methods not named are refused."""
    suite = load(suite_ref, budget)
    named = {p for m in methods for p in method_parts(m)}
    for section in by_section(overrides):
        if section not in RUN_SECTIONS and section not in named:
            valid = ", ".join([*RUN_SECTIONS, *sorted(named)])
            raise UsageError(f"--set {section}.*: {section!r} is not a section of this run; valid sections: {valid}")

    def concerning(method: str) -> dict[str, Any]:
        sections = (*RUN_SECTIONS, *method_parts(method))
        return {k: v for k, v in overrides.items() if k.split(".")[0] in sections}

    return [resolve(suite, budget, m, s, concerning(m)) for m in methods for s in seeds]
