"""Executors: the same RunConfigs in, the same run folders out — in this process or a process pool."""

from __future__ import annotations

import os
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import torch
from tqdm import tqdm

from rlplastic.bench.allocator import tune_allocator
from rlplastic.bench.errors import UsageError
from rlplastic.bench.plan import RunConfig
from rlplastic.bench.runner import RunFailed, RunResult, run
from rlplastic.bench.store import RunStore


def verify_all(configs: list[RunConfig], out: Path) -> None:
    """Refuse the whole batch if any run folder holds a run made with another configuration."""
    for config in configs:
        RunStore(out, config).verify()


def _safe_run(config: RunConfig, out: Path, show_progress: bool, threads: int) -> RunResult:
    """Run one configuration; a failure becomes a result with its one-line reason, never a lost batch."""
    torch.set_num_threads(threads)
    tune_allocator()
    try:
        return run(config, out, show_progress)
    except (RunFailed, UsageError) as err:
        return RunResult(config, out / config.relative_dir(), "failed", error=str(err))
    except Exception as err:  # keep the other runs going; the traceback goes to the run folder
        folder = out / config.relative_dir()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "error.txt").write_text(traceback.format_exc())
        return RunResult(config, folder, "failed", error=f"{type(err).__name__}: {err} (see {folder}/error.txt)")


def run_all(configs: list[RunConfig], out: Path, jobs: int = 1, show_progress: bool = True) -> list[RunResult]:
    """Run every configuration; with ``jobs > 1`` in that many processes sharing the machine's cores."""
    cores = os.cpu_count() or 1
    if jobs <= 1:
        return [_safe_run(c, out, show_progress, cores) for c in configs]
    threads = max(1, cores // jobs)
    results = []
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_safe_run, c, out, False, threads) for c in configs]
        for future in tqdm(as_completed(futures), total=len(futures), desc="runs", disable=not show_progress):
            results.append(future.result())
    order = {c.relative_dir(): i for i, c in enumerate(configs)}
    return sorted(results, key=lambda r: order[r.config.relative_dir()])
