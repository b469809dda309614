"""Run one configuration: schedule -> method -> learner -> phases, with checkpoints at every phase end and,
on a time cadence, inside phases.

A checkpoint inside a phase holds, besides the learner, the method and the random states, every action given to
the phase's environments so far: on resume a fresh environment with the phase's seeds replays them and reaches
the exact state it had (every adapter is deterministic given its seeds and actions), so a resumed run's records
equal an uninterrupted run's. Mid-phase checkpoints are taken only right after a metrics row, where no partial
averages are pending. Records written after the last checkpoint are cut back on resume (``recorder.cut_back``).
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlplastic import agents, interventions
from rlplastic.envs import Phase, make_env
from rlplastic.envs.seeding import env_seeds
from rlplastic.envs.spec import Episode, spaces_mismatch
from rlplastic.interventions.base import Boundary
from rlplastic.metrics.diagnose import Diagnostics, DiagnosticsConfig
from rlplastic.run import numerics
from rlplastic.run.display import PROGRESS
from rlplastic.run.plan import RunConfig
from rlplastic.run.recorder import RECORDS, Recorder, cut_back, rebuild_tensorboard
from rlplastic.run.resumable import ROWS, check_resumable, record_rows
from rlplastic.run.store import RunLock, RunStore, atomic_write_bytes, remove_temporaries

CHECKPOINT_MINUTES = 10.0


class RunFailed(RuntimeError):
    """A run that cannot continue (e.g. non-finite weights); its records up to the failure are kept."""


@dataclass(frozen=True)
class RunResult:
    config: RunConfig
    dir: Path
    status: str
    seconds: float = 0.0
    steps_per_s: float = 0.0
    error: str = ""


def _check_finite(learner: agents.Learner, where: str) -> None:
    for name, net in learner.networks.items():
        for pname, p in net.named_parameters():
            if not torch.isfinite(p).all():
                raise RunFailed(
                    f"non-finite weights in {name}.{pname} {where}; lower agent.learning_rate or check the method"
                )


def _env(config: RunConfig, phase: Phase, stream: str = "train") -> agents.VectorEnv:
    seeds = env_seeds(config.seed, phase.index, config.agent_options["num_envs"], stream)
    return make_env(config.env, phase.task, seeds, config.env_options, config.variants.get(phase.task))


def _check_spaces(env: agents.VectorEnv, spec: agents.EnvSpec, phase: Phase) -> None:
    """Every task of a run must fit the one network built for its first task."""
    problem = spaces_mismatch(agents.env_spec(env), spec, f"{phase.task!r} ({phase.label})", "the run's first task")
    if problem:
        env.close()
        raise RunFailed(problem)


def _probe(config: RunConfig, phase: Phase, learner: agents.Learner, n: int) -> agents.Batch:
    """``n`` transitions of ``phase``'s task from envs of their own seed stream, so training data is untouched."""
    env = _env(config, phase, "probe")
    try:
        return learner.probe(env, n)
    finally:
        env.close()


def act_at_boundary(method: interventions.Intervention, learner: agents.Learner, boundary: Boundary) -> bool:
    """Let the method act (at most once); after any edit, targets follow the online networks and weights
    must be finite. The one place where interventions touch a learner during training."""
    if not method.act(learner, boundary):
        return False
    learner.sync_targets()
    _check_finite(learner, f"after {method.name} at step {boundary.step} ({boundary.phase.label})")
    return True


class _Means:
    """Per-iteration statistics averaged into one metrics row every ``learner.log_every`` steps."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def add(self, stats: dict[str, float]) -> None:
        for k, v in stats.items():
            if v != v:  # NaN: nothing measured in this iteration (e.g. before DQN's first update)
                continue
            self.sums[k] = self.sums.get(k, 0.0) + v
            self.counts[k] = self.counts.get(k, 0) + 1

    def pop(self, names: list[str]) -> dict[str, float]:
        out = {k: self.sums[k] / self.counts[k] if k in self.sums else float("nan") for k in names}
        self.sums, self.counts = {}, {}
        return out


class _Progress:
    """Throughput and the state of one run, published to ``.progress.json`` in its folder for the command's one
    display (``rlplastic.run.display``); the recent return is the current task's only."""

    def __init__(self, config: RunConfig, path: Path, initial: int) -> None:
        self.config, self.path = config, path
        self.last_step, self.last_time = initial, time.perf_counter()
        self.returns: deque[float] = deque(maxlen=20)
        self.task = ""

    def _follow(self, phase: Phase) -> None:
        """Forget the previous task's returns when a new phase begins."""
        if phase.label != self.task:
            self.task = phase.label
            self.returns.clear()

    def episode(self, phase: Phase, episode: Episode) -> None:
        self._follow(phase)
        self.returns.append(episode.ret)

    def update(self, phase: Phase, step: int) -> float:
        now = time.perf_counter()
        rate = (step - self.last_step) / max(now - self.last_time, 1e-9)
        self.last_step, self.last_time = step, now
        self._follow(phase)
        recent = sum(self.returns) / len(self.returns) if self.returns else None
        state = {"step": step, "total": self.config.total_steps, "task": phase.label, "ret": recent, "sps": rate}
        atomic_write_bytes(self.path, json.dumps(state).encode())
        return rate


class LoggedEnv:
    """A vector env that keeps every action it was given since its last reset, so that a fresh env of the same
    seeds can be brought to the same state by ``replay``. One growing array; floats are kept as float64 so the
    replay passes the very values (a 1M-step phase of SAC on the humanoid takes 168 MB)."""

    def __init__(self, env: agents.VectorEnv) -> None:
        self.env = env
        self.num_envs, self.obs_shape, self.frame_stack = env.num_envs, env.obs_shape, env.frame_stack
        self.action_spec, self.obs_dtype = env.action_spec, env.obs_dtype
        self._actions: np.ndarray | None = None
        self._count = 0

    def reset(self) -> np.ndarray:
        self._actions, self._count = None, 0
        return self.env.reset()

    def step(self, actions: np.ndarray) -> agents.StepResult:
        actions = np.asarray(actions)
        if self._actions is None or self._count == len(self._actions):
            grown = np.empty(
                (max(1024, 2 * self._count), *actions.shape),
                np.result_type(actions, np.float64) if actions.dtype.kind == "f" else actions.dtype,
            )
            if self._actions is not None:
                grown[: self._count] = self._actions[: self._count]
            self._actions = grown
        self._actions[self._count] = actions
        self._count += 1
        return self.env.step(actions)

    def log(self) -> torch.Tensor:
        if self._actions is None:
            return torch.zeros(0)
        return torch.from_numpy(self._actions[: self._count].copy())

    def replay(self, actions: torch.Tensor) -> None:
        for a in actions.numpy():
            self.step(a)

    def close(self) -> None:
        self.env.close()


@dataclass
class _Checkpoints:
    """Where and how often this run saves its state (and the diagnostics' state with it)."""

    store: RunStore
    every_s: float
    diagnostics: Diagnostics | None
    last: float = 0.0

    def save(
        self,
        learner: agents.Learner,
        method: interventions.Intervention,
        phase: int,
        iteration: int,
        actions: torch.Tensor | None = None,
    ) -> None:
        self.store.save_checkpoint(
            {
                "learner": learner.state_dict(),
                "method": method.state_dict(),
                **rng_states(learner),
                "phase": phase,
                "iteration": iteration,
                "actions": actions,
                "diagnostics": self.diagnostics.state_dict() if self.diagnostics else None,
                ROWS: record_rows(self.store.dir),  # after the recorder's flush: resume refuses shorter records
            }
        )
        self.last = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.every_s


def _train_phase(
    config: RunConfig,
    phase: Phase,
    learner: agents.Learner,
    method: interventions.Intervention,
    recorder: Recorder,
    progress: _Progress,
    checkpoints: _Checkpoints,
    resume: dict[str, Any] | None = None,
) -> None:
    """One phase: iterations of collect + update, with the method offered every iteration boundary. ``resume``
    is a checkpoint taken inside this phase: its actions are replayed, then its state is loaded."""
    env = LoggedEnv(_env(config, phase))
    _check_spaces(env, learner.spec, phase)
    iterations = phase.steps // learner.iteration_steps
    learner.start_phase(env, iterations)
    first = 0
    if resume is not None:
        env.replay(resume["actions"])
        learner.load_state_dict(resume["learner"])
        set_rng_states(resume, learner)
        first = resume["iteration"]
    means = _Means()

    def on_episode(step: int, ep: Episode) -> None:
        # Vector envs step in lockstep: an episode of ``length`` steps began ``length`` vector steps earlier.
        recorder.episode(phase, step, step - ep.length * env.num_envs, ep)
        progress.episode(phase, ep)

    diagnostics = checkpoints.diagnostics
    for k in range(first, iterations):
        step = learner.global_step
        boundary = Boundary(
            step=step,
            previous=step - learner.iteration_steps,
            phase=phase,
            switch=k == 0 and phase.index > 0,
            probe=lambda n: _probe(config, phase, learner, n),
        )
        if boundary.switch and diagnostics:
            act = lambda b=boundary: act_at_boundary(method, learner, b)  # noqa: E731
            diagnostics.at_switch(learner, phase, step, act, recorder.diagnostics)
        else:
            act_at_boundary(method, learner, boundary)
        learner.collect(on_episode)
        stats = learner.update(method)
        means.add(stats)
        now = learner.global_step
        logged = now % learner.log_every == 0 or k == iterations - 1
        if logged:
            recorder.update(phase, now, means.pop(list(stats)), progress.update(phase, now))
        if diagnostics and k < iterations - 1 and diagnostics.due(step, now):  # a phase's end: the switch's "before"
            diagnostics.at(learner, phase, now, "cadence", recorder.diagnostics)
        if logged and k < iterations - 1 and checkpoints.due():
            recorder.flush()
            checkpoints.save(learner, method, phase.index, k + 1, env.log())
    env.close()


def _restore(
    store: RunStore, method: interventions.Intervention, learner: agents.Learner, diagnostics: Diagnostics | None
) -> dict[str, Any] | None:
    """Load the last checkpoint (None if there is none) and cut the records back to it. A phase-end checkpoint
    is loaded here; one from inside a phase is returned for ``_train_phase`` to load after replaying."""
    checkpoint = store.load_checkpoint()
    check_resumable(store.dir, checkpoint)
    step, next_phase = 0, None
    if checkpoint is not None:
        method.load_state_dict(checkpoint["method"], learner)  # first: it may rebuild structure (injection)
        step = checkpoint["learner"]["global_step"]
        if checkpoint["iteration"] == 0:
            learner.load_state_dict(checkpoint["learner"])
            set_rng_states(checkpoint, learner)
            next_phase = checkpoint["phase"]
        if diagnostics and checkpoint.get("diagnostics") is not None:
            diagnostics.load_state_dict(checkpoint["diagnostics"])
    for name in RECORDS:
        cut_back(store.dir / name, step, next_phase)
    rebuild_tensorboard(store.dir)
    return checkpoint


def rng_states(learner: agents.Learner) -> dict[str, torch.Tensor]:
    """torch's random states a checkpoint keeps: the CPU's, and the GPU's where the learner computes on one."""
    device = getattr(learner, "device", torch.device("cpu"))
    states = {"torch_rng": torch.get_rng_state()}
    if device.type == "cuda":
        states["cuda_rng"] = torch.cuda.get_rng_state(device)
    return states


def set_rng_states(checkpoint: dict[str, Any], learner: agents.Learner) -> None:
    torch.set_rng_state(checkpoint["torch_rng"])
    device = getattr(learner, "device", torch.device("cpu"))
    if device.type == "cuda" and checkpoint.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(checkpoint["cuda_rng"], device)


def run(
    config: RunConfig,
    out_root: Path,
    checkpoint_minutes: float = CHECKPOINT_MINUTES,
    options: numerics.Options = numerics.DEFAULT,
) -> RunResult:
    """Train one run to the end (or resume it), writing everything into its run folder. A run another process
    holds is not touched: its result says ``busy``. Progress goes to ``.progress.json`` for the command's
    one ``Display``, so there is no progress flag here. ``options`` say how it computes (device,
    determinism); a run recorded under other numerics is refused unless they allow it."""
    store = RunStore(out_root, config)
    store.verify()
    device = numerics.apply(options)
    now = numerics.measure(device, config.agent_options.get("precision", "fp32"))
    if store.done:
        numerics.check(store.dir, store.recorded_numerics(), now, options.allow_change, "reuse")
        return RunResult(config, store.dir, "reused")
    lock = RunLock(store.dir)
    if not lock.acquire():
        return RunResult(config, store.dir, "busy", error=f"held by {lock.holder()}")
    try:
        if store.done:  # finished by another process between the check and the lock
            numerics.check(store.dir, store.recorded_numerics(), now, options.allow_change, "reuse")
            return RunResult(config, store.dir, "reused")
        return _run_locked(config, store, checkpoint_minutes, device, now, options.allow_change)
    finally:
        lock.release()


def _run_locked(
    config: RunConfig,
    store: RunStore,
    checkpoint_minutes: float,
    device: torch.device,
    now_numerics: dict[str, Any],
    allow_change: bool,
) -> RunResult:
    """Train (or resume) the run whose lock this process holds: no other process writes in its folder, so the
    temporary files there were left by a killed process. ``now_numerics`` were measured in this process, after
    its executor set the threads, the device and determinism."""
    remove_temporaries(store.dir)
    first_numerics = store.claim(now_numerics)
    changed = numerics.check(store.dir, first_numerics, now_numerics, allow_change, "resume")  # fresh: equal
    torch.manual_seed(config.seed)  # network initialisation follows the run seed
    phases = config.phases()
    probe = _env(config, phases[0])
    spec = agents.env_spec(probe)
    probe.close()
    method = interventions.build(config.method, config.method_options)
    learner = agents.make(config.agent, config.agent_options, spec, config.seed, method, device)
    method.attach(learner)
    learner.set_run_length(config.total_steps)
    settings = DiagnosticsConfig(**config.diagnostics)
    diagnostics = Diagnostics(settings, learner, config.seed) if settings.enabled else None
    checkpoint = _restore(store, method, learner, diagnostics)
    first, status, resume = 0, "ran", None
    if checkpoint is not None:
        first, status = checkpoint["phase"], "resumed"
        resume = checkpoint if checkpoint["iteration"] > 0 else None
    start_step = checkpoint["learner"]["global_step"] if checkpoint else 0
    recorder = Recorder(store.dir)
    progress = _Progress(config, store.dir / PROGRESS, start_step)
    checkpoints = _Checkpoints(store, checkpoint_minutes * 60, diagnostics, time.monotonic())
    start = time.perf_counter()
    try:
        for phase in phases[first:]:
            _train_phase(config, phase, learner, method, recorder, progress, checkpoints, resume)
            resume = None
            _check_finite(learner, f"at the end of phase {phase.label}")
            if diagnostics and phase.index == len(phases) - 1:
                diagnostics.at(learner, phase, learner.global_step, "end", recorder.diagnostics)
            recorder.flush()
            checkpoints.save(learner, method, phase.index + 1, 0)
    finally:
        recorder.close()
    seconds = time.perf_counter() - start
    rate = (learner.global_step - start_step) / max(seconds, 1e-9)
    summary = {"seconds": round(seconds, 1), "steps_per_s": round(rate, 1), "steps": learner.global_step}
    if first or status == "resumed":
        summary["resumed_at_step"] = start_step
    if learner.restarted_buffer:
        summary["restarted_buffer"] = True  # resumed without its replay buffer: not an uninterrupted run
    if status == "resumed" and (drift := numerics.changed(first_numerics, now_numerics)):
        summary["numerics_at_resume"] = drift  # config.json keeps the numerics the run began with
    if changed:
        summary["numerics_change_allowed"] = True  # --allow-numerics-change: its records mix numerics
    store.mark_done(summary)
    return RunResult(config, store.dir, status, seconds, rate)
