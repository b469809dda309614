"""Reading finished runs from their folders alone: configuration, schedule and episodes.

Light on purpose: pandas and the JSON config only, never torch, the agents or the planner, so ``table`` and
``plot`` start in a second and work on a machine that only holds the results. Every run folder under ``--out``
counts, whichever command made it; runs are grouped by their experiment folder
(``<suite>/<agent>-<budget>[-preset][-tag]``), inside which every run shares one schedule and one setting.

A method's identity is its name plus its resolved options: two configurations of one method are two rows with
two labels (``fire`` and ``fire[iters=5]``), never one. Damaged data (a config of the wrong types, a record
with a non-number or a cut last line) is refused with one line naming the run folder, before anything is
written.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from rlplastic.envs.schedule import Phase, make_schedule
from rlplastic.errors import UsageError
from rlplastic.folders import CONFIG, DIAGNOSTICS, DONE, EPISODES, LATER_DEFAULTS

SCORE_KINDS = ("atari_human", "dmc_max", "")
NUMERICS = ("threads", "cpu_capability", "torch")
"""What a run records of its numerics (``config.json`` key ``numerics``): a seed's numbers depend on them."""
LATER_NUMERICS = ("device", "gpu", "precision", "deterministic")
"""Recorded since runs take a device (``run/numerics.py``); shown where a run recorded them."""
EPISODE_COLUMNS = ("step", "start", "return")
DIAGNOSTIC_COLUMNS = ("phase", "step", "when", "network", "layer", "quantity", "value")

SHARED = (
    "suite",
    "suite_sha256",
    "budget",
    "env",
    "agent",
    "preset",
    "tasks",
    "steps_per_phase",
    "cycles",
    "env_options",
    "agent_options",
    "scores",
    "variants",
    "diagnostics",
    "version",
)
"""Settings every run of one experiment folder shares (method and seed vary)."""


@dataclass(frozen=True)
class Run:
    """One finished run folder; ``label`` names its method and options in tables (``labels`` sets ``row_label``
    where configurations of one method must be told apart)."""

    dir: Path
    config: dict[str, Any]
    row_label: str = ""
    row_settings: tuple[tuple[str, Any], ...] = ()
    """The settings that set this configuration apart from the method's others, as its label shows them
    (``(("lam", 0.1),)``; ``agent.*`` for a swept agent option): empty for a method with one configuration."""

    @property
    def method(self) -> str:
        return str(self.config["method"])

    @property
    def label(self) -> str:
        """The run's row in every table: its method, or the method with the options that set it apart."""
        return self.row_label or self.method

    @property
    def options(self) -> str:
        """The resolved method options, as a canonical string: runs of one configuration share it."""
        return json.dumps(self.config.get("method_options", {}), sort_keys=True)

    @property
    def swept_agent(self) -> set[str]:
        """Agent options a ``--sweep`` varied between this folder's runs (they live in one experiment folder)."""
        return set(self.config.get("swept_agent", ()))

    def settings(self, agent_keys: set[str]) -> dict[str, Any]:
        """The configuration's identity within its method: its method options (flat) plus the values of the
        agent options swept in its experiment folder (``agent.<option>``)."""
        agent = LATER_DEFAULTS["agent_options"] | self.config.get("agent_options", {})
        stored = self.config.get("method_options", {})
        own = flat_options({p: LATER_DEFAULTS.get(f"method_options.{p}", {}) | o for p, o in stored.items()})
        return own | {f"agent.{k}": agent.get(k) for k in sorted(agent_keys)}

    @cached_property
    def numerics(self) -> tuple[str, ...] | None:
        """Threads, CPU capability and torch version the run trained with (None: not recorded); a resume under
        other numerics adds them, so such a run never looks like one made under a single setting."""
        recorded = self.config.get("numerics")
        if not isinstance(recorded, dict):
            return None
        values = tuple(str(recorded.get(k, "?")) for k in NUMERICS)
        values += tuple(f"{k} {recorded[k]}" for k in LATER_NUMERICS if k in recorded)
        resumed = _done(self.dir).get("numerics_at_resume")
        if isinstance(resumed, dict) and resumed:
            values += (f"resumed with {', '.join(f'{k} {v}' for k, v in sorted(resumed.items()))}",)
        return values

    @property
    def architecture(self) -> str:
        """The network torso the run trained (``agent.encoder``: ``simba``, ``mlp_256``, ...; "" if not recorded).
        An agent option, so runs of two torsos live in two experiment folders (``SHARED``), one board each."""
        options = self.config.get("agent_options", {})
        return str(options.get("encoder", "")) if isinstance(options, dict) else ""

    @property
    def seed(self) -> int:
        return int(self.config["seed"])

    @property
    def group(self) -> Path:
        return self.dir.parent.parent

    @cached_property
    def phases(self) -> list[Phase]:
        return make_schedule(
            list(self.config["tasks"]), int(self.config["steps_per_phase"]), int(self.config["cycles"])
        )

    def base_task(self, task: str) -> str:
        """The environment task behind a task name (a suite's variant names its base task)."""
        return str(self.config.get("variants", {}).get(task, {}).get("task", task))

    def episodes(self) -> pd.DataFrame:
        """Columns ``step`` (end), ``start`` and ``return`` of every recorded episode, in order."""
        frame = _read(self.dir / EPISODES, EPISODE_COLUMNS, self.dir)
        if frame[list(EPISODE_COLUMNS)].isna().any().any():
            raise UsageError(f"{self.dir / EPISODES} has empty fields; delete the run folder {self.dir} to rerun it")
        return frame

    def diagnostics(self) -> pd.DataFrame:
        """The run's diagnostics rows (empty where it measured none)."""
        path = self.dir / DIAGNOSTICS
        if not path.exists() or path.stat().st_size == 0:
            return pd.DataFrame(columns=list(DIAGNOSTIC_COLUMNS))
        return _read(path, DIAGNOSTIC_COLUMNS, self.dir, text=("when", "network", "layer", "quantity"))


def _read(path: Path, columns: tuple[str, ...], run_dir: Path, text: tuple[str, ...] = ()) -> pd.DataFrame:
    """A record file with ``columns``, every one a number but those in ``text``; anything else is a one-line
    error naming the file (the training command refuses the same files: a cut last line too)."""
    fix = f"delete the run folder {run_dir} to rerun it"
    try:
        if not path.read_bytes().endswith(b"\n"):
            raise UsageError(f"{path} is damaged (its last line is cut); {fix}")
        frame = pd.read_csv(path, dtype={c: str for c in text})
    except (OSError, ValueError) as err:
        raise UsageError(f"{path} cannot be read ({type(err).__name__}: {err}); {fix}") from err
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise UsageError(f"{path} has no {missing[0]!r} column (written by an older rlplastic); {fix}")
    for column in columns:
        if column in text or pd.api.types.is_numeric_dtype(frame[column]):
            continue
        bad = frame[column][pd.to_numeric(frame[column], errors="coerce").isna() & frame[column].notna()]
        if len(bad):
            raise UsageError(f"{path}: column {column!r} holds {bad.iloc[0]!r}, not a number; {fix}")
        frame[column] = pd.to_numeric(frame[column])  # a header alone (no episode ended): empty, still numbers
    return frame


def _done(run_dir: Path) -> dict[str, Any]:
    """The run's DONE summary (an empty dict where it is not JSON: older runs wrote other summaries)."""
    try:
        summary = json.loads((run_dir / DONE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return summary if isinstance(summary, dict) else {}


def _check_config(path: Path, config: dict[str, Any]) -> None:
    """The types the reader relies on: a wrong one is a one-line error, never a traceback later."""

    def whole(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1

    problems = [
        (
            "tasks",
            isinstance(config["tasks"], list) and config["tasks"] and all(isinstance(t, str) for t in config["tasks"]),
            "a non-empty list of task names",
        ),
        ("steps_per_phase", whole(config["steps_per_phase"]), "a whole number of steps, at least 1"),
        ("cycles", whole(config["cycles"]), "a whole number, at least 1"),
        ("scores", config["scores"] in SCORE_KINDS, f"one of {', '.join(map(repr, SCORE_KINDS))}"),
        ("seed", isinstance(config["seed"], int) and not isinstance(config["seed"], bool), "a whole number"),
        ("method", isinstance(config["method"], str) and config["method"], "a method name"),
        ("variants", isinstance(config["variants"], dict), "a table of variants"),
        ("method_options", isinstance(config.get("method_options", {}), dict), "a table of options per method"),
    ]
    for key, ok, what in problems:
        if not ok:
            raise UsageError(f"{path}: {key!r} is {config[key]!r}, not {what}; delete its run folder to rerun it")


def _load(config_path: Path) -> Run:
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        missing = [k for k in (*SHARED, "method", "seed") if k not in config]
    except (OSError, ValueError, TypeError) as err:
        raise UsageError(f"{config_path} cannot be read ({err}); delete its run folder to rerun it") from err
    if missing:
        raise UsageError(f"{config_path} lacks {missing[0]!r} (written by an older rlplastic); delete its run folder")
    _check_config(config_path, config)
    return Run(config_path.parent, config)


def find_runs(out: Path) -> tuple[list[Run], list[Path]]:
    """The finished runs under ``out`` and the folders of runs not finished (yet), both in path order."""
    if not out.is_dir():
        raise UsageError(f"--out {out} is not a folder; point --out at the folder your runs were written to")
    finished, unfinished = [], []
    for config_path in sorted(out.rglob(CONFIG)):
        if (config_path.parent / DONE).exists():
            finished.append(_load(config_path))
        else:
            unfinished.append(config_path.parent)
    return finished, unfinished


def by_experiment(runs: list[Run]) -> dict[Path, list[Run]]:
    """Runs grouped by experiment folder, each labelled (``labels``); an error if two runs of one folder differ in
    a shared setting, or if one configuration of a method holds one seed twice."""
    groups: dict[Path, list[Run]] = {}
    for run in runs:
        groups.setdefault(run.group, []).append(run)
    for group, members in groups.items():
        first, swept = members[0], set().union(*(run.swept_agent for run in members))
        for run in members[1:]:
            differ = [k for k in SHARED if _shared(run, swept, k) != _shared(first, swept, k)]
            if differ:
                raise UsageError(
                    f"runs {first.dir} and {run.dir} share the folder {group} but differ in {differ[0]!r}; "
                    "move one of them to another --out"
                )
        groups[group] = labels(members)
    return groups


def _shared(run: Run, swept: set[str], key: str) -> Any:
    """A shared setting of ``run``; agent options swept in its folder are part of each run's configuration."""
    value = run.config[key]
    if key == "agent_options" and isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in swept}
    return value


def labels(runs: list[Run]) -> list[Run]:
    """The runs with their table labels. A method run with one configuration is its name; several configurations
    of one method are told apart by the settings in which they differ (options, and agent options swept in the
    folder): ``fire[iters=5]``. The configuration of an untagged folder (every option at its default) keeps the
    plain name, and so does any run of the same configuration. Two runs of one label and seed (the same
    configuration trained into two folders) are refused: they would count one seed twice."""
    swept = set().union(*(run.swept_agent for run in runs)) if runs else set()
    configs: dict[str, dict[str, dict[str, Any]]] = {}
    plain: dict[str, set[str]] = {}
    for run in runs:
        settings = run.settings(swept)
        key = json.dumps(settings, sort_keys=True)
        configs.setdefault(run.method, {})[key] = settings
        if not run.config.get("method_tag"):
            plain.setdefault(run.method, set()).add(key)
    out, seen = [], {}
    for run in runs:
        key = json.dumps(run.settings(swept), sort_keys=True)
        label, shown = _label(run.method, key, configs[run.method], plain.get(run.method, set()))
        if (label, run.seed) in seen:
            raise UsageError(
                f"runs {seen[label, run.seed]} and {run.dir} are both seed {run.seed} of {label} (the same "
                "configuration in two folders); delete one of them"
            )
        seen[label, run.seed] = run.dir
        out.append(dataclasses.replace(run, row_label=label, row_settings=shown))
    return out


def flat_options(options: dict[str, Any]) -> dict[str, Any]:
    """``{part: {key: value}}`` as ``{key: value}`` for a single method, ``{part.key: value}`` for a composite."""
    if len(options) == 1:
        return dict(next(iter(options.values())))
    return {f"{part}.{k}": v for part, values in options.items() for k, v in values.items()}


def _label(
    method: str, key: str, variants: dict[str, dict[str, Any]], plain: set[str]
) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """A configuration's label and the settings it shows: the plain method name where it is the method's only
    configuration or that of an untagged (default) folder, else ``method[k=v, ...]`` over the differing keys."""
    mine = variants[key]
    keys = sorted({k for other in variants.values() for k in mine.keys() | other.keys() if other.get(k) != mine.get(k)})
    shown = tuple((k, mine.get(k)) for k in keys)
    if len(variants) == 1 or key in plain:
        return method, shown if len(variants) > 1 else ()
    return f"{method}[{settings_text(shown)}]", shown


def value_text(value: Any) -> str:
    """An option's value as a label shows it: strings bare, everything else as JSON (``0.1``, ``true``)."""
    return value if isinstance(value, str) else json.dumps(value)


def settings_text(settings: Iterable[tuple[str, Any]]) -> str:
    """``(("lam", 0.1), ("scale", "init"))`` -> ``lam=0.1, scale=init``: one spelling in every table and label."""
    return ", ".join(f"{k}={value_text(v)}" for k, v in settings)
