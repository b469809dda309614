"""The silent-wrong-result bugs of the first version, each pinned by a test that failed on it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_PPO

from rlplastic import agents
from rlplastic.envs import make_env
from rlplastic.envs.seeding import MAX_ENVS, env_seeds
from rlplastic.interventions.sp import ShrinkPerturb
from rlplastic.run import runner
from rlplastic.run.cli import main
from rlplastic.run.plan import plan
from rlplastic.suites import load_suite

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


def write_suite(path: Path, lr: float) -> Path:
    path.write_text(
        'name = "two"\nenv = "minatar"\ntasks = ["Asterix", "Breakout"]\n'
        "[budgets.smoke]\nsteps_per_phase = 1000\ncycles = 1\n"
        f'[agents.ppo]\nencoder = "minatar_cnn"\nobs_scale = 1.0\nlearning_rate = {lr}\n'
    )
    return path


def test_a_user_suite_without_rollout_sizes_rounds_phases_by_the_agents_iteration(tmp_path: Path) -> None:
    # Without num_envs/num_steps the phases were rounded by 1x1 and then drifted into a KeyError.
    (config,) = plan(str(write_suite(tmp_path / "s.toml", 1e-4)), ["none"], [0], "smoke", {})
    assert config.agent_options["num_envs"] == 8 and config.agent_options["num_steps"] == 128
    assert config.steps_per_phase == 1024  # 1000 rounded up to whole 8 x 128 rollouts


def test_a_finished_run_is_reused_only_with_an_equal_resolved_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = write_suite(tmp_path / "s.toml", 1e-4)
    args = ["--suite", str(suite), "--method", "none", "--no-baselines", "--quiet", "--out", str(tmp_path / "o")]
    tiny = ["--set", "agent.num_envs=4", "--set", "agent.num_steps=8", "--set", "budget.steps_per_phase=64"]
    assert main(args + tiny) == 0
    (run_dir,) = [p.parent for p in (tmp_path / "o").rglob("DONE")]
    stored = json.loads((run_dir / "config.json").read_text())
    assert stored["agent_options"]["gae_lambda"] == 0.95  # defaults are resolved into the record
    assert stored["method_options"] == {"none": {}} and stored["version"] and len(stored["suite_sha256"]) == 64
    assert main(args + tiny) == 0 and " reused " in capsys.readouterr().out
    write_suite(suite, 3e-4)  # the suite file changes: the stored run is no longer what is asked for
    mtime = (run_dir / "episodes.csv").stat().st_mtime
    assert main(args + tiny) == 2
    err = capsys.readouterr().err
    assert "another configuration" in err and "agent_options.learning_rate: 0.0001 -> 0.0003" in err
    assert err.count("\n") == 1 and (run_dir / "episodes.csv").stat().st_mtime == mtime  # nothing trained


def test_env_seeds_are_disjoint_across_phases_cycles_streams_and_run_seeds() -> None:
    seen: set[int] = set()
    for seed in range(3):
        for phase in range(12):  # e.g. 3 games x 4 cycles
            for stream in ("train", "probe"):
                block = set(env_seeds(seed, phase, 64, stream).tolist())
                assert len(block) == 64 and not block & seen
                seen |= block
    with pytest.raises(ValueError, match="exceeds"):
        env_seeds(0, 0, MAX_ENVS + 1)


def test_different_phases_see_different_games_of_the_same_task() -> None:
    suite = load_suite("atari")
    frames = []
    for phase in (0, 3):  # the same game in cycles 1 and 2
        env = make_env("atari", "Breakout", env_seeds(0, phase, 2), suite.env_options)
        env.reset()
        rng = np.random.default_rng(0)
        for _ in range(60):
            result = env.step(rng.integers(0, 18, 2))
        frames.append(result.obs.copy())
        env.close()
    assert not np.array_equal(frames[0], frames[1])


def test_network_initialisation_follows_the_run_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    initial: list[dict[str, torch.Tensor]] = []
    real_make = agents.make

    def recording_make(name, options, spec, seed, hooks=None):
        learner = real_make(name, options, spec, seed, hooks)
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


def test_truncation_is_reported_apart_from_termination_with_the_final_observation() -> None:
    suite = load_suite("minatar")
    env = make_env("minatar", "Freeway", env_seeds(0, 0, 2), suite.env_options | {"max_episode_steps": 5})
    obs = env.reset()
    for _ in range(5):
        result = env.step(np.zeros(2, dtype=np.int64))
    assert result.truncated.all() and not result.terminated.any()
    assert result.final_obs.any() and not np.array_equal(result.final_obs, result.obs)  # the cars moved on
    assert not np.array_equal(result.final_obs, obs)
    env.close()


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


def test_a_budget_adapts_a_presets_agent_to_its_length() -> None:
    # fire_dqn learns from step 20k; the smoke budget (8,192 steps per phase) starts at 2,048 instead,
    # else DQN would never update and FIRE would act on an untrained network.
    (config,) = plan("atari", ["fire"], [0], "smoke", {"suite.tasks": ["Breakout"]}, preset="fire_dqn")
    assert config.agent_options["learning_starts"] == 2048 and config.agent_options["learning_rate"] == 6.25e-5
    (paper,) = plan("atari", ["fire"], [0], "paper", {"suite.tasks": ["Breakout"]}, preset="fire_dqn")
    assert paper.agent_options["learning_starts"] == 20_000
