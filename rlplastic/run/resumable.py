"""What an unfinished run folder must hold to be resumed: a checkpoint that holds a run's state and, beside it,
every record file, readable, with at least the rows it had when the checkpoint was taken.

The runner checks this when it resumes, and the command checks it for every run before any run trains
(``executor.verify_all``), so a damaged folder stops the command at once instead of failing after other runs
trained. Record files are only appended to (and cut back to a checkpoint on resume), so the rows a checkpoint
counted are a file's first rows: a file holding fewer has lost records the checkpoint says were written, and a
resumed run would silently lack them. More rows are fine: rows written after the checkpoint, which ``cut_back``
drops.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rlplastic.errors import UsageError
from rlplastic.folders import CHECKPOINT
from rlplastic.run.recorder import RECORDS, DamagedRecords, read_rows

ROWS = "record_rows"  # checkpoint key: data rows of each record file when it was taken (absent from older ones)
STATE = ("learner", "method", "torch_rng", "phase", "iteration")  # what resuming reads from a checkpoint
CHUNK = 1 << 20


def _lines(path: Path) -> int:
    """Newlines in ``path`` (0 if it does not exist), counted in chunks: cheap at every checkpoint."""
    if not path.exists():
        return 0
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(CHUNK), b""))


def record_rows(run_dir: Path) -> dict[str, int]:
    """The data rows of each record file now (its lines less the header). Call it after the recorder's flush,
    when every row written is whole; counting newlines keeps a checkpoint cheap however long the run."""
    return {name: max(_lines(run_dir / name) - 1, 0) for name in RECORDS}


def _problem(checkpoint: Any) -> str:
    """What keeps a loaded checkpoint from being a run's state ('' if nothing): a file that loads but holds
    something else would otherwise fail the run later, with a traceback."""
    if not isinstance(checkpoint, dict):
        return f"a {type(checkpoint).__name__}, not a table"
    missing = [k for k in STATE if k not in checkpoint]
    if missing:
        return f"no {missing[0]!r}"
    learner = checkpoint["learner"]
    if not isinstance(learner, dict) or not isinstance(learner.get("global_step"), int):
        return "no learner step"
    rows = checkpoint.get(ROWS, {})
    if not isinstance(rows, dict) or not all(isinstance(v, int) for v in rows.values()):
        return f"{ROWS!r} is not a table of row counts"
    return ""


def check_resumable(run_dir: Path, checkpoint: dict[str, Any] | None) -> None:
    """Refuse (``UsageError``, one line) a checkpoint that holds no run state, and record files that are missing
    beside a checkpoint, unreadable, or shorter than the checkpoint counted. Checkpoints written before the count
    existed skip that comparison."""
    if checkpoint is not None and (problem := _problem(checkpoint)):
        path = run_dir / CHECKPOINT
        raise UsageError(f"checkpoint {path} does not hold a run's state ({problem}); delete it to restart the run")
    step = checkpoint["learner"]["global_step"] if checkpoint is not None else 0
    counted = checkpoint.get(ROWS, {}) if checkpoint is not None else {}
    for name in RECORDS:
        path = run_dir / name
        if not path.exists():
            if checkpoint is None:
                continue
            raise DamagedRecords(
                f"{path} is missing but the checkpoint is at step {step}; delete the run folder {run_dir} to rerun "
                "that run"
            )
        rows = len(read_rows(path)[1])  # DamagedRecords for a file that does not read back
        if rows < counted.get(name, 0):
            raise DamagedRecords(
                f"{path} has {rows} rows but the checkpoint at step {step} counted {counted[name]}; delete the run "
                f"folder {run_dir} to rerun that run"
            )
