"""``rlplastic.sb3``: a method applied to an SB3 user's own model inside ``model.learn()``, at the suite's switch
(once, at a rollout boundary, to SB3's own weights), and the run folder the leaderboard reads."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch
from stable_baselines3 import DQN, PPO, SAC

import rlplastic.sb3
from rlplastic.errors import UsageError
from rlplastic.interventions.fire import fire_weight
from rlplastic.report.results import find_runs

# two MinAtar tasks of 1,024 steps with 4 envs: a PPO rollout of 64 x 4 steps ends exactly at the switch
SMALL = {"budget.steps_per_phase": 1024, "suite.tasks": ["Breakout", "Asterix"]}


def small_env(seed: int = 0) -> rlplastic.sb3.SuiteVecEnv:
    return rlplastic.sb3.make_vec_env("minatar", budget="smoke", seed=seed, num_envs=4, overrides=SMALL)


def record_acts(monkeypatch: pytest.MonkeyPatch, model) -> list[tuple[int, bool, dict, dict]]:
    """(step, switch, weights before, weights after) of every boundary where the method acted (targets synced)."""
    acts, act = [], rlplastic.sb3.act_at_boundary

    def recording(method, learner, boundary):
        before = {k: v.clone() for k, v in model.policy.state_dict().items()}
        acted = act(method, learner, boundary)
        if acted:
            after = {k: v.clone() for k, v in model.policy.state_dict().items()}
            acts.append((boundary.step, boundary.switch, before, after))
        return acted

    monkeypatch.setattr(rlplastic.sb3, "act_at_boundary", recording)
    return acts


def test_fire_acts_once_at_the_switch_and_projects_sb3_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    env = small_env()
    model = PPO("MlpPolicy", env, n_steps=64, batch_size=64, seed=0)
    callback = rlplastic.sb3.PlasticityCallback("fire", env)
    acts = record_acts(monkeypatch, model)
    model.learn(env.total_steps, callback=callback)
    ((step, switch, before, after),) = acts
    assert (step, switch) == (1024, True)  # the rollout that begins the second task
    linear = [k for k, v in before.items() if k.endswith("weight") and v.dim() == 2]
    assert len(linear) == 6  # two 64-64 MLPs and the two heads: FIRE projects every one
    for key in linear:
        assert not torch.allclose(before[key], after[key]), key
        assert torch.allclose(after[key], fire_weight(before[key]), atol=1e-5), key


def test_the_run_folder_is_a_leaderboard_run_and_is_never_appended_to(tmp_path: Path) -> None:
    env = small_env()
    model = PPO("MlpPolicy", env, n_steps=64, batch_size=64, seed=0)
    model.learn(env.total_steps, callback=rlplastic.sb3.PlasticityCallback("reset", env, out=tmp_path))
    (run,), unfinished = find_runs(tmp_path)
    assert unfinished == [] and run.method == "reset"
    config = json.loads((run.dir / "config.json").read_text())
    assert config["agent"] == "sb3-ppo" and config["agent_options"]["n_steps"] == 64
    episodes = run.episodes()
    assert set(episodes["phase"]) == {0, 1} and (episodes["step"] <= 2048).all()
    assert (episodes["phase"] == (episodes["step"] > 1024)).all()  # an episode ending at the switch is phase 1's
    assert (episodes["start"] >= 1024 * episodes["phase"]).all()  # none began before its phase
    again = small_env()
    with pytest.raises(UsageError, match="already holds records"):
        PPO("MlpPolicy", again, n_steps=64, seed=0).learn(
            again.total_steps, callback=rlplastic.sb3.PlasticityCallback("reset", again, out=tmp_path)
        )


def test_dqn_reset_at_the_switch_leaves_the_target_equal_to_the_fresh_network(monkeypatch: pytest.MonkeyPatch) -> None:
    env = small_env()
    model = DQN("MlpPolicy", env, learning_starts=64, train_freq=4, buffer_size=2000, seed=0)
    callback = rlplastic.sb3.PlasticityCallback("reset", env)
    acts = record_acts(monkeypatch, model)
    model.learn(env.total_steps, callback=callback)
    ((step, switch, before, after),) = acts
    assert (step, switch) == (1024, True)
    assert not torch.equal(before["q_net.q_net.2.weight"], after["q_net.q_net.2.weight"])  # re-drawn
    for key in after:
        if key.startswith("q_net."):
            assert torch.equal(after[key], after[key.replace("q_net.", "q_net_target.", 1)]), key


def test_what_a_built_model_cannot_take_is_refused() -> None:
    env = small_env()
    with pytest.raises(ValueError, match="architecture"):
        PPO("MlpPolicy", env, n_steps=64, seed=0).learn(64, callback=rlplastic.sb3.PlasticityCallback("lnwd", env))
    other = small_env(seed=1)
    with pytest.raises(UsageError, match="the env the model trains on"):
        PPO("MlpPolicy", other, n_steps=64, seed=0).learn(64, callback=rlplastic.sb3.PlasticityCallback("fire", env))


def test_injection_on_a_dqn_model_rebuilds_the_target_and_the_model_saves_and_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = small_env()
    model = DQN("MlpPolicy", env, learning_starts=64, train_freq=4, buffer_size=2000, seed=0)
    acts = record_acts(monkeypatch, model)
    model.learn(env.total_steps, callback=rlplastic.sb3.PlasticityCallback("injection", env))
    ((step, switch, _, after),) = acts
    assert (step, switch) == (1024, True) and "q_net_target.q_net.4.new.weight" in after  # the target too
    assert model.q_net_target is model.policy.q_net_target  # SB3's train() reads the rebuilt target
    obs = torch.as_tensor(small_env().reset()).float()
    model.save(tmp_path / "model")  # the injected head folded back into one Linear: SB3's own shape
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # SB3 warns when the saved optimiser does not fit the policy's
        loaded = DQN.load(tmp_path / "model")
    assert type(loaded.policy.optimizer) is torch.optim.Adam and loaded.policy.optimizer.state
    assert torch.allclose(loaded.policy.q_net(obs), model.policy.q_net(obs), atol=1e-6)
    assert torch.allclose(loaded.policy.q_net_target(obs), model.policy.q_net(obs), atol=1e-6)


def test_fire_on_a_sac_model_projects_actor_and_critics_resets_the_temperature_and_saves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    walker = {
        "budget.steps_per_phase": 192,
        "suite.tasks": ["walker-stand", "walker-walk"],
        "agent.learning_starts": 64,
    }
    env = rlplastic.sb3.make_vec_env("walker", budget="smoke", seed=0, num_envs=1, overrides=walker)
    model = SAC("MlpPolicy", env, learning_starts=64, batch_size=32, buffer_size=1000, seed=0)
    acts, temperatures = record_acts(monkeypatch, model), []
    recorded = rlplastic.sb3.act_at_boundary

    def with_temperature(method, learner, boundary):
        before = model.log_ent_coef.item()
        acted = recorded(method, learner, boundary)
        if acted:
            temperatures.append((before, model.log_ent_coef.item(), len(model.ent_coef_optimizer.state)))
        return acted

    monkeypatch.setattr(rlplastic.sb3, "act_at_boundary", with_temperature)
    model.learn(env.total_steps, callback=rlplastic.sb3.PlasticityCallback("fire", env))
    ((step, switch, before, after),) = acts
    assert (step, switch) == (192, True)
    online = [k for k, v in before.items() if v.dim() == 2 and not k.startswith("critic_target.")]
    assert len(online) == 4 + 2 * 3  # actor: 2 hidden layers, mean and log-std heads; 2 critics of 3 layers
    for key in online:
        assert torch.allclose(after[key], fire_weight(before[key]), atol=1e-5), key
    for key in (k for k in after if k.startswith("critic.")):  # the targets SB3 bootstraps from: the projected ones
        assert torch.equal(after[key], after[key.replace("critic.", "critic_target.", 1)]), key
    ((moved, reset, moments),) = temperatures
    assert moved != 0.0 and (reset, moments) == (0.0, 0)  # back to alpha = 1, fresh Adam (FIRE's SAC code)
    model.save(tmp_path / "model")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = SAC.load(tmp_path / "model")
    assert type(loaded.actor.optimizer) is torch.optim.Adam and loaded.critic.optimizer.state
