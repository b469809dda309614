"""Training throughput of rlplastic's SAC against stable-baselines3's SAC, measured in the same run.

Same task (dm_control humanoid-stand, state observations), same networks (256x256 ReLU actor and twin critics),
batch 256, one gradient step per environment step, learned temperature, on this machine's CPU threads; only the
implementations differ. Both first act ``--warmup`` steps without updates, then every timed step includes an
update. Each measurement runs in a fresh process, so rlplastic's allocator tuning (``rlplastic/agents/allocator.py``,
applied by every learner) cannot speed up SB3 or be left out for rlplastic. rlplastic is measured as shipped (fp32)
and with ``agent.precision = "bf16"`` where the CPU has native bf16 (``--bf16``: anyway). Prints steps/s and the
ratios. Target (issue 7): >= 2x SB3.

    pip install -e ".[bench]" && python benchmarks/sac_speed.py [--steps 1500] [--repeats 2]
"""

from __future__ import annotations

import time

from versus_sb3 import compare

from rlplastic import agents
from rlplastic.agents.learner import train
from rlplastic.envs import make_env
from rlplastic.envs.seeding import env_seeds
from rlplastic.suites import load_suite

TARGET = 2.0
TASK = "humanoid-stand"
BUFFER = 100_000


def options(warmup: int) -> dict:
    return load_suite("humanoid").agents["sac"] | {"learning_starts": warmup, "buffer_size": BUFFER}


def ours(warmup: int, steps: int, precision: str = "fp32") -> float:
    """Steps/s of rlplastic's SAC over ``steps`` agent steps after ``warmup`` steps without updates."""
    opts = options(warmup) | {"precision": precision}
    env = make_env("dmc", TASK, env_seeds(0, 0, 1), {})
    learner = agents.make("sac", opts, agents.env_spec(env), seed=0)
    train(learner, env, warmup + 1)
    start = time.perf_counter()
    train(learner, env, steps)
    rate = steps / (time.perf_counter() - start)
    env.close()
    return rate


def sb3(warmup: int, steps: int) -> float:
    """Steps/s of stable-baselines3's SAC with the same settings, timed the same way."""
    from sb3_dmc import DMCGym
    from stable_baselines3 import SAC

    opts = options(warmup)
    model = SAC(
        "MlpPolicy",
        DMCGym(TASK),
        learning_rate=opts["q_lr"],  # SB3 has one rate; CleanRL's actor rate differs, which costs nothing here
        buffer_size=BUFFER,
        learning_starts=warmup,
        batch_size=opts["batch_size"],
        tau=opts["tau"],
        gamma=opts["gamma"],
        train_freq=1,
        gradient_steps=1,
        ent_coef="auto",
        policy_kwargs={"net_arch": [256, 256]},
        device="cpu",
        seed=0,
        verbose=0,
    )
    model.learn(warmup + 1)
    start = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    return steps / (time.perf_counter() - start)


def main() -> None:
    compare(__doc__, TASK, TARGET, ours, sb3, steps=1500)


if __name__ == "__main__":
    main()
