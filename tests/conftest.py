"""Shared helpers: tiny-budget overrides so end-to-end runs use the real environments in seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

# Real environments and networks, shrunk: 8 envs x 16 steps per rollout, one rollout per phase.
TINY_PPO = {
    "agent.num_envs": 8,
    "agent.num_steps": 16,
    "agent.num_minibatches": 2,
    "agent.update_epochs": 1,
    "budget.steps_per_phase": 128,
}


@pytest.fixture
def tiny() -> list[str]:
    args: list[str] = []
    for key, value in TINY_PPO.items():
        args += ["--set", f"{key}={value}"]
    return args


@pytest.fixture
def keep_threads():
    """Restore this process's torch thread count after a test that sets it (or runs a command that does)."""
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


TINY_DQN = {"learning_starts": 32, "batch_size": 16, "buffer_size": 2000, "target_network_frequency": 50}
TINY_SAC = {"learning_starts": 32, "batch_size": 16, "buffer_size": 2000}
TINY = {
    "ppo": {"num_envs": 8, "num_steps": 16, "num_minibatches": 2, "update_epochs": 1},
    "dqn": TINY_DQN,
    "sac": TINY_SAC,
}
FIRST_TASK = {"minatar": "Breakout", "walker": "walker-stand"}


def new_learner(hooks=None, agent: str = "ppo", suite: str = "minatar", **options):
    """A real, untrained learner (the suite's agent options, shrunk by ``TINY``) and an env of the first task of
    ``suite`` (MinAtar Breakout or dm_control walker-stand), for tests that drive training themselves."""
    from rlplastic import agents, configs
    from rlplastic.envs import make_env
    from rlplastic.envs.seeding import env_seeds
    from rlplastic.run.plan import suite_table, table_options
    from rlplastic.suites import load_suite

    loaded = load_suite(suite)
    defaults = configs.defaults(agents.config_class(agent))  # all a plug-in agent without a suite table has
    table = suite_table(loaded.agents, agent)  # sb3_ppo reads [agents.ppo]
    opts = defaults | table_options(loaded.agents, table, agent) | TINY.get(table, {}) | options
    env = make_env(loaded.env, FIRST_TASK[suite], env_seeds(0, 0, opts["num_envs"]), loaded.env_options)
    learner = agents.make(agent, opts, agents.env_spec(env), seed=0, hooks=hooks)
    if hooks is not None and hasattr(hooks, "attach"):
        hooks.attach(learner)
    return learner, env


def trained_learner(hooks=None, agent: str = "ppo", iterations: int = 2, suite: str = "minatar", **options):
    """A real learner after a few small iterations on the first task of ``suite`` (MinAtar Breakout or dm_control
    walker-stand): its buffer is filled and it has updated."""
    from rlplastic.agents.learner import train

    learner, env = new_learner(hooks, agent, suite, **options)
    if agent in ("dqn", "sac", "sb3_dqn", "sb3_sac"):
        iterations = max(iterations, 64)  # past learning_starts
    train(learner, env, iterations, hooks)
    env.close()
    return learner


def pip_install(source: Path, site: Path) -> Path:
    """Install the package in folder ``source`` into ``site`` (a plain folder, not this environment), as another
    project would ship it; built from a copy, so the tests tree stays clean. Returns ``site``."""
    import shutil
    import subprocess
    import sys

    build = site.parent / f"{source.name}-build"
    shutil.copytree(source, build, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target"]
    subprocess.run([*pip, str(site), str(build)], check=True)
    return site


def with_site(site: Path) -> dict[str, str]:
    """This process's environment with ``site`` on ``PYTHONPATH``: subprocesses see the packages installed there."""
    import os

    return os.environ | {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}


PLUGIN_AGENT = Path(__file__).parent / "agents" / "plugin_a2c"


@pytest.fixture(scope="session")
def a2c_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The out-of-tree agent package ``tests/agents/plugin_a2c`` installed once per session, not yet importable."""
    return pip_install(PLUGIN_AGENT, tmp_path_factory.mktemp("a2c") / "site")


@pytest.fixture
def a2c_agent(a2c_site: Path, monkeypatch: pytest.MonkeyPatch):
    """Agent ``a2c`` registered by its entry point for this test only (other tests see the shipped agents)."""
    from rlplastic.agents import registry

    monkeypatch.syspath_prepend(str(a2c_site))
    registry.available.cache_clear()
    yield a2c_site
    monkeypatch.undo()
    registry.available.cache_clear()


def write_suite(path: Path, lr: float) -> Path:
    """A two-game MinAtar suite file without rollout sizes, its PPO learning rate ``lr``."""
    path.write_text(
        'name = "two"\nenv = "minatar"\ntasks = ["Asterix", "Breakout"]\n'
        "[budgets.smoke]\nsteps_per_phase = 1000\ncycles = 1\n"
        f'[agents.ppo]\nencoder = "minatar_cnn"\nobs_scale = 1.0\nlearning_rate = {lr}\n'
    )
    return path


SYSTEM = Path(__file__).parent / "system"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/system/ carries the ``system`` marker (``-m system`` / ``-m "not system"``)."""
    for item in items:
        if SYSTEM in Path(item.path).parents:
            item.add_marker(pytest.mark.system)
