"""Run one configuration: schedule -> method -> learner -> phases, with a checkpoint after every phase."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from rlplastic import agents, interventions
from rlplastic.bench.plan import RunConfig
from rlplastic.bench.recorder import Recorder, truncate_csv
from rlplastic.bench.store import EPISODES, METRICS, RunStore
from rlplastic.envs import Phase, make_env
from rlplastic.envs.episodes import Episode
from rlplastic.envs.seeding import env_seeds
from rlplastic.interventions.base import Boundary


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
    if agents.env_spec(env) != spec:
        env.close()
        raise RunFailed(
            f"task {phase.task!r} ({phase.label}) has observations {env.obs_shape} and actions {env.action_spec}, "
            f"but the run's first task has {spec.obs_shape} and {spec.action_spec}: a suite's tasks must share "
            "observation and action spaces (use one body per dm_control suite)"
        )


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
    """Progress bar and throughput of one run."""

    def __init__(self, config: RunConfig, initial: int, show: bool) -> None:
        label = f"{config.suite}/{config.method}/seed {config.seed}"
        self.bar = tqdm(
            total=config.total_steps,
            initial=initial,
            desc=label,
            unit="step",
            disable=not show,
            leave=False,
            dynamic_ncols=True,
        )
        self.last_step, self.last_time = initial, time.perf_counter()
        self.returns: deque[float] = deque(maxlen=20)

    def episode(self, episode: Episode) -> None:
        self.returns.append(episode.ret)

    def update(self, phase: Phase, step: int) -> float:
        now = time.perf_counter()
        rate = (step - self.last_step) / max(now - self.last_time, 1e-9)
        self.bar.update(step - self.last_step)
        recent = sum(self.returns) / len(self.returns) if self.returns else float("nan")
        self.bar.set_postfix(task=phase.label, ret=f"{recent:.1f}", sps=f"{rate:.0f}")
        self.last_step, self.last_time = step, now
        return rate


def _train_phase(
    config: RunConfig,
    phase: Phase,
    learner: agents.Learner,
    method: interventions.Intervention,
    recorder: Recorder,
    progress: _Progress,
) -> None:
    """One phase: iterations of collect + update, with the method offered every iteration boundary."""
    env = _env(config, phase)
    _check_spaces(env, learner.spec, phase)
    iterations = phase.steps // learner.iteration_steps
    learner.start_phase(env, phase, iterations)
    means = _Means()

    def on_episode(ph: Phase, step: int, ep: Episode) -> None:
        recorder.episode(ph, step, ep)
        progress.episode(ep)

    for k in range(iterations):
        step = learner.global_step
        boundary = Boundary(
            step=step,
            previous=step - learner.iteration_steps,
            phase=phase,
            switch=k == 0 and phase.index > 0,
            probe=lambda n: _probe(config, phase, learner, n),
        )
        act_at_boundary(method, learner, boundary)
        learner.collect(on_episode)
        stats = learner.update(method)
        means.add(stats)
        if learner.global_step % learner.log_every == 0 or k == iterations - 1:
            step = learner.global_step
            recorder.update(phase, step, means.pop(list(stats)) | {"steps_per_s": progress.update(phase, step)})
    env.close()


def run(config: RunConfig, out_root: Path, show_progress: bool = True) -> RunResult:
    """Train one run to the end (or resume it), writing everything into its run folder."""
    store = RunStore(out_root, config)
    store.verify()
    if store.done:
        return RunResult(config, store.dir, "reused")
    store.claim()
    torch.manual_seed(config.seed)  # network initialisation follows the run seed
    phases = config.phases()
    probe = _env(config, phases[0])
    spec = agents.env_spec(probe)
    probe.close()
    method = interventions.build(config.method, config.method_options)
    learner = agents.make(config.agent, config.agent_options, spec, config.seed, method)
    method.attach(learner)
    learner.set_run_length(config.total_steps)
    first, status = 0, "ran"
    checkpoint = store.load_checkpoint()
    if checkpoint is not None:
        method.load_state_dict(checkpoint["method"], learner)  # first: it may rebuild structure (injection)
        learner.load_state_dict(checkpoint["learner"])
        torch.set_rng_state(checkpoint["torch_rng"])
        first, status = checkpoint["next_phase"], "resumed"
        for name in (EPISODES, METRICS):
            truncate_csv(store.dir / name, learner.global_step)
    recorder = Recorder(store.dir)
    progress = _Progress(config, learner.global_step, show_progress)
    start, start_step = time.perf_counter(), learner.global_step
    try:
        for phase in phases[first:]:
            _train_phase(config, phase, learner, method, recorder, progress)
            _check_finite(learner, f"at the end of phase {phase.label}")
            recorder.flush()
            store.save_checkpoint(
                {
                    "learner": learner.state_dict(),
                    "method": method.state_dict(),
                    "torch_rng": torch.get_rng_state(),
                    "next_phase": phase.index + 1,
                }
            )
    finally:
        recorder.close()
        progress.bar.close()
    seconds = time.perf_counter() - start
    rate = (learner.global_step - start_step) / max(seconds, 1e-9)
    summary = {"seconds": round(seconds, 1), "steps_per_s": round(rate, 1), "steps": learner.global_step}
    if first:
        summary["resumed_at_phase"] = first
    if learner.restarted_buffer:
        summary["restarted_buffer"] = True  # resumed without its replay buffer: not an uninterrupted run
    store.mark_done(summary)
    return RunResult(config, store.dir, status, seconds, rate)
