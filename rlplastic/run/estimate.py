"""``--dry-run``: what a command would do and cost, before it starts. Writes nothing.

The grid: each run is to train, to reuse (finished) or to resume (unfinished, from its last progress). The
time: every distinct agent configuration of the grid trains a few seconds in this process on the command's
device and thread count, and the agent steps left are divided by that speed and by ``--jobs``. The
calibration trains without the method and the diagnostics and with a small replay buffer already past its
warm-up (updates from the first iteration), so the estimate is of the agent's own speed; methods that act
every update (CBP) and the diagnostics add to it, a replay warm-up (no updates) takes from it.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import torch

from rlplastic import agents
from rlplastic.envs import make_env
from rlplastic.envs.seeding import env_seeds
from rlplastic.run.display import PROGRESS
from rlplastic.run.plan import RunConfig
from rlplastic.run.store import RunStore

CALIBRATION_S = 3.0
CALIBRATION_BUFFER = 50_000  # transitions: a full-size buffer only costs memory, not speed


@dataclasses.dataclass(frozen=True)
class Planned:
    config: RunConfig
    status: str  # train, reuse or resume
    steps_left: int


def planned(config: RunConfig, out: Path) -> Planned:
    """What the command would do with ``config``'s run folder under ``out`` (read only)."""
    store = RunStore(out, config)
    if store.done:
        return Planned(config, "reuse", 0)
    if not store.dir.exists():
        return Planned(config, "train", config.total_steps)
    try:
        step = int(json.loads((store.dir / PROGRESS).read_text())["step"])
    except (OSError, ValueError, KeyError, TypeError):
        step = 0
    return Planned(config, "resume", max(config.total_steps - step, 0))


def _key(config: RunConfig) -> str:
    """Runs that train at one speed: the same agent and options on the same environment."""
    return json.dumps([config.agent, config.env, config.tasks[0], config.agent_options, config.env_options])


def calibrate(config: RunConfig, device: torch.device, seconds: float = CALIBRATION_S) -> float:
    """Agent steps per second of ``config``'s agent on its first task, trained here for about ``seconds``."""
    options = dict(config.agent_options)
    if "learning_starts" in options:  # replay agents: update from the first full batch
        options["learning_starts"] = 0
        options["buffer_size"] = min(options.get("buffer_size", CALIBRATION_BUFFER), CALIBRATION_BUFFER)
    seeds = env_seeds(config.seed, 0, options["num_envs"], "probe")
    env = make_env(config.env, config.tasks[0], seeds, config.env_options, config.variants.get(config.tasks[0]))
    try:
        with torch.random.fork_rng(devices=[]):
            learner = agents.make(config.agent, options, agents.env_spec(env), config.seed, None, device)
            learner.start_phase(env, 1_000_000)
            hooks = agents.Hooks()
            warm = 0
            while warm < 1 or not getattr(learner, "learning", True):  # the first iteration and a replay warm-up
                _iterate(learner, hooks)
                warm += 1
            start, steps = time.perf_counter(), 0
            while steps == 0 or time.perf_counter() - start < seconds:
                steps += _iterate(learner, hooks)
            elapsed = time.perf_counter() - start
    finally:
        env.close()
    return steps / max(elapsed, 1e-9)


def _iterate(learner: agents.Learner, hooks: agents.Hooks) -> int:
    """One training iteration; the agent steps it took."""
    first = learner.global_step
    learner.collect(lambda step, episode: None)
    learner.update(hooks)
    return learner.global_step - first


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def report(runs: list[Planned], speeds: dict[str, float], jobs: int, device: torch.device, threads: int) -> str:
    """The grid, its agent steps and the estimated wall time, as printed by ``--dry-run``."""
    width = max([16, *(len(r.config.label) for r in runs)])
    lines = [f"{'method':{width}s} {'seed':>4s} {'status':7s} {'agent steps':>13s}  folder"]
    for r in runs:
        folder = r.config.relative_dir()
        lines.append(f"{r.config.label:{width}s} {r.config.seed:>4d} {r.status:7s} {r.steps_left:>13,}  {folder}")
    counts = {s: sum(r.status == s for r in runs) for s in ("train", "resume", "reuse")}
    total = sum(r.steps_left for r in runs)
    seconds = sum(r.steps_left / speeds[_key(r.config)] for r in runs if r.steps_left)
    lines.append(
        f"{len(runs)} runs: {counts['train']} to train, {counts['resume']} to resume, {counts['reuse']} to reuse; "
        f"{total:,} agent steps to take"
    )
    for key, sps in speeds.items():
        agent, env, task = json.loads(key)[:3]
        lines.append(f"calibrated: {agent} on {env} {task}: {sps:,.0f} agent steps/s ({device}, {threads} threads)")
    lines.append(
        f"estimated wall time: {_duration(seconds / max(1, min(jobs, len(runs))))} with --jobs {jobs} (the agent's "
        "own speed: methods acting every update and diagnostics add to it; nothing was written)"
    )
    return "\n".join(lines)


def dry_run(configs: list[RunConfig], out: Path, jobs: int, device: torch.device, threads: int) -> str:
    """Plan and time ``configs`` without writing anything; the text ``--dry-run`` prints."""
    runs = [planned(c, out) for c in configs]
    speeds: dict[str, float] = {}
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for r in runs:
            key = _key(r.config)
            if r.steps_left and key not in speeds:
                speeds[key] = calibrate(r.config, device, CALIBRATION_S)
    finally:
        torch.set_num_threads(previous)
    return report(runs, speeds, jobs, device, threads)
