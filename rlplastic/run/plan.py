"""Planning: CLI choices -> validated, serialisable run configurations, one per suite x method x seed.

Everything the user can get wrong is checked here, before any run starts or any file is written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlplastic import __version__, agents, configs, envs, interventions
from rlplastic.agents.networks import encoder_mismatch
from rlplastic.envs import Phase, make_schedule
from rlplastic.envs.seeding import check_limits
from rlplastic.envs.spec import spaces_mismatch
from rlplastic.errors import UsageError
from rlplastic.folders import LATER_DEFAULTS
from rlplastic.metrics.diagnose import DiagnosticsConfig
from rlplastic.metrics.scores import atari_reference
from rlplastic.report.results import flat_options, settings_text
from rlplastic.run import sweep as sweeps
from rlplastic.run.overrides import by_section, check_section, keyword_defaults
from rlplastic.suites import BUDGET_KEYS, Budget, Preset, Suite, SuiteError, load_suite

DIAGNOSTIC_DEFAULTS = dataclasses.asdict(DiagnosticsConfig())
RUN_SECTIONS = ("suite", "budget", "env", "agent", "diagnostics")
# Agent steps in one run, at most: years of training at this benchmark's thousands of steps/s (the paper budgets
# are 10^7 to 10^8). A typo's 10^20 is refused before it trains; seeding.check_limits bounds phases, not steps.
MAX_TOTAL_STEPS = 10**12


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one run, fully resolved (defaults included); written to the run folder as
    ``config.json``, and a finished run is reused only if its stored configuration equals this one."""

    suite: str
    suite_file: str
    suite_sha256: str
    budget: str
    env: str
    agent: str
    preset: str
    tasks: tuple[str, ...]
    steps_per_phase: int
    cycles: int
    env_options: dict[str, Any]
    agent_options: dict[str, Any]
    method: str
    method_options: dict[str, dict[str, Any]]
    scores: str
    seed: int
    variants: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    diagnostics: dict[str, Any] = dataclasses.field(default_factory=lambda: dataclasses.asdict(DiagnosticsConfig()))
    version: str = __version__
    group_tag: str = ""
    method_tag: str = ""
    swept_agent: tuple[str, ...] = ()  # agent options set by a --sweep point: in method_tag, not group_tag

    def phases(self) -> list[Phase]:
        return make_schedule(list(self.tasks), self.steps_per_phase, self.cycles)

    @property
    def total_steps(self) -> int:
        return self.steps_per_phase * self.cycles * len(self.tasks)

    def relative_dir(self) -> Path:
        """``<suite>/<agent>-<budget>[-preset][-tag]/<method>[-tag]/seed_<n>``: tags hash the overrides."""
        group = "-".join(x for x in (self.agent, self.budget, self.preset, self.group_tag) if x)
        method = self.method + (f"-{self.method_tag}" if self.method_tag else "")
        return Path(self.suite) / group / method / f"seed_{self.seed}"

    @property
    def label(self) -> str:
        """The method with the options it sets off their defaults and its swept agent options, as the progress
        and summary tables name a run (``dash[lam=0.1]``); the leaderboard's labels come from ``report.results``."""
        flat = flat_options(_off_default(self.method_options))
        flat |= {f"agent.{k}": self.agent_options[k] for k in self.swept_agent}
        return f"{self.method}[{settings_text(flat.items())}]" if flat else self.method

    def to_json(self) -> dict[str, Any]:
        """The stored identity; ``swept_agent`` only when set and ``LATER_DEFAULTS`` only off their neutral value,
        so folders made before them keep theirs."""
        values = dataclasses.asdict(self)
        if not self.swept_agent:
            del values["swept_agent"]
        for where, neutral in LATER_DEFAULTS.items():
            section, _, part = where.partition(".")
            options = values[section].get(part, {}) if part else values[section]
            for key, value in neutral.items():
                if key in options and options[key] == value and type(options[key]) is type(value):
                    del options[key]
        return values


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
    return keyword_defaults(envs.adapter(suite.env), skip=("game", "num_envs", "seeds")) | suite.env_options


def _check_tasks(suite: Suite, tasks: list[str], env_defaults: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Check every task (a base task or one of the suite's variants); the variants the run uses."""
    valid = envs.task_names(suite.env)
    used = {}
    for task in tasks:
        variant = suite.variants.get(task)
        base = variant["task"] if variant else task
        if valid is not None and base not in valid:
            names = ", ".join([*valid, *suite.variants])
            raise UsageError(f"task {base!r} is not a {suite.env} task; valid tasks: {names}")
        if suite.scores == "atari_human" and base not in atari_reference():
            raise UsageError(
                f"task {base!r} has no human reference score (scores = 'atari_human'); valid games: "
                f"{', '.join(sorted(atari_reference()))}"
            )
        if variant:
            where = f"{suite.source} [variants.{task}] env"
            unknown = sorted(set(variant["env"]) - set(env_defaults))
            if unknown:
                raise UsageError(f"{where}: unknown option {unknown[0]!r}; valid options: {', '.join(env_defaults)}")
            used[task] = variant
    return used


def _check_env_overrides(suite: Suite, tasks: list[str], given: dict[str, Any]) -> None:
    """A global ``env.KEY`` that every task's variant sets itself would be silently ignored: refuse it, naming
    the value's own range problem first (the adapter checks it) so an invalid value reads as invalid."""
    for key, value in given.items():
        owners = [suite.variants[t] for t in tasks if key in suite.variants.get(t, {}).get("env", {})]
        if len(owners) < len(tasks):
            continue  # some task uses it: check_spaces builds that task with it
        try:
            envs.make_env(suite.env, owners[0]["task"], np.array([0]), _env_defaults(suite) | given).close()
        except (TypeError, ValueError) as err:
            raise UsageError(f"invalid environment option: {err}") from err
        raise UsageError(
            f"--set env.{key}={value!r} has no effect: every task of this run is a variant of suite {suite.name!r} "
            f"that sets its own {key}; drop it, or change {key} in the suite's [variants.*] tables"
        )


def load(suite_ref: str, budget: str) -> Suite:
    """Load a suite and check that it has ``budget``."""
    try:
        suite = load_suite(suite_ref)
    except SuiteError as err:
        raise UsageError(str(err)) from err
    if budget not in suite.budgets:
        raise UsageError(f"suite {suite.name!r} has no budget {budget!r}; its budgets: {', '.join(suite.budgets)}")
    check_agent(suite.agent, f"{suite.source}: ")
    return suite


def check_agent(name: str, where: str = "") -> None:
    """``name`` must be a registered agent (shipped or plug-in)."""
    if name not in agents.available():
        raise UsageError(f"{where}unknown agent {name!r}; valid agents: {', '.join(agents.available())}")


def choose_agent(suite: Suite, agent: str | None, preset: str | None) -> tuple[str, Preset | None]:
    """The agent a run uses (``--agent``, else the preset's, else the suite's default) and the preset. Any
    registered agent may run on any suite: its ``Config`` defaults hold where the suite has no ``[agents.NAME]``
    table (suite tables only override); ``check_spaces`` refuses one that cannot act in the suite's actions."""
    chosen = None
    if preset:
        if preset not in suite.presets:
            valid = ", ".join(suite.presets) or "none"
            raise UsageError(f"suite {suite.name!r} has no preset {preset!r}; its presets: {valid}")
        chosen = suite.presets[preset]
        if agent and agent != chosen.agent:
            raise UsageError(f"preset {preset!r} is for agent {chosen.agent!r}, not {agent!r}; drop --agent")
    name = agent or (chosen.agent if chosen else suite.agent)
    check_agent(name)
    return name, chosen


def suite_table(tables: Mapping[str, Any], agent: str) -> str:
    """Which of a suite's ``[agents.X]`` tables (or a budget's) an agent reads: its own, else the one its class names
    (``SUITE_TABLE``: SB3's PPO reads ``[agents.ppo]``, so both train with the same hyper-parameters)."""
    if agent in tables:
        return agent
    return getattr(agents.available()[agent], "SUITE_TABLE", agent)


def table_options(tables: Mapping[str, Any], table: str, agent: str) -> dict[str, Any]:
    """The options ``agent`` reads from ``[agents.table]``: all of them from its own table; from another agent's,
    all but those its class cannot honour (``SUITE_SKIPS``: SB3's SAC has no delayed actor update)."""
    values = dict(tables.get(table, {}))
    if table != agent:
        for name in getattr(agents.available()[agent], "SUITE_SKIPS", ()):
            values.pop(name, None)
    return values


def _agent_options(
    suite: Suite, budget: str, agent: str, preset: dict[str, Any], given: dict[str, Any]
) -> dict[str, Any]:
    """Class defaults <- suite <- preset <- budget <- ``--set``, each name checked against the agent's options.
    The budget comes after the preset: it adapts any protocol to its length (a smoke budget's warm-up)."""
    defaults = configs.defaults(agents.config_class(agent))
    options = dict(defaults)
    table, adapted = suite_table(suite.agents, agent), suite_table(suite.budgets[budget].agents, agent)
    for where, values in (
        (f"{suite.source} [agents.{table}]", table_options(suite.agents, table, agent)),
        ("the preset", preset),
        (
            f"{suite.source} [budgets.{budget}.agents.{adapted}]",
            table_options(suite.budgets[budget].agents, adapted, agent),
        ),
    ):
        unknown = sorted(set(values) - set(defaults))
        if unknown:
            raise UsageError(f"{where}: unknown option {unknown[0]!r}; valid agent options: {', '.join(defaults)}")
        options |= values
    return options | check_section("agent", given, options)


def resolve(
    suite: Suite,
    budget: str,
    method: str,
    seed: int,
    overrides: dict[str, Any],
    agent: str | None = None,
    preset: str | None = None,
    point: dict[str, Any] | None = None,
) -> RunConfig:
    """Apply the overrides that concern this run to the suite, with every name and type checked. ``point`` (one
    point of a ``--sweep``) acts as more overrides, except that its agent options tag the method folder, not the
    experiment folder: all points share one leaderboard."""
    agent_name, chosen = choose_agent(suite, agent, preset)
    preset_sections = by_section(chosen.settings if chosen else {})
    preset_agent = preset_sections.pop("agent", {})  # merged below the budget; other sections as overrides
    point = point or {}
    swept = sweeps.swept_agent(point)
    overrides = {f"{sec}.{k}": v for sec, opts in preset_sections.items() for k, v in opts.items()} | overrides | point
    sections = by_section(overrides)
    parts = method_parts(method)
    b = suite.budgets[budget]
    run = {
        "suite": check_section("suite", sections.get("suite", {}), {"tasks": list(suite.tasks)}),
        "budget": check_section("budget", sections.get("budget", {}), {k: getattr(b, k) for k in BUDGET_KEYS}),
        "env": check_section("env", sections.get("env", {}), _env_defaults(suite)),
        "agent": sections.get("agent", {}),
        "diagnostics": check_section("diagnostics", sections.get("diagnostics", {}), DIAGNOSTIC_DEFAULTS),
    }
    tasks = run["suite"].get("tasks", suite.tasks)
    if not tasks:
        raise UsageError("suite.tasks is empty; name at least one task")
    variants = _check_tasks(suite, tasks, _env_defaults(suite))
    _check_env_overrides(suite, tasks, run["env"])
    agent_options = _agent_options(suite, budget, agent_name, preset_agent, run["agent"])
    unswept = _agent_options(suite, budget, agent_name, preset_agent, _without(run["agent"], swept)) if swept else {}
    moved = tuple(k for k in swept if agent_options[k] != unswept[k])  # a point at the usual value: a plain run
    iteration = _agent_config(agent_name, agent_options).iteration_steps
    steps, cycles = _budget(run["budget"], b, iteration, len(tasks))
    total = steps * cycles * len(tasks)
    given = {p: check_section(p, sections.get(p, {}), interventions.option_defaults(p)) for p in parts}
    if chosen and chosen.intervene == "midpoint":
        midpoint = total // 2 // iteration * iteration
        for p in parts:
            if "at_steps" in interventions.option_defaults(p):
                given[p] = {"at_switch": False, "at_steps": [midpoint]} | given[p]
    problem = check_limits(seed, cycles * len(tasks), agent_options["num_envs"])
    if problem:
        raise UsageError(problem)
    if agent_options.get("learning_starts", 0) >= total:
        raise UsageError(
            f"agent.learning_starts={agent_options['learning_starts']} is not below the run's {total} steps: the "
            "agent would never learn; lower it with --set agent.learning_starts=N or choose a longer budget"
        )
    config = RunConfig(
        suite=suite.name,
        suite_file=suite.source,
        suite_sha256=suite.sha256,
        budget=budget,
        env=suite.env,
        agent=agent_name,
        preset=preset or "",
        tasks=tuple(tasks),
        steps_per_phase=steps,
        cycles=cycles,
        env_options=_env_defaults(suite) | run["env"],
        agent_options=agent_options,
        method=method,
        method_options={p: interventions.option_defaults(p) | given[p] for p in parts},
        scores=suite.scores,
        seed=seed,
        variants=variants,
        diagnostics=_diagnostics(run["diagnostics"]),
        group_tag=_tag({k: v for k, v in (run | {"agent": _without(run["agent"], swept)}).items() if v}),
        method_tag=_tag({p: o for p, o in _off_default(given).items() if o} | _swept_tag(agent_options, moved)),
        swept_agent=moved,
    )
    _check_buildable(config)
    return config


def _off_default(given: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The method options given away from their defaults: an option set to its default is the default
    configuration, so it shares the untagged folder (a sweep point at the default reuses the untuned run)."""
    defaults = {p: interventions.option_defaults(p) for p in given}
    return {p: {k: v for k, v in o.items() if v != defaults[p].get(k)} for p, o in given.items()}


def _without(values: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k not in names}


def _swept_tag(agent_options: dict[str, Any], swept: tuple[str, ...]) -> dict[str, Any]:
    """The swept agent options, hashed into the method folder's tag under the key "agent"."""
    return {"agent": {k: agent_options[k] for k in swept}} if swept else {}


def _budget(given: dict[str, Any], budget: Budget, iteration: int, tasks: int) -> tuple[int, int]:
    """Steps per phase (rounded up to whole iterations) and cycles, each at least 1 and together at most
    ``MAX_TOTAL_STEPS``: a typo's 10^20 steps would otherwise start a run that never ends."""
    requested = given.get("steps_per_phase", budget.steps_per_phase)
    cycles = given.get("cycles", budget.cycles)
    for name, value in (("steps_per_phase", requested), ("cycles", cycles)):
        if value < 1:
            raise UsageError(f"budget.{name}={value} must be at least 1")
    steps = -(-requested // iteration) * iteration
    total = steps * cycles * tasks
    if total > MAX_TOTAL_STEPS:
        raise UsageError(
            f"the budget makes {total:.3g} agent steps ({cycles} x {tasks} phases of {steps:.3g} steps), above the "
            f"limit of {MAX_TOTAL_STEPS:.0e}; lower budget.steps_per_phase or budget.cycles"
        )
    return steps, cycles


def _agent_config(agent: str, options: dict[str, Any]) -> Any:
    try:
        return agents.config_class(agent)(**options)
    except (TypeError, ValueError) as err:
        raise UsageError(f"invalid configuration: {err}") from err


def _diagnostics(given: dict[str, Any]) -> dict[str, Any]:
    try:
        return dataclasses.asdict(DiagnosticsConfig(**given))
    except (TypeError, ValueError) as err:
        raise UsageError(f"invalid configuration: {err}") from err


def _check_buildable(config: RunConfig) -> None:
    """Construct the methods once, so invalid combinations fail before any run."""
    try:
        interventions.build(config.method, config.method_options)
    except (TypeError, ValueError) as err:
        raise UsageError(f"invalid configuration: {err}") from err


def plan(
    suite_ref: str,
    methods: list[str],
    seeds: list[int],
    budget: str,
    overrides: dict[str, Any],
    agent: str | None = None,
    preset: str | None = None,
    sweep: sweeps.Sweep | None = None,
) -> list[RunConfig]:
    """All runs of ``methods`` x sweep points x ``seeds`` on one suite; overrides for methods not named are
    refused. A method is planned once per point of the grid of its relevant sweep keys (``sweep.points``)."""
    suite = load(suite_ref, budget)
    named = {p for m in methods for p in method_parts(m)}
    for section in by_section(overrides):
        if section not in RUN_SECTIONS and section not in named:
            valid = ", ".join([*RUN_SECTIONS, *sorted(named)])
            raise UsageError(f"--set {section}.*: {section!r} is not a section of this run; valid sections: {valid}")
    sweep = sweep or {}
    defaults = {"agent": configs.defaults(agents.config_class(choose_agent(suite, agent, preset)[0]))}
    sweeps.check(sweep, overrides, defaults | {p: interventions.option_defaults(p) for p in sorted(named)})

    def concerning(method: str) -> dict[str, Any]:
        sections = (*RUN_SECTIONS, *method_parts(method))
        return {k: v for k, v in overrides.items() if k.split(".")[0] in sections}

    runs = [
        resolve(suite, budget, m, s, concerning(m), agent, preset, point)
        for m in methods
        for point in sweeps.points(sweep, method_parts(m))
        for s in seeds
    ]
    _check_one_schedule(runs)
    checked: set[str] = set()
    for config in runs:
        key = json.dumps([config.tasks, config.env_options, config.variants], sort_keys=True)
        if key not in checked:
            check_spaces(config)
            checked.add(key)
    return runs


def _check_one_schedule(runs: list[RunConfig]) -> None:
    """Runs that share an experiment folder share one schedule: a swept agent option that changes the iteration
    (``num_steps``, ``num_envs``, ``train_frequency``) rounds the phases to other lengths, and its board could not
    be built after training."""
    first: dict[Path, RunConfig] = {}
    for config in runs:
        group = config.relative_dir().parent.parent
        other = first.setdefault(group, config)
        if (config.steps_per_phase, config.cycles) != (other.steps_per_phase, other.cycles):
            raise UsageError(
                f"the sweep gives one board two schedules ({other.steps_per_phase:,} and {config.steps_per_phase:,} "
                "steps per phase: phases are rounded to whole iterations of each point's agent); set "
                "budget.steps_per_phase to a multiple of every point's iteration, or sweep other values"
            )


def check_spaces(config: RunConfig) -> None:
    """Every task of a run must fit the one network built for its first: build one env of each task and compare."""
    specs = {}
    for task in dict.fromkeys(config.tasks):
        try:
            env = envs.make_env(config.env, task, np.array([0]), config.env_options, config.variants.get(task))
        except (TypeError, ValueError) as err:
            raise UsageError(f"invalid environment option for task {task!r}: {err}") from err
        specs[task] = agents.env_spec(env)
        env.close()
    first, spec = next(iter(specs.items()))
    for task, other in specs.items():
        problem = spaces_mismatch(other, spec, repr(task), repr(first))
        if problem:
            raise UsageError(problem)
    fitting = agents.fitting(spec.action_spec)
    if config.agent not in fitting:
        raise UsageError(
            f"agent {config.agent!r} cannot act in the {spec.action_spec.kind} actions of task {first!r}; agents "
            f"that fit: {', '.join(fitting)} (choose one with --agent)"
        )
    problem = encoder_mismatch(config.agent_options.get("encoder", ""), spec.obs_shape)
    if problem:
        raise UsageError(f"agent {config.agent!r} on suite {config.suite!r}: {problem}")
