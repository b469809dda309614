"""Suites as data: each TOML file names its tasks, budgets, environment options and agent hyper-parameters.

``load_suite("atari")`` reads a shipped suite; ``load_suite("path/to/my_suite.toml")`` reads a user's own,
written in the same format (see ``atari.toml``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from rlplastic.envs import ENV_KINDS, VARIANT_KEYS

SUITE_DIR = Path(__file__).parent
NAME = re.compile(r"[A-Za-z0-9_.-]+")
# Score normalisations and the env whose tasks they cover ("": against `reset`, for any env).
SCORES = {"": "", "atari_human": "atari", "dmc_max": "dmc"}
BUDGET_KEYS = ("steps_per_phase", "cycles")


class SuiteError(ValueError):
    """A suite that does not exist or whose file is malformed."""


@dataclass(frozen=True)
class Budget:
    """A training length; ``agents`` holds per-agent options this length needs (e.g. a shorter warm-up)."""

    steps_per_phase: int
    cycles: int
    about: str = ""
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Preset:
    """A named protocol: an agent, ``--set`` values, and optionally ``intervene = "midpoint"`` (point methods
    act once, halfway through the run, instead of at switches)."""

    agent: str
    settings: dict[str, Any]
    about: str = ""
    intervene: str = ""


@dataclass(frozen=True)
class Suite:
    """``agent`` is the default agent; ``agents`` holds each supported agent's hyper-parameters."""

    name: str
    description: str
    env: str
    agent: str
    tasks: list[str]
    budgets: dict[str, Budget]
    env_options: dict[str, Any] = field(default_factory=dict)
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    presets: dict[str, Preset] = field(default_factory=dict)
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    scores: str = ""
    source: str = ""
    sha256: str = ""


def available_suites() -> dict[str, Path]:
    """The suites shipped with the package, by name."""
    return {p.stem: p for p in sorted(SUITE_DIR.glob("*.toml"))}


def resolve_path(name_or_path: str) -> Path:
    """The TOML file of a shipped suite name or of a user's path."""
    shipped = available_suites()
    if name_or_path in shipped:
        return shipped[name_or_path]
    path = Path(name_or_path)
    if path.suffix == ".toml":
        if not path.is_file():
            raise SuiteError(f"suite file {name_or_path!r} does not exist; give an existing .toml path")
        return path
    raise SuiteError(f"unknown suite {name_or_path!r}; valid suites: {', '.join(shipped)} (or a path to a .toml)")


def _require(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    """``data[key]``, of type ``kind``; a TOML ``true`` is not an int (Python's bool is one, and would count as 1)."""
    if key not in data:
        raise SuiteError(f"{where}: missing key {key!r}")
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        article = "an" if kind.__name__[0] in "aeiou" else "a"
        raise SuiteError(f"{where}: {key!r} must be {article} {kind.__name__}, got {type(value).__name__} {value!r}")
    return value


def _tables(data: dict[str, Any], key: str, where: str) -> dict[str, dict[str, Any]]:
    """An optional table of tables (``[agents.ppo]``, ``[budgets.smoke.agents.dqn]``)."""
    tables = _require(data, key, dict, where) if key in data else {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise SuiteError(f"{where}: [{key}.{name}] must be a table")
    return {k: dict(v) for k, v in tables.items()}


def _budget(data: Any, where: str) -> Budget:
    if not isinstance(data, dict):
        raise SuiteError(f"{where}: must be a table with steps_per_phase and cycles")
    steps = _require(data, "steps_per_phase", int, where)
    cycles = _require(data, "cycles", int, where)
    if steps <= 0 or cycles <= 0:
        raise SuiteError(f"{where}: steps_per_phase and cycles must be positive")
    return Budget(steps, cycles, str(data.get("about", "")), _tables(data, "agents", where))


def _preset(data: Any, where: str) -> Preset:
    if not isinstance(data, dict):
        raise SuiteError(f"{where}: must be a table with agent and set")
    intervene = str(data.get("intervene", ""))
    if intervene not in ("", "midpoint"):
        raise SuiteError(f"{where}: intervene must be 'midpoint' or absent, not {intervene!r}")
    settings = _require(data, "set", dict, where) if "set" in data else {}
    return Preset(_require(data, "agent", str, where), dict(settings), str(data.get("about", "")), intervene)


def _variant(data: dict[str, Any], where: str) -> dict[str, Any]:
    """A task variant, resolved: base ``task``, its own ``env`` options, permutation seeds (-1: none), reward scale."""
    unknown = sorted(set(data) - set(VARIANT_KEYS))
    if unknown:
        raise SuiteError(f"{where}: unknown key {unknown[0]!r}; valid keys: {', '.join(VARIANT_KEYS)}")
    variant = {
        "task": _require(data, "task", str, where),
        "env": dict(_require(data, "env", dict, where)) if "env" in data else {},
        "permute_obs": data.get("permute_obs", -1),
        "permute_actions": data.get("permute_actions", -1),
        "random_reward": data.get("random_reward", -1),
        "reward_scale": data.get("reward_scale", 1.0),
    }
    if "permute_entries" in data:  # only when set: configs of runs made before it existed stay the same
        variant["permute_entries"] = data["permute_entries"]
    for key in ("permute_obs", "permute_entries", "permute_actions", "random_reward"):
        seed = variant.get(key, -1)
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < -1:
            raise SuiteError(f"{where}: {key} must be a seed >= 0 (or -1 for none), not {seed!r}")
    if variant["permute_obs"] != -1 and variant.get("permute_entries", -1) != -1:
        raise SuiteError(f"{where}: permute_obs and permute_entries both permute the observation; set only one")
    scale = variant["reward_scale"]
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale < float("inf"):
        raise SuiteError(f"{where}: reward_scale must be a finite number > 0, not {scale!r}")
    variant["reward_scale"] = float(scale)
    return variant


def parse_suite(data: dict[str, Any], source: str) -> Suite:
    """Validate a suite's TOML content; every problem names the key and the file."""
    env = _require(data, "env", str, source)
    if env not in ENV_KINDS:
        raise SuiteError(f"{source}: env {env!r} is not one of {', '.join(ENV_KINDS)}")
    tasks = _require(data, "tasks", list, source)
    if not tasks or not all(isinstance(t, str) for t in tasks):
        raise SuiteError(f"{source}: 'tasks' must be a non-empty list of task names")
    budgets = {k: _budget(v, f"{source} [budgets.{k}]") for k, v in _require(data, "budgets", dict, source).items()}
    if not budgets:
        raise SuiteError(f"{source}: define at least one [budgets.NAME] table")
    scores = str(data.get("scores", ""))
    if scores not in SCORES:
        raise SuiteError(f"{source}: scores {scores!r} is not one of: {', '.join(repr(k) for k in SCORES)}")
    if scores and SCORES[scores] != env:
        raise SuiteError(f"{source}: scores {scores!r} are for env {SCORES[scores]!r} tasks, not {env!r}; remove it")
    agent = str(data.get("agent", "ppo"))
    agents = _tables(data, "agents", source)
    if "agent_options" in data:  # the one-agent form: options of the default agent
        agents.setdefault(agent, {}).update(_require(data, "agent_options", dict, source))
    presets = {k: _preset(v, f"{source} [presets.{k}]") for k, v in _tables(data, "presets", source).items()}
    variants = {k: _variant(v, f"{source} [variants.{k}]") for k, v in _tables(data, "variants", source).items()}
    return Suite(
        name=_name(data, source),
        description=str(data.get("description", "")),
        env=env,
        agent=agent,
        tasks=list(tasks),
        budgets=budgets,
        env_options=dict(_require(data, "env_options", dict, source)) if "env_options" in data else {},
        agents=agents,
        presets=presets,
        variants=variants,
        scores=scores,
        source=source,
    )


def load_suite(name_or_path: str) -> Suite:
    """Read and validate a suite by shipped name or TOML path."""
    path = resolve_path(name_or_path)
    data, text = _read(path, [])
    suite = parse_suite(data, str(path))
    return dataclasses.replace(suite, sha256=hashlib.sha256(text.encode()).hexdigest())


INHERITED_NOT = ("name", "description", "tasks", "variants")  # what a suite that extends another must say itself


def _read(path: Path, chain: list[Path]) -> tuple[dict[str, Any], str]:
    """The TOML content of ``path`` with ``extends = "SUITE"`` resolved: the named suite's tables (agents,
    budgets, env options, presets, scores, env) are inherited, key by key, unless this file sets them; its name,
    description, tasks and variants are not. The text returned covers every file read (for the SHA-256)."""
    if path.resolve() in chain:
        raise SuiteError(f"suite file {path}: 'extends' forms a cycle ({' -> '.join(map(str, [*chain, path]))})")
    data, text = _parse(path)
    base = data.pop("extends", None)
    if base is None:
        return data, text
    if not isinstance(base, str):
        raise SuiteError(f"suite file {path}: extends must name a suite or a .toml path, not {base!r}")
    relative = base.endswith(".toml") and not Path(base).is_absolute()
    parent, parent_text = _read(resolve_path(str(path.parent / base) if relative else base), [*chain, path.resolve()])
    inherited = {k: v for k, v in parent.items() if k not in INHERITED_NOT}
    return _merge(inherited, data), parent_text + "\n" + text


def _merge(base: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """``own`` over ``base``, table by table (a value in ``own`` replaces; a table merges)."""
    out = dict(base)
    for key, value in own.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _parse(path: Path) -> tuple[dict[str, Any], str]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise SuiteError(
            f"suite file {path} is not UTF-8 text ({err.reason} at byte {err.start}); save it as UTF-8"
        ) from err
    except OSError as err:
        raise SuiteError(
            f"suite file {path} cannot be read ({err.strerror}); check the path and its permissions"
        ) from err
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as err:
        raise SuiteError(f"suite file {path} is not valid TOML ({err}); fix the file") from err


def _name(data: dict[str, Any], source: str) -> str:
    """The suite's name, which becomes a folder under ``--out``: one plain path component."""
    name = str(data.get("name", Path(source).stem))
    if not NAME.fullmatch(name) or name.startswith("."):
        raise SuiteError(
            f"{source}: name {name!r} must be letters, digits, '-', '_' or '.' (not starting with '.'), "
            "since it becomes a folder under --out"
        )
    return name
