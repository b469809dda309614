"""Training throughput of rlplastic's DQN against stable-baselines3's DQN, measured in the same run.

Same game (Pong, full 18-action set), same hyper-parameters (CleanRL's ``dqn_atari.py`` from the atari suite:
1 env, an update of batch 32 every 4 steps, Adam lr 1e-4, target update every 1000 steps), same Nature-CNN
and replay capacity, on this machine's CPU threads; only the implementations differ. Both first fill
``--warmup`` steps, then the timed steps all include updates. Each measurement runs in a fresh process, so
rlplastic's allocator tuning (``rlplastic/agents/allocator.py``, applied by every learner) cannot speed up SB3 or
be left out for rlplastic. rlplastic is measured as shipped (fp32) and with ``agent.precision = "bf16"`` where the
CPU has native bf16 (``--bf16``: anyway). Prints steps/s and the ratios. Target (issue 6): >= 2x SB3.

    pip install -e ".[bench]" && python benchmarks/dqn_speed.py [--steps 4000] [--repeats 2]
"""

from __future__ import annotations

import time

from sb3_atari import sb3_atari_env
from versus_sb3 import compare

from rlplastic import agents
from rlplastic.agents.learner import train
from rlplastic.envs import make_env
from rlplastic.envs.seeding import env_seeds
from rlplastic.suites import load_suite

TARGET = 2.0
GAME = "Pong"
BUFFER = 100_000


def options(warmup: int) -> dict:
    return load_suite("atari").agents["dqn"] | {"learning_starts": warmup, "buffer_size": BUFFER}


def ours(warmup: int, steps: int, precision: str = "fp32") -> float:
    """Steps/s of rlplastic's DQN over ``steps`` agent steps after ``warmup`` steps without updates."""
    suite = load_suite("atari")
    opts = options(warmup) | {"precision": precision}
    env = make_env("atari", GAME, env_seeds(0, 0, opts["num_envs"]), suite.env_options)
    learner = agents.make("dqn", opts, agents.env_spec(env), seed=0)
    train(learner, env, warmup // learner.iteration_steps + 1)
    start = time.perf_counter()
    train(learner, env, steps // learner.iteration_steps)
    rate = steps / (time.perf_counter() - start)
    env.close()
    return rate


def sb3(warmup: int, steps: int) -> float:
    """Steps/s of stable-baselines3's DQN with the same settings, timed the same way."""
    from stable_baselines3 import DQN

    opts = options(warmup)
    model = DQN(
        "CnnPolicy",
        sb3_atari_env(GAME, 1),
        learning_rate=opts["learning_rate"],
        buffer_size=BUFFER,
        learning_starts=warmup,
        batch_size=opts["batch_size"],
        tau=opts["tau"],
        gamma=opts["gamma"],
        train_freq=opts["train_frequency"],
        gradient_steps=opts["gradient_steps"],
        target_update_interval=opts["target_network_frequency"],
        exploration_fraction=opts["exploration_fraction"],
        exploration_final_eps=opts["end_e"],
        device="cpu",
        seed=0,
        verbose=0,
    )
    model.learn(warmup + opts["train_frequency"])
    start = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    return steps / (time.perf_counter() - start)


def main() -> None:
    compare(__doc__, GAME, TARGET, ours, sb3, steps=4000)


if __name__ == "__main__":
    main()
