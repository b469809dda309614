"""dm_control adapter, task variants and perturbations, each checked against what it claims, on the real
environments (the continuous-action pieces of PPO: ``tests/agents/test_continuous_ppo.py``)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from rlplastic.envs import make_env
from rlplastic.envs.perturb import Perturbation, PerturbedEnv, permutation
from rlplastic.suites import SuiteError, parse_suite

SEEDS = np.array([3, 4])


def test_dmc_episode_is_a_1000_step_truncation_with_its_final_observation() -> None:
    env = make_env("dmc", "walker-walk", SEEDS, {})
    obs = env.reset()
    assert obs.shape == (2, 24) and obs.dtype == np.float32 and env.action_spec.dim == 6
    for step in range(1000):
        r = env.step(np.zeros((2, 6)))
        assert r.done.all() == (step == 999)
    assert r.truncated.all() and not r.terminated.any()
    assert not np.array_equal(r.final_obs, r.obs)  # obs already starts the next episode
    assert [e.length for e in r.episodes] == [1000, 1000]
    env.close()


def test_dynamics_options_scale_the_model_and_change_the_motion() -> None:
    base, slippery = (make_env("dmc", "quadruped-walk", SEEDS, {"friction": f}) for f in (1.0, 0.1))
    for a, b in zip(base._envs, slippery._envs, strict=True):
        assert np.allclose(b.physics.model.geom_friction[:, 0], 0.1 * a.physics.model.geom_friction[:, 0])
        assert np.array_equal(b.physics.model.geom_friction[:, 1:], a.physics.model.geom_friction[:, 1:])
    heavy = make_env("dmc", "quadruped-walk", SEEDS, {"mass": 2.0, "gravity": 0.5})
    model, ref = heavy._envs[0].physics.model, base._envs[0].physics.model
    assert np.allclose(model.body_mass, 2 * ref.body_mass) and np.allclose(model.opt.gravity, 0.5 * ref.opt.gravity)
    obs = [env.reset() for env in (base, slippery)]
    assert np.array_equal(obs[0], obs[1])  # same seeds, same start
    actions = np.random.default_rng(0).uniform(-1, 1, (100, 2, 12))
    for a in actions:
        obs = [env.step(a).obs for env in (base, slippery)]
    assert not np.allclose(obs[0], obs[1])
    with pytest.raises(ValueError, match=r"env\.friction must be a finite number > 0"):
        make_env("dmc", "quadruped-walk", SEEDS, {"friction": 0.0})


def test_observation_permutation_is_a_fixed_permutation_per_seed() -> None:
    plain = make_env("dmc", "walker-walk", SEEDS, {})
    permuted = PerturbedEnv(make_env("dmc", "walker-walk", SEEDS, {}), Perturbation(permute_obs=7))
    perm = permutation(7, 24)
    assert sorted(perm) == list(range(24)) and not np.array_equal(perm, np.arange(24))
    assert not np.array_equal(perm, permutation(8, 24))  # another seed, another task
    assert np.array_equal(permuted.reset(), plain.reset()[:, perm])
    action = np.full((2, 6), 0.3)
    a, b = plain.step(action), permuted.step(action)
    assert np.array_equal(b.obs, a.obs[:, perm]) and np.array_equal(b.reward, a.reward)


def test_pixel_permutation_moves_positions_alike_in_every_channel() -> None:
    plain = make_env("minatar", "Breakout", SEEDS, {})
    permuted = PerturbedEnv(make_env("minatar", "Breakout", SEEDS, {}), Perturbation(permute_obs=1))
    perm = permutation(1, 100)
    expected = plain.reset().reshape(2, 10, 100)[..., perm].reshape(2, 10, 10, 10)
    got = permuted.reset()
    assert np.array_equal(got, expected) and got.sum() == expected.sum() > 0


def test_action_permutation_and_reward_scale() -> None:
    plain = make_env("minatar", "Breakout", SEEDS, {"sticky_action_prob": 0.0})
    perturbed = PerturbedEnv(
        make_env("minatar", "Breakout", SEEDS, {"sticky_action_prob": 0.0}),
        Perturbation(permute_actions=2, reward_scale=3.0),
    )
    perm = permutation(2, 6)
    plain.reset(), perturbed.reset()
    rng, rewards, episodes = np.random.default_rng(0), [], [[], []]
    for _ in range(500):
        actions = rng.integers(0, 6, 2)
        a, b = plain.step(perm[actions]), perturbed.step(actions)  # agent's action i is the game's perm[i]
        assert np.array_equal(a.obs, b.obs)
        assert np.array_equal(b.reward, 3.0 * a.reward)
        rewards.append(a.reward.sum())
        episodes[0] += [e.ret for e in a.episodes]
        episodes[1] += [e.ret for e in b.episodes]
    assert sum(rewards) > 0 and episodes[0] == episodes[1]  # returns stay in the game's raw score


SUITE = {"env": "dmc", "tasks": ["a"], "budgets": {"smoke": {"steps_per_phase": 8, "cycles": 1}}}


@pytest.mark.parametrize(
    "variant,message",
    [
        ({"task": "walker-walk", "colour": 1}, "unknown key 'colour'"),
        ({"env": {}}, "missing key 'task'"),
        ({"task": "walker-walk", "permute_obs": -2}, "permute_obs must be a seed >= 0"),
        ({"task": "walker-walk", "permute_actions": 1.5}, "permute_actions must be a seed >= 0"),
        ({"task": "walker-walk", "permute_entries": "x"}, "permute_entries must be a seed >= 0"),
        ({"task": "walker-walk", "permute_obs": 1, "permute_entries": 2}, "set only one"),
        ({"task": "walker-walk", "reward_scale": 0}, "reward_scale must be a finite number > 0"),
        ({"task": "walker-walk", "env": 3}, "'env' must be a dict"),
    ],
)
def test_bad_variants_are_named(variant: dict, message: str) -> None:
    with pytest.raises(SuiteError, match=message):
        parse_suite(SUITE | {"variants": {"a": variant}}, "my.toml")


def write_suite(path, tasks: list[str], variants: str = "") -> str:
    path.write_text(
        f'env = "dmc"\nagent = "sac"\ntasks = {tasks!r}\n'.replace("'", '"')
        + "[budgets.smoke]\nsteps_per_phase = 64\ncycles = 1\n[agents.sac]\nlearning_starts = 32\nbatch_size = 16\n"
        + variants
    )
    return str(path)


@pytest.mark.parametrize(
    "tasks,variants,message",
    [
        (["walker-walk", "v"], '[variants.v]\ntask = "walker-walk"\nenv = { colour = 1 }\n', "unknown option 'colour'"),
        (["v"], '[variants.v]\ntask = "walker-fly"\n', "task 'walker-fly' is not a dmc task"),
        (["walker-fly"], "", "task 'walker-fly' is not a dmc task"),
    ],
)
def test_bad_tasks_are_refused_before_any_run(tmp_path, tasks: list[str], variants: str, message: str) -> None:
    from rlplastic.errors import UsageError
    from rlplastic.run.plan import plan

    with pytest.raises(UsageError, match=message):
        plan(write_suite(tmp_path / "s.toml", tasks, variants), ["none"], [0], "smoke", {})


def test_tasks_with_other_spaces_are_refused_up_front_and_at_run_time(tmp_path) -> None:
    import dataclasses

    from rlplastic.errors import UsageError
    from rlplastic.run import runner
    from rlplastic.run.plan import plan

    suite = write_suite(tmp_path / "s.toml", ["walker-walk", "humanoid-walk"])
    with pytest.raises(UsageError, match="must share observation and action spaces"):
        plan(suite, ["none"], [0], "smoke", {})
    (config,) = plan(write_suite(tmp_path / "t.toml", ["walker-walk"]), ["none"], [0], "smoke", {})
    config = dataclasses.replace(config, tasks=("walker-walk", "humanoid-walk"))  # as if planning were skipped
    with pytest.raises(runner.RunFailed, match="must share observation and action spaces"):
        runner.run(config, tmp_path / "out")


def test_a_torch_optimiser_built_after_an_env_does_not_crash() -> None:
    """With EGL loaded (our earlier default backend), the first optimiser torch builds after a dm_control env
    segfaulted where triton is installed (the kron extra): torch imports it lazily. A fresh process, since an
    earlier test may have imported it already."""
    script = (
        "import torch\n"
        "from rlplastic.envs import make_env\n"
        "from rlplastic.envs.seeding import env_seeds\n"
        "make_env('dmc', 'walker-stand', env_seeds(0, 0, 1), {})\n"
        "torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])\n"
        "print('built')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MUJOCO_GL"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "built", done.stderr[-2000:]
