"""Atari as stable-baselines3 sees it in the benchmarks: rlplastic's protocol rebuilt with SB3's wrappers.

Full 18-action set, frame-skip 4 with max-pooling, 84x84 grey, stack of 4, sticky actions 0.25, no life-loss
signal: the same game and observation as ``rlplastic/envs/atari.py``, so only the implementations differ.
"""

from __future__ import annotations


def sb3_atari_env(game: str, num_envs: int):
    """A frame-stacked SB3 vector env of ``num_envs`` copies of ``game``."""
    import ale_py
    import gymnasium as gym
    from stable_baselines3.common.env_util import make_atari_env
    from stable_baselines3.common.vec_env import VecFrameStack

    gym.register_envs(ale_py)
    env = make_atari_env(
        f"ALE/{game}-v5",
        n_envs=num_envs,
        seed=0,
        env_kwargs={"frameskip": 1, "repeat_action_probability": 0.0, "full_action_space": True},
        wrapper_kwargs={"terminal_on_life_loss": False, "action_repeat_probability": 0.25},
    )
    return VecFrameStack(env, 4)
