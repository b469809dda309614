"""One folder per run: config, records, TensorBoard events, an atomic checkpoint, a lock and a DONE marker.

A crash loses at most the records since the last flush; on resume the records are cut back to the last
checkpoint, so no episode is lost or counted twice. Every file is replaced atomically through a temporary file
of its own name (pid and random suffix), so two processes never write one temporary file. A run is trained by
one process at a time: ``RunLock`` holds an advisory lock (``flock``) on the run's ``.lock`` file, which names
its holder's pid and host; the kernel releases it when the holder dies, even by kill -9. The temporary files a
killed process leaves are deleted by the next process that takes the lock (``remove_temporaries``).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import tempfile
from pathlib import Path
from typing import Any

import torch

from rlplastic.errors import UsageError
from rlplastic.folders import CHECKPOINT, CONFIG, DONE, LOCK, NUMERICS
from rlplastic.run.faults import fault
from rlplastic.run.plan import RunConfig

# ``temporary``'s names: ``.<file name>.<pid>.<mkstemp's 8 random characters>.tmp``.
TEMPORARY = re.compile(r"\..+\.\d+\.[a-z0-9_]{8}\.tmp")


def temporary(path: Path) -> tuple[int, str]:
    """A new temporary file beside ``path``, unique to this call."""
    return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")


def remove_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files a killed process left in ``folder`` (a kill -9 between ``temporary`` and its
    ``os.replace``); only safe while holding the folder's ``RunLock``, when no other process writes there.
    Returns what was removed."""
    stale = [p for p in folder.glob(".*.tmp") if TEMPORARY.fullmatch(p.name)]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = temporary(path)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class RunLock:
    """An exclusive advisory lock on one run folder; ``acquire`` says whether this process got it."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK
        self._fd: int | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode())
        self._fd = fd
        return True

    def holder(self) -> str:
        """Who holds the lock, as its file says (best effort: the holder may just have finished)."""
        try:
            info = json.loads(self.path.read_text() or "{}")
        except (OSError, json.JSONDecodeError):
            return "another process"
        return f"pid {info.get('pid', '?')} on {info.get('host', '?')}"

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class RunStore:
    """The folder of one run under the output root."""

    def __init__(self, out_root: Path, config: RunConfig) -> None:
        self.config = config
        self.dir = Path(out_root) / config.relative_dir()

    @property
    def done(self) -> bool:
        return (self.dir / DONE).exists()

    def verify(self) -> None:
        """Refuse a folder whose run (finished or not) was made with another resolved configuration. The recorded
        numerics describe the run but are not its identity: they are checked apart (``numerics.check``)."""
        path = self.dir / CONFIG
        if not path.exists():
            return
        try:
            existing = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise UsageError(f"{path} is corrupt ({err}); delete the folder {self.dir} to rerun") from err
        if isinstance(existing, dict):
            existing.pop(NUMERICS, None)
        wanted = json.loads(json.dumps(self.config.to_json()))
        if existing != wanted:
            raise UsageError(
                f"{self.dir} holds a run made with another configuration ({config_difference(existing, wanted)}); "
                "use another --out or delete that folder to rerun"
            )

    def recorded_numerics(self) -> dict[str, Any]:
        """The numerics the run in this folder began with (empty: no run yet, or written before they were)."""
        path = self.dir / CONFIG
        if not path.exists():
            return {}
        try:
            stored = json.loads(path.read_text())
        except json.JSONDecodeError:
            return {}  # verify() names the damage
        recorded = stored.get(NUMERICS) if isinstance(stored, dict) else None
        return recorded if isinstance(recorded, dict) else {}

    def claim(self, numerics: dict[str, Any]) -> dict[str, Any]:
        """Write the configuration with the ``numerics`` this process trains under, unless the run resumes (a
        checkpoint is present): then the stored file, with the numerics the run began with, is kept. Returns the
        numerics the run began with (empty for a folder written before runs recorded them). ``verify`` has
        checked any existing configuration."""
        path = self.dir / CONFIG
        if path.exists() and (self.dir / CHECKPOINT).exists():
            return json.loads(path.read_text()).get(NUMERICS, {})
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, json.dumps(self.config.to_json() | {NUMERICS: numerics}, indent=2).encode())
        return numerics

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        fd, tmp = temporary(self.dir / CHECKPOINT)
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        fault("checkpoint")
        os.replace(tmp, self.dir / CHECKPOINT)

    def load_checkpoint(self) -> dict[str, Any] | None:
        path = self.dir / CHECKPOINT
        if not path.exists():
            return None
        try:
            # tensors and plain data (a pickle payload is refused), onto the CPU: the learner moves them to its device
            return torch.load(path, weights_only=True, map_location="cpu")
        except Exception as err:  # torch raises several types for a damaged file
            raise UsageError(
                f"checkpoint {path} cannot be loaded safely: damaged or not tensors and plain data "
                f"({type(err).__name__}); delete it to restart the run"
            ) from err

    def mark_done(self, summary: dict[str, Any]) -> None:
        atomic_write_bytes(self.dir / DONE, json.dumps(summary, indent=2).encode())
        (self.dir / CHECKPOINT).unlink(missing_ok=True)


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        return {prefix: data}
    out: dict[str, Any] = {}
    for k, v in data.items():
        out |= _flat(v, f"{prefix}.{k}" if prefix else str(k))
    return out


def config_difference(stored: dict[str, Any], wanted: dict[str, Any], limit: int = 3) -> str:
    """The first few settings that differ, as ``key: stored -> wanted``."""
    a, b = _flat(stored), _flat(wanted)
    keys = sorted(k for k in a.keys() | b.keys() if a.get(k, "<absent>") != b.get(k, "<absent>"))
    shown = [f"{k}: {a.get(k, '<absent>')!r} -> {b.get(k, '<absent>')!r}" for k in keys[:limit]]
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return "; ".join(shown) + more
