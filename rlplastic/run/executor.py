"""Executors: the same RunConfigs in, the same run folders out — in this process, a process pool, or Ray.

A run another process holds (``RunLock``) comes back ``busy``; after every other run has finished, the command
waits for the holder and then reuses its result, or resumes the run itself if the holder died (the kernel
released its lock). So two commands on one ``--out`` never train a run twice, and both end with every run.

Devices: locally, ``--device auto`` (or ``cuda``) on a machine with K GPUs puts the i-th run on ``cuda:i % K``,
so ``--jobs N`` spreads N runs over the GPUs. On Ray each run is a task asking for ``cpus_per_run`` CPUs (its
torch threads) and ``gpus_per_run`` GPUs (fractions share one GPU); Ray makes the GPUs it grants the task's
only visible ones, so ``auto`` there means the granted GPU, or the CPU when the task was granted none.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from urllib.parse import urlsplit

import torch

from rlplastic.agents import device as devices
from rlplastic.errors import UsageError
from rlplastic.folders import CHECKPOINT
from rlplastic.run import numerics
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


def threads_per_run(executor: str, jobs: int, cpus_per_run: float = 1.0) -> int:
    """The torch threads each run trains with: the cores shared by ``jobs`` local runs, or a Ray task's CPUs."""
    if executor == "ray":
        return max(1, int(cpus_per_run))
    cores = os.cpu_count() or 1
    return cores if jobs <= 1 else max(1, cores // jobs)


def run_options(options: numerics.Options, index: int) -> numerics.Options:
    """The options of the ``index``-th run of a local batch: its GPU, round-robin over this machine's."""
    return dataclasses.replace(options, device=devices.spread(options.device, index))


def expected_numerics(configs: list[RunConfig], threads: int, options: numerics.Options) -> list[dict]:
    """The numerics each run of a local batch will train under (this machine, its device and threads)."""
    out = []
    for i, config in enumerate(configs):
        device = numerics.apply(run_options(options, i))
        out.append(numerics.measure(device, config.agent_options.get("precision", "fp32"), threads))
    return out


def verify_all(
    configs: list[RunConfig], out: Path, expected: list[dict] | None = None, allow_change: bool = False
) -> None:
    """Refuse the whole batch if any run folder holds a run made with another configuration, a finished run
    whose records are missing or damaged (it would be reused as it is), or an unfinished run that could not
    resume: its checkpoint damaged, or its records damaged, missing or shorter than the checkpoint counted.
    With ``expected`` numerics (local batches), a run recorded under others is refused too, unless
    ``allow_change`` (a Ray task checks on its node, where they are known).

    An unfinished run's checkpoint is loaded in full here and again when the run resumes: only torch's own
    (safe) loader tells a damaged file, and a run may resume in another process, so the state is not handed on.
    That is one extra read per unfinished run and command, against a run that fails after others trained."""
    for i, config in enumerate(configs):
        store = RunStore(out, config)
        store.verify()
        if store.done:
            check_records(store.dir)
        elif store.dir.exists():
            check_resumable(store.dir, store.load_checkpoint())
        if expected is not None and (store.done or (store.dir / CHECKPOINT).exists()):  # else it starts afresh
            doing = "reuse" if store.done else "resume"
            numerics.check(store.dir, store.recorded_numerics(), expected[i], allow_change, doing)


def _safe_run(
    config: RunConfig,
    out: Path,
    threads: int,
    minutes: float,
    wait: bool = False,
    options: numerics.Options = numerics.DEFAULT,
) -> RunResult:
    """Run one configuration; a failure becomes a result with its one-line reason, never a lost batch. With
    ``wait``, a run another process holds is waited for instead of reported busy."""
    torch.set_num_threads(threads)
    try:
        while True:
            result = run(config, out, minutes, options)
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


def _local(
    configs: list[RunConfig], out: Path, jobs: int, minutes: float, wait: bool, options: numerics.Options
) -> list[RunResult]:
    threads = threads_per_run("local", jobs)
    if jobs <= 1:
        return [_safe_run(c, out, threads, minutes, wait, run_options(options, i)) for i, c in enumerate(configs)]
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(_safe_run, c, out, threads, minutes, wait, run_options(options, i))
            for i, c in enumerate(configs)
        ]
        return [f.result() for f in futures]


@dataclasses.dataclass(frozen=True)
class RayResources:
    """What each run asks of a Ray cluster: CPUs (its torch threads) and GPUs (fractions share one GPU)."""

    address: str | None = None
    cpus_per_run: float = 1.0
    gpus_per_run: float = 0.0


def _ray(
    configs: list[RunConfig],
    out: Path,
    resources: RayResources,
    minutes: float,
    wait: bool,
    options: numerics.Options,
) -> list[RunResult]:
    """Each run a Ray task of ``cpus_per_run`` CPUs and ``gpus_per_run`` GPUs; a task whose worker dies is
    retried (up to 3 times) and resumes from the run's last checkpoint."""
    try:
        import ray
    except ImportError as err:
        raise UsageError("--executor ray needs Ray: pip install 'rlplastic[ray]'") from err
    if not ray.is_initialized():
        check_address(resources.address)
        ray.init(address=resources.address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    cpus, gpus = resources.cpus_per_run, resources.gpus_per_run
    task = ray.remote(num_cpus=cpus, num_gpus=gpus, max_retries=3)(_safe_run)
    threads = threads_per_run("ray", 1, cpus)
    return ray.get([task.remote(c, out.resolve(), threads, minutes, wait, options) for c in configs])


def run_all(
    configs: list[RunConfig],
    out: Path,
    jobs: int = 1,
    show_progress: bool = True,
    executor: str = "local",
    address: str | None = None,
    checkpoint_minutes: float = CHECKPOINT_MINUTES,
    wait: bool = True,
    options: numerics.Options = numerics.DEFAULT,
    resources: RayResources | None = None,
) -> list[RunResult]:
    """Run every configuration, one display for all; busy runs last, waited for unless ``wait`` is false."""
    if executor not in EXECUTORS:
        raise UsageError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    resources = resources or RayResources(address)

    def batch(todo: list[RunConfig], wait_now: bool) -> list[RunResult]:
        if executor == "ray":
            return _ray(todo, out, resources, checkpoint_minutes, wait_now, options)
        return _local(todo, out, jobs, checkpoint_minutes, wait_now, options)

    with Display(configs, out, show_progress):
        results = batch(configs, False)
        busy = [r.config for r in results if r.status == "busy"]
        if busy and wait:
            waited = {r.config.relative_dir(): r for r in batch(busy, True)}
            results = [waited.get(r.config.relative_dir(), r) for r in results]
    return results
