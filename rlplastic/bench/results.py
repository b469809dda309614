"""Reading finished runs from their folders alone: configuration, schedule and episodes.

Light on purpose: pandas and the JSON config only, never torch, the agents or the planner, so ``table`` and
``plot`` start in a second and work on a machine that only holds the results. Every run folder under ``--out``
counts, whichever command made it; runs are grouped by their experiment folder
(``<suite>/<agent>-<budget>[-preset][-tag]``), inside which every run shares one schedule and one setting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from rlplastic.bench.errors import UsageError
from rlplastic.bench.layout import CONFIG, DIAGNOSTICS, DONE, EPISODES
from rlplastic.envs.schedule import Phase, make_schedule

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
    """One finished run folder."""

    dir: Path
    config: dict[str, Any]

    @property
    def method(self) -> str:
        return str(self.config["method"])

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
        path = self.dir / EPISODES
        try:
            frame = pd.read_csv(path)
        except (OSError, ValueError) as err:
            raise UsageError(f"{path} cannot be read ({err}); delete the run folder {self.dir} to rerun it") from err
        missing = [c for c in ("step", "start", "return") if c not in frame.columns]
        if missing:
            raise UsageError(
                f"{path} has no {missing[0]!r} column (written by an older rlplastic); delete the run folder "
                f"{self.dir} to rerun it"
            )
        if frame[["step", "start", "return"]].isna().any().any():
            raise UsageError(f"{path} has empty fields; delete the run folder {self.dir} to rerun it")
        return frame

    def diagnostics(self) -> pd.DataFrame:
        """The run's diagnostics rows (empty where it measured none)."""
        path = self.dir / DIAGNOSTICS
        if not path.exists() or path.stat().st_size == 0:
            return pd.DataFrame(columns=["phase", "step", "when", "network", "layer", "quantity", "value"])
        try:
            return pd.read_csv(path, dtype={"layer": str})
        except (OSError, ValueError) as err:
            raise UsageError(f"{path} cannot be read ({err}); delete the run folder {self.dir} to rerun it") from err


def _load(config_path: Path) -> Run:
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        missing = [k for k in (*SHARED, "method", "seed") if k not in config]
    except (OSError, ValueError) as err:
        raise UsageError(f"{config_path} cannot be read ({err}); delete its run folder to rerun it") from err
    if missing:
        raise UsageError(f"{config_path} lacks {missing[0]!r} (written by an older rlplastic); delete its run folder")
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
    """Runs grouped by experiment folder; an error if two runs of one folder differ in a shared setting."""
    groups: dict[Path, list[Run]] = {}
    for run in runs:
        groups.setdefault(run.group, []).append(run)
    for group, members in groups.items():
        first = members[0]
        for run in members[1:]:
            differ = [k for k in SHARED if run.config[k] != first.config[k]]
            if differ:
                raise UsageError(
                    f"runs {first.dir} and {run.dir} share the folder {group} but differ in {differ[0]!r}; "
                    "move one of them to another --out"
                )
    return groups
