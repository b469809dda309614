"""Executors: the same RunConfigs in, the same run folders out — in this process, a process pool, or Ray.

A run another process holds (``RunLock``) comes back ``busy``; after every other run has finished, the command
waits for the holder and then reuses its result, or resumes the run itself if the holder died (the kernel
released its lock). So two commands on one ``--out`` never train a run twice, and both end with every run.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from urllib.parse import urlsplit

import torch

from rlplastic.errors import UsageError
from rlplastic.run.display import Display
from rlplastic.run.plan import RunConfig
from rlplastic.run.recorder import check_records
from rlplastic.run.resumable import check_resumable
from rlplastic.run.runner import CHECKPOINT_MINUTES, RunFailed, RunResult, run
from rlplastic.run.store import RunStore

EXECUTORS = ("local", "ray")
WAIT_POLL_S = 2.0
CONNECT_TIMEOUT_S = 5.0


def check_address(address: str | None, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Refuse an explicit Ray ``host:port`` (or ``ray://host:port``) that does not accept a TCP connection:
    ``ray.init`` would retry it for minutes, printing warnings. ``auto``, ``local`` and no address are Ray's
    to resolve, as is an address without a port."""
    if not address or address in ("auto", "local"):
        return
    parts = urlsplit(address if "://" in address else f"//{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as err:
        raise UsageError(f"--address {address}: {err}; write host:port, ray://host:port or auto") from err
    if not host or port is None:
        return
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as err:
        raise UsageError(
            f"--address {address}: cannot connect to {host}:{port} ({err.strerror or err}); start the cluster "
            "(ray start --head) or fix the address, or drop --address to start a local Ray instance"
        ) from err


def verify_all(configs: list[RunConfig], out: Path) -> None:
    """Refuse the whole batch if any run folder holds a run made with another configuration, a finished run
    whose records are missing or damaged (it would be reused as it is), or an unfinished run that could not
    resume: its checkpoint damaged, or its records damaged, missing or shorter than the checkpoint counted.

    An unfinished run's checkpoint is loaded in full here and again when the run resumes: only torch's own
    (safe) loader tells a damaged file, and a run may resume in another process, so the state is not handed on.
    That is one extra read per unfinished run and command, against a run that fails after others trained."""
    for config in configs:
        store = RunStore(out, config)
        store.verify()
        if store.done:
            check_records(store.dir)
        elif store.dir.exists():
            check_resumable(store.dir, store.load_checkpoint())


def _safe_run(config: RunConfig, out: Path, threads: int, minutes: float, wait: bool = False) -> RunResult:
    """Run one configuration; a failure becomes a result with its one-line reason, never a lost batch. With
    ``wait``, a run another process holds is waited for instead of reported busy."""
    torch.set_num_threads(threads)
    try:
        while True:
            result = run(config, out, minutes)
            if result.status != "busy" or not wait:
                return result
            time.sleep(WAIT_POLL_S)
    except (RunFailed, UsageError) as err:
        return RunResult(config, out / config.relative_dir(), "failed", error=str(err))
    except Exception as err:  # keep the other runs going; the traceback goes to the run folder
        folder = out / config.relative_dir()
        return RunResult(config, folder, "failed", error=f"{type(err).__name__}: {err} ({_save_traceback(folder)})")


def _save_traceback(folder: Path) -> str:
    """Write the exception being handled to ``folder/error.txt`` and say where it went, or why it could not be
    written: this runs in an error handler, which must not raise (the folder that cannot be made is often the
    very failure being reported)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "error.txt").write_text(traceback.format_exc())
    except OSError as err:
        return f"its traceback could not be saved: {err.strerror or err}"
    return f"see {folder}/error.txt"


def _local(configs: list[RunConfig], out: Path, jobs: int, minutes: float, wait: bool) -> list[RunResult]:
    cores = os.cpu_count() or 1
    if jobs <= 1:
        return [_safe_run(c, out, cores, minutes, wait) for c in configs]
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_safe_run, c, out, max(1, cores // jobs), minutes, wait) for c in configs]
        return [f.result() for f in futures]


def _ray(configs: list[RunConfig], out: Path, address: str | None, minutes: float, wait: bool) -> list[RunResult]:
    """Each run a Ray task of one CPU training with one thread; a task whose worker dies is retried (up to 3
    times) and resumes from the run's last checkpoint."""
    try:
        import ray
    except ImportError as err:
        raise UsageError("--executor ray needs Ray: pip install 'rlplastic[ray]'") from err
    if not ray.is_initialized():
        check_address(address)
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    task = ray.remote(num_cpus=1, max_retries=3)(_safe_run)
    return ray.get([task.remote(c, out.resolve(), 1, minutes, wait) for c in configs])


def run_all(
    configs: list[RunConfig],
    out: Path,
    jobs: int = 1,
    show_progress: bool = True,
    executor: str = "local",
    address: str | None = None,
    checkpoint_minutes: float = CHECKPOINT_MINUTES,
    wait: bool = True,
) -> list[RunResult]:
    """Run every configuration, one display for all; busy runs last, waited for unless ``wait`` is false."""
    if executor not in EXECUTORS:
        raise UsageError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")

    def batch(todo: list[RunConfig], wait_now: bool) -> list[RunResult]:
        if executor == "ray":
            return _ray(todo, out, address, checkpoint_minutes, wait_now)
        return _local(todo, out, jobs, checkpoint_minutes, wait_now)

    with Display(configs, out, show_progress):
        results = batch(configs, False)
        busy = [r.config for r in results if r.status == "busy"]
        if busy and wait:
            waited = {r.config.relative_dir(): r for r in batch(busy, True)}
            results = [waited.get(r.config.relative_dir(), r) for r in results]
    return results
