"""Planning: phase lengths rounded to whole rollouts, suite budgets and task orders, user suites without rollout
sizes, and presets adapted to a budget's length."""

from __future__ import annotations

from pathlib import Path

from conftest import write_suite

from rlplastic.run.plan import plan


def test_phase_lengths_round_up_to_whole_rollouts() -> None:
    # 8 envs x 128 steps = 1024 agent steps per rollout: 1000 becomes 1024, 2049 becomes 3072.
    for asked, expected in [(1000, 1024), (2049, 3072), (2048, 2048)]:
        (config,) = plan("atari", ["none"], [0], "smoke", {"budget.steps_per_phase": asked})
        assert config.steps_per_phase == expected


def test_suite_budgets_and_task_orders() -> None:
    (atari,) = plan("atari", ["none"], [0], "smoke", {})
    assert atari.tasks == ("SpaceInvaders", "BeamRider", "MsPacman")
    (minatar,) = plan("minatar", ["none"], [0], "paper", {})
    assert minatar.tasks == ("Breakout", "SpaceInvaders", "Freeway", "Asterix", "Seaquest")
    assert minatar.steps_per_phase % 8192 == 0
    assert 10_000_000 <= minatar.steps_per_phase < 10_000_000 + 8192


def test_a_user_suite_without_rollout_sizes_rounds_phases_by_the_agents_iteration(tmp_path: Path) -> None:
    # Without num_envs/num_steps the phases were rounded by 1x1 and then drifted into a KeyError.
    (config,) = plan(str(write_suite(tmp_path / "s.toml", 1e-4)), ["none"], [0], "smoke", {})
    assert config.agent_options["num_envs"] == 8 and config.agent_options["num_steps"] == 128
    assert config.steps_per_phase == 1024  # 1000 rounded up to whole 8 x 128 rollouts


def test_a_budget_adapts_a_presets_agent_to_its_length() -> None:
    # fire_dqn learns from step 20k; the smoke budget (8,192 steps per phase) starts at 2,048 instead,
    # else DQN would never update and FIRE would act on an untrained network.
    (config,) = plan("atari", ["fire"], [0], "smoke", {"suite.tasks": ["Breakout"]}, preset="fire_dqn")
    assert config.agent_options["learning_starts"] == 2048 and config.agent_options["learning_rate"] == 6.25e-5
    (paper,) = plan("atari", ["fire"], [0], "paper", {"suite.tasks": ["Breakout"]}, preset="fire_dqn")
    assert paper.agent_options["learning_starts"] == 20_000


def test_later_options_are_left_out_of_stored_configs_at_their_neutral_default() -> None:
    """Options added after run folders existed: at the value that behaves as before they are not stored (older
    folders stay reusable); at any other value they are. The registry must hold the real defaults."""
    from rlplastic import configs, interventions
    from rlplastic.agents.dqn import DQNConfig
    from rlplastic.envs.minatar import MinAtarVector
    from rlplastic.folders import LATER_DEFAULTS
    from rlplastic.run.overrides import keyword_defaults

    assert LATER_DEFAULTS["env_options"] == {
        "seaquest_stall_steps": keyword_defaults(MinAtarVector, skip=())["seaquest_stall_steps"]
    }
    assert LATER_DEFAULTS["agent_options"] == {"exploration_steps": configs.defaults(DQNConfig)["exploration_steps"]}
    assert LATER_DEFAULTS["method_options.fire"] == {"scale": interventions.option_defaults("fire")["scale"]}
    (plain,) = plan("cminatar", ["fire"], [0], "smoke", {}, agent="dqn")
    stored = plain.to_json()
    assert "seaquest_stall_steps" not in stored["env_options"] and "exploration_steps" not in stored["agent_options"]
    assert "scale" not in stored["method_options"]["fire"] and "iters" in stored["method_options"]["fire"]
    assert plain.env_options["seaquest_stall_steps"] == 0  # the run itself still has every option
    (moved,) = plan("cminatar", ["fire"], [0], "smoke", {"fire.scale": "init"}, agent="dqn", preset="cchain_dqn")
    stored = moved.to_json()
    assert (
        stored["env_options"]["seaquest_stall_steps"] == 1000
        and stored["agent_options"]["exploration_steps"] == 110_000
    )
    assert stored["method_options"]["fire"]["scale"] == "init"
