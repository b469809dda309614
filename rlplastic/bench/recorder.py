"""One writer for a run's records: CSV files (appended, flushed per update) and TensorBoard events."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from rlplastic.bench.store import EPISODES, METRICS, TENSORBOARD
from rlplastic.envs import Phase
from rlplastic.envs.episodes import Episode

EPISODE_FIELDS = ["phase", "task", "step", "return", "length"]


def truncate_csv(path: Path, max_step: int) -> None:
    """Keep only the rows whose ``step`` is at most ``max_step`` (records made after the last checkpoint go)."""
    if not path.exists():
        return
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
        fields = rows[0].keys() if rows else None
    if fields is None:
        return
    kept = [r for r in rows if int(r["step"]) <= max_step]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(fields))
        writer.writeheader()
        writer.writerows(kept)


class Recorder:
    """Writes episodes and per-update metrics of one run."""

    def __init__(self, run_dir: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self._episodes, self._episode_writer = self._open(run_dir / EPISODES, EPISODE_FIELDS)
        self._metrics_path = run_dir / METRICS
        self._metrics = None
        self._metric_writer: csv.DictWriter | None = None
        self._tb = SummaryWriter(str(run_dir / TENSORBOARD))

    @staticmethod
    def _open(path: Path, fields: list[str]) -> tuple[Any, csv.DictWriter]:
        new = not path.exists() or path.stat().st_size == 0
        f = open(path, "a", newline="")  # noqa: SIM115 - kept open for the run's lifetime
        writer = csv.DictWriter(f, fieldnames=fields)
        if new:
            writer.writeheader()
        return f, writer

    def episode(self, phase: Phase, step: int, episode: Episode) -> None:
        self._episode_writer.writerow(
            {
                "phase": phase.index,
                "task": phase.task,
                "step": step,
                "return": episode.ret,
                "length": episode.length,
            }
        )
        self._tb.add_scalar(f"return/{phase.task}", episode.ret, step)
        self._tb.add_scalar("return/all", episode.ret, step)

    def update(self, phase: Phase, step: int, stats: dict[str, float]) -> None:
        row = {"phase": phase.index, "task": phase.task, "step": step} | stats
        if self._metric_writer is None:
            self._metrics, self._metric_writer = self._open(self._metrics_path, list(row))
        self._metric_writer.writerow(row)
        for key, value in stats.items():
            self._tb.add_scalar(f"train/{key}", value, step)
        self.flush()

    def flush(self) -> None:
        self._episodes.flush()
        if self._metrics is not None:
            self._metrics.flush()

    def close(self) -> None:
        self.flush()
        self._episodes.close()
        if self._metrics is not None:
            self._metrics.close()
        self._tb.close()
