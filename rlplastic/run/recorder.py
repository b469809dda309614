"""One writer for a run's records: CSV files (appended, flushed per metrics row) and TensorBoard events.

The CSV files are the records; TensorBoard is a view of them. After a crash the runner cuts the CSV files back
to the checkpoint's step (``cut_back``: atomic, and a half-written last line is dropped) and rebuilds the
TensorBoard events from them (``rebuild_tensorboard``), so a resumed run's records equal an uninterrupted run's:
nothing lost, nothing doubled. (TensorBoard's ``purge_step`` would hide the doubled events from its own reader
only, and leave them in the files; rebuilding leaves one events file with exactly the kept records.)
Throughput is not a record: it goes to TensorBoard (``speed/steps_per_s``) and the progress display only, so
the rebuild cannot restore it (see ``rebuild_tensorboard``).
"""

from __future__ import annotations

import csv
import math
import os
import shutil
from pathlib import Path
from typing import Any

from rlplastic.envs import Phase
from rlplastic.envs.spec import Episode
from rlplastic.errors import UsageError
from rlplastic.folders import DIAGNOSTICS, EPISODES, METRICS, TENSORBOARD
from rlplastic.run.faults import fault
from rlplastic.run.store import temporary

EPISODE_FIELDS = ["phase", "task", "step", "start", "return", "length"]  # step: where it ended; start: began
DIAGNOSTIC_FIELDS = ["phase", "task", "step", "when", "network", "layer", "quantity", "value"]  # long: any quantity
RECORDS = (EPISODES, METRICS, DIAGNOSTICS)
FIXED = ("phase", "task", "step")  # the columns of a metrics row that are not statistics


class DamagedRecords(UsageError):
    """A record file that cannot be read as written: never half-used."""


def _damaged(path: Path, line: int, why: str) -> DamagedRecords:
    return DamagedRecords(
        f"{path} is damaged at line {line} ({why}); delete the run folder {path.parent} to rerun that run"
    )


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the complete rows of a record file; a last line without its newline (a write cut by a
    crash) is left out, any other malformed line is an error naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise _damaged(path, 0, f"not UTF-8 text at byte {err.start}") from err
    lines = text.split("\n")
    complete = lines[:-1]  # the part after the last newline was never finished
    if not complete:
        return [], []
    header = next(csv.reader([complete[0]]))
    if "step" not in header:
        raise _damaged(path, 1, "no header with a 'step' column")
    rows = []
    for number, line in enumerate(complete[1:], start=2):
        values = next(csv.reader([line]), [])
        if len(values) != len(header):
            raise _damaged(path, number, f"{len(values)} fields instead of {len(header)}")
        row = dict(zip(header, values, strict=True))
        if not row["step"].isdigit():
            raise _damaged(path, number, f"step {row['step']!r} is not a whole number")
        rows.append(row)
    return header, rows


def check_records(run_dir: Path) -> None:
    """A finished run's records exist and read back whole (``DamagedRecords`` otherwise)."""
    for name in RECORDS:
        path = run_dir / name
        if not path.exists():
            raise DamagedRecords(f"{path} is missing from a finished run; delete the run folder {run_dir} to rerun it")
        header, rows = read_rows(path)
        if not header:
            raise _damaged(path, 1, "no header")
        if not path.read_bytes().endswith(b"\n"):
            raise _damaged(path, len(rows) + 2, "the last line is cut")


def cut_back(path: Path, max_step: int, next_phase: int | None = None) -> None:
    """Keep only the rows whose ``step`` is at most ``max_step``; with ``next_phase`` (a checkpoint taken at a
    phase's end) rows at ``max_step`` that belong to ``next_phase`` or later go too: they were written at that
    phase's start (its switch diagnostics) and will be written again. The file is replaced atomically, so a
    crash during the cut leaves either the old file or the new one."""
    if not path.exists():
        return
    header, rows = read_rows(path)
    late = next_phase if next_phase is not None else math.inf
    kept = [r for r in rows if int(r["step"]) < max_step or (int(r["step"]) == max_step and int(r["phase"]) < late)]
    fd, tmp = temporary(path)
    with os.fdopen(fd, "w", newline="") as f:
        if header:
            writer = csv.DictWriter(f, fieldnames=header, lineterminator="\n")
            writer.writeheader()
            writer.writerows(kept)
        f.flush()
        os.fsync(f.fileno())
    fault("cut_back")
    os.replace(tmp, path)


def _number(value: str) -> float:
    return float(value) if value not in ("", "nan") else math.nan


class Recorder:
    """Writes episodes and metrics rows of one run, to CSV and TensorBoard."""

    def __init__(self, run_dir: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self._episodes, self._episode_writer = self._open(run_dir / EPISODES, EPISODE_FIELDS)
        self._diagnostics, self._diagnostic_writer = self._open(run_dir / DIAGNOSTICS, DIAGNOSTIC_FIELDS)
        self._metrics_path = run_dir / METRICS
        self._metrics = None
        self._metric_writer: csv.DictWriter | None = None
        self._tb = SummaryWriter(str(run_dir / TENSORBOARD))

    @staticmethod
    def _open(path: Path, fields: list[str]) -> tuple[Any, csv.DictWriter]:
        new = not path.exists() or path.stat().st_size == 0
        if not new:  # keep the file's own header (``cut_back`` has already checked the whole file)
            with open(path, newline="") as existing:
                fields = next(csv.reader(existing), []) or fields
        f = open(path, "a", newline="")  # noqa: SIM115 - kept open for the run's lifetime
        writer = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        if new:
            writer.writeheader()
        return f, writer

    def episode(self, phase: Phase, step: int, start: int, episode: Episode) -> None:
        """An episode that ended at agent step ``step`` and began at ``start`` (both summed over environments)."""
        row = {
            "phase": phase.index,
            "task": phase.task,
            "step": step,
            "start": start,
            "return": episode.ret,
            "length": episode.length,
        }
        self._episode_writer.writerow(row)
        write_episode_events(self._tb, phase.task, step, episode.ret)

    def update(self, phase: Phase, step: int, stats: dict[str, float], steps_per_s: float) -> None:
        row = {"phase": phase.index, "task": phase.task, "step": step} | stats
        if self._metric_writer is None:
            self._metrics, self._metric_writer = self._open(self._metrics_path, list(row))
        self._metric_writer.writerow(row)
        write_metric_events(self._tb, step, stats)
        self._tb.add_scalar("speed/steps_per_s", steps_per_s, step)
        self.flush()

    def diagnostics(self, phase: Phase, step: int, when: str, rows: list[tuple[str, str, str, float]]) -> None:
        """Diagnostic rows (network, layer, quantity, value) measured at ``step``; ``when`` says at what point."""
        base = {"phase": phase.index, "task": phase.task, "step": step, "when": when}
        records = [base | {"network": n, "layer": layer, "quantity": q, "value": v} for n, layer, q, v in rows]
        self._diagnostic_writer.writerows(records)
        write_diagnostic_events(self._tb, step, records)
        self._diagnostics.flush()

    def flush(self) -> None:
        self._diagnostics.flush()
        self._episodes.flush()
        if self._metrics is not None:
            self._metrics.flush()
        self._tb.flush()

    def close(self) -> None:
        self.flush()
        self._episodes.close()
        self._diagnostics.close()
        if self._metrics is not None:
            self._metrics.close()
        self._tb.close()


def write_episode_events(tb: Any, task: str, step: int, ret: float) -> None:
    tb.add_scalar(f"return/{task}", ret, step)
    tb.add_scalar("return/all", ret, step)


def write_metric_events(tb: Any, step: int, stats: dict[str, float]) -> None:
    for key, value in stats.items():
        tb.add_scalar(f"train/{key}", value, step)


def write_diagnostic_events(tb: Any, step: int, records: list[dict[str, Any]]) -> None:
    for r in records:
        where = "" if r["layer"] == "all" else f"layer{r['layer']}/"
        tb.add_scalar(f"diag/{r['network']}/{where}{r['quantity']}", float(r["value"]), step)


def rebuild_tensorboard(run_dir: Path) -> None:
    """Replace the run's TensorBoard events by events written from its (cut back) CSV records, in order.

    ``speed/steps_per_s`` is not rebuilt: it is a wall-clock rate measured while training and kept in no CSV
    record (so that two runs of one seed have byte-identical records), and it cannot be derived from them. After a
    resume a run's ``speed/`` events start at the resume: those of the interrupted process are gone."""
    from torch.utils.tensorboard import SummaryWriter

    shutil.rmtree(run_dir / TENSORBOARD, ignore_errors=True)
    # At one step a run writes episodes, then its metrics row, then diagnostics: the rebuilt events keep that order.
    events: list[tuple[int, int, int, str, dict[str, str]]] = []  # (step, kind order, row order, kind, row)
    for rank, (name, kind) in enumerate(((EPISODES, "episode"), (METRICS, "metrics"), (DIAGNOSTICS, "diagnostics"))):
        if (run_dir / name).exists():
            events += [(int(row["step"]), rank, i, kind, row) for i, row in enumerate(read_rows(run_dir / name)[1])]
    tb = SummaryWriter(str(run_dir / TENSORBOARD))
    for step, _, _, kind, row in sorted(events, key=lambda e: e[:3]):
        if kind == "episode":
            write_episode_events(tb, row["task"], step, float(row["return"]))
        elif kind == "metrics":
            write_metric_events(tb, step, {k: _number(v) for k, v in row.items() if k not in FIXED})
        else:
            write_diagnostic_events(tb, step, [row])
    tb.close()
