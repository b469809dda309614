"""The plasticity protocols' perturbations: fixed permutations that differ across phases and random rewards that
are a fixed function of the observation (suites that extend others: ``tests/suites/test_suites.py``; each
protocol's smoke run: ``tests/system/test_protocol_runs.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from rlplastic.envs import make_env
from rlplastic.envs.perturb import permutation
from rlplastic.suites import load_suite

PROTOCOLS = ("permuted", "scrambled", "warmstart", "cminatar")


def _first_obs(suite: str, task: str) -> np.ndarray:
    loaded = load_suite(suite)
    env = make_env(
        loaded.env,
        task if task not in loaded.variants else loaded.variants[task]["task"],
        np.array([7]),
        loaded.env_options,
        loaded.variants.get(task),
    )
    obs = env.reset()
    env.close()
    return obs


def test_each_phase_is_a_fixed_permutation_of_the_game_different_across_phases() -> None:
    plain = _first_obs("minatar", "SpaceInvaders")
    first, again, second = (_first_obs("permuted", t) for t in ("SI-p01", "SI-p01", "SI-p02"))
    assert np.array_equal(first, again)  # fixed: the same phase sees the same permutation
    perm1, perm2 = permutation(1, 100), permutation(2, 100)
    assert sorted(perm1) == list(range(100)) and not np.array_equal(perm1, perm2)
    flat = plain.reshape(*plain.shape[:-2], -1)  # MinAtar: channels x 10 x 10 pixel positions
    assert np.array_equal(first, flat[..., perm1].reshape(plain.shape))
    assert np.array_equal(second, flat[..., perm2].reshape(plain.shape))
    assert not np.array_equal(first, second) and first.sum() == plain.sum()


def test_scrambled_phases_permute_every_entry_and_the_actions_differently_per_phase() -> None:
    plain = make_env("minatar", "SpaceInvaders", np.array([7]), load_suite("minatar").env_options)
    obs = plain.reset()
    first, again, second = (_first_obs("scrambled", t) for t in ("SI-s01", "SI-s01", "SI-s02"))
    assert np.array_equal(first, again)
    size = obs[0].size  # channels x 10 x 10: channels are shuffled too, unlike `permuted`
    perm1, perm2 = permutation(1, size), permutation(2, size)
    assert np.array_equal(first, obs.reshape(1, -1)[:, perm1].reshape(obs.shape))
    assert np.array_equal(second, obs.reshape(1, -1)[:, perm2].reshape(obs.shape))
    moved_channel = perm1.reshape(obs.shape[1:]) // 100 != np.arange(size).reshape(obs.shape[1:]) // 100
    assert moved_channel.mean() > 0.5  # most entries land in another channel
    variants = load_suite("scrambled").variants
    actions = [permutation(variants[t]["permute_actions"], 6) for t in ("SI-s01", "SI-s02")]
    assert all(sorted(a) == list(range(6)) for a in actions) and not np.array_equal(*actions)
    plain.close()


def test_a_frame_stack_gets_one_entry_permutation_per_frame() -> None:
    from rlplastic.envs.perturb import Perturbation, PerturbedEnv

    plain = make_env("atari", "Pong", np.array([1]), {})
    scrambled = PerturbedEnv(make_env("atari", "Pong", np.array([1]), {}), Perturbation(permute_entries=4))
    a, b = plain.reset(), scrambled.reset()
    perm = permutation(4, 84 * 84)
    assert np.array_equal(b, a.reshape(1, 4, -1)[..., perm].reshape(a.shape))
    with pytest.raises(ValueError, match="set only one"):
        Perturbation(permute_obs=1, permute_entries=1)
    for env in (plain, scrambled):
        env.close()


def test_random_rewards_are_a_fixed_function_of_the_observation() -> None:
    loaded = load_suite("warmstart")
    variant = loaded.variants["SI-random-reward"]
    envs = [make_env("minatar", "SpaceInvaders", np.array([3, 4]), loaded.env_options, variant) for _ in range(2)]
    plain = make_env("minatar", "SpaceInvaders", np.array([3, 4]), loaded.env_options)
    for env in (*envs, plain):
        env.reset()
    rng = np.random.default_rng(0)
    rewards, game = [], []
    for _ in range(200):
        actions = rng.integers(0, 6, 2)
        a, b, p = (env.step(actions) for env in (*envs, plain))
        assert np.array_equal(a.reward, b.reward)
        rewards.append(a.reward)
        game.append(p.reward)
        assert [e.ret for e in a.episodes] == [e.ret for e in p.episodes]  # returns stay the game's score
    rewards, game = np.concatenate(rewards), np.concatenate(game)
    assert np.all(np.abs(rewards) < 1) and len(np.unique(rewards)) > 20 and not np.allclose(rewards, game)
