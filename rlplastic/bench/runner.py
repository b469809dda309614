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


def _check_finite(learner: agents.PPO, where: str) -> None:
    for name, net in learner.networks.items():
        for pname, p in net.named_parameters():
            if not torch.isfinite(p).all():
                raise RunFailed(
                    f"non-finite weights in {name}.{pname} {where}; lower agent.learning_rate or check the method"
                )


def _env(config: RunConfig, phase: Phase):
    seed = config.seed * 1000 + phase.index  # one seed per phase: resuming at a phase boundary is exact
    return make_env(config.env, phase.task, config.agent_options["num_envs"], seed, config.env_options)


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


def run(config: RunConfig, out_root: Path, show_progress: bool = True) -> RunResult:
    """Train one run to the end (or resume it), writing everything into its run folder."""
    store = RunStore(out_root, config)
    if store.done:
        return RunResult(config, store.dir, "reused")
    store.claim()
    torch.manual_seed(config.seed)
    phases = config.phases()
    probe = _env(config, phases[0])
    method = interventions.build(config.method, config.method_options)
    learner = agents.make(config.agent, config.agent_options, probe.obs_shape, probe.num_actions, config.seed, method)
    probe.close()
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
            env = _env(config, phase)
            if phase.index > 0:
                method.on_task_switch(learner, phase)
                _check_finite(learner, f"after {config.method} at the switch to phase {phase.label}")

            def on_episode(ph: Phase, step: int, ep: Episode) -> None:
                recorder.episode(ph, step, ep)
                progress.episode(ep)

            def on_update(step: int, stats: dict[str, float], ph: Phase = phase) -> None:
                recorder.update(ph, step, stats | {"steps_per_s": progress.update(ph, step)})

            learner.learn(env, phase, method, on_episode, on_update)
            env.close()
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
    store.mark_done({"seconds": round(seconds, 1), "steps_per_s": round(rate, 1), "steps": learner.global_step})
    return RunResult(config, store.dir, status, seconds, rate)
