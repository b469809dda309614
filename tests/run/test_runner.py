"""The runner: one clock for interventions (a periodic method aligned with switches acts once per step; a
preset's point method acts once at its step), and network initialisation follows the run seed. Each test
pinned a silent-wrong-result bug of the first version."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import TINY_PPO

from rlplastic import agents
from rlplastic.interventions.sp import ShrinkPerturb
from rlplastic.run import runner
from rlplastic.run.plan import plan

pytestmark = pytest.mark.slow

TINY = TINY_PPO | {"budget.steps_per_phase": 1024, "suite.tasks": ["Breakout", "Asterix", "Seaquest"]}


def application_steps(method: type, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The agent steps at which ``method.apply`` runs from now on (it still acts)."""
    steps: list[int] = []
    real = method.apply

    def counted(self, learner, boundary=None):
        steps.append(learner.global_step)
        real(self, learner, boundary)

    monkeypatch.setattr(method, "apply", counted)
    return steps


def test_a_periodic_method_aligned_with_switches_acts_once_per_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # sp.every=1024 with 1024-step phases used to shrink twice at each switch (lambda^2 instead of lambda).
    (config,) = plan("minatar", ["sp"], [0], "smoke", TINY | {"sp.every": 1024})
    steps = application_steps(ShrinkPerturb, monkeypatch)
    runner.run(config, tmp_path)
    assert steps == [1024, 2048]


def test_network_initialisation_follows_the_run_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    initial: list[dict[str, torch.Tensor]] = []
    real_make = agents.make

    def recording_make(name, options, spec, seed, hooks=None, device="cpu"):
        learner = real_make(name, options, spec, seed, hooks, device)
        net = next(iter(learner.networks.values()))
        initial.append({k: v.clone() for k, v in net.state_dict().items()})
        return learner

    monkeypatch.setattr(runner.agents, "make", recording_make)
    small = TINY | {"budget.steps_per_phase": 128, "suite.tasks": ["Breakout"]}
    for out in ("a", "b"):
        for config in plan("minatar", ["none"], [0, 1], "smoke", small):
            runner.run(config, tmp_path / out)
    (a0, a1, b0, b1) = initial
    assert all(torch.equal(a0[k], b0[k]) for k in a0)  # same seed, same weights
    assert not torch.equal(a0["encoder.0.weight"], a1["encoder.0.weight"])  # another seed, other weights
    assert all(torch.equal(a1[k], b1[k]) for k in a1)


def test_the_fire_dqn_preset_applies_its_settings_and_acts_once_at_the_midpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rlplastic.interventions.fire import Fire

    small = {
        "suite.tasks": ["Breakout"],
        "budget.steps_per_phase": 96,
        "agent.learning_starts": 16,
        "agent.buffer_size": 1000,
        "agent.batch_size": 8,
    }
    (config,) = plan("atari", ["fire"], [0], "smoke", small, preset="fire_dqn")
    opts = config.agent_options
    assert config.agent == "dqn" and opts["learning_rate"] == 6.25e-5 and opts["num_envs"] == 4
    assert opts["target_network_frequency"] == 2000 and opts["train_frequency"] * opts["num_envs"] == 4
    fire = config.method_options["fire"]
    assert fire["at_switch"] is False and fire["at_steps"] == [48] and fire["reset_optimizer"] is False
    steps = application_steps(Fire, monkeypatch)
    runner.run(config, tmp_path)
    assert steps == [48]
