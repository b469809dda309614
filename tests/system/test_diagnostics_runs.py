"""Diagnostics in real runs: every quantity of every network of every agent, in the file and in TensorBoard, and
measuring changes nothing about training."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rlplastic.run import runner
from rlplastic.run.plan import plan

pytestmark = pytest.mark.slow

LAYER = {
    "dormant",
    "dormant_zero",
    "grama_dormant",
    "active",
    "zombie",
    "weight_norm",
    "preact_mean_drift",
    "preact_var_drift",
    "amplitude_w1",
}
NETWORK = LAYER | {
    "srank",
    "effective_rank",
    "feature_rank",
    "feature_norm",
    "grad_norm",
    "distance_from_init",
    "condensation",
}
CASES = {
    "ppo": (
        "minatar",
        {
            "agent.num_envs": 4,
            "agent.num_steps": 32,
            "agent.num_minibatches": 2,
            "agent.update_epochs": 1,
            "budget.steps_per_phase": 256,
        },
        {"actor_critic"},
    ),
    "dqn": (
        "minatar",
        {
            "agent.learning_starts": 64,
            "agent.batch_size": 16,
            "agent.buffer_size": 2000,
            "agent.log_interval": 100,
            "budget.steps_per_phase": 256,
        },
        {"q"},
    ),
    "sac": (
        "walker",
        {
            "agent.learning_starts": 64,
            "agent.batch_size": 16,
            "agent.buffer_size": 2000,
            "agent.log_interval": 50,
            "budget.steps_per_phase": 128,
        },
        {"actor", "q1", "q2"},
    ),
}


def _config(agent: str, **diagnostics):
    suite, settings, _ = CASES[agent]
    overrides = settings | {
        "suite.tasks": ["Breakout", "Asterix"] if suite == "minatar" else ["walker-stand", "walker-walk"]
    }
    overrides |= {f"diagnostics.{k}": v for k, v in diagnostics.items()}
    (config,) = plan(suite, ["fire"], [0], "smoke", overrides, agent=agent)
    return config


@pytest.mark.parametrize("agent", list(CASES))
def test_every_quantity_of_every_network_and_training_untouched(agent: str, tmp_path: Path) -> None:
    every = CASES[agent][1]["budget.steps_per_phase"] // 2
    measured = runner.run(_config(agent, every=every), tmp_path / "on")
    plain = runner.run(_config(agent, enabled=False), tmp_path / "off")
    rows = pd.read_csv(measured.dir / "diagnostics.csv", dtype={"layer": str})
    assert set(rows["network"]) == CASES[agent][2]
    assert set(rows["when"]) == {"cadence", "before", "after", "end"}
    for network, mine in rows.groupby("network"):
        assert set(mine.loc[mine["layer"] == "all", "quantity"]) == NETWORK, network
        for layer, per_layer in mine[mine["layer"] != "all"].groupby("layer"):
            assert set(per_layer["quantity"]) == LAYER, (network, layer)
    assert rows["value"].notna().all()
    switch = rows[rows["when"].isin(["before", "after"])].pivot_table(
        index=["network", "layer", "quantity"], columns="when", values="value"
    )
    # FIRE acted at the switch: it orthogonalises the weights, so the network moved between "before" and "after".
    assert (
        switch.loc[(slice(None), "all", "distance_from_init"), "after"]
        != switch.loc[(slice(None), "all", "distance_from_init"), "before"]
    ).all()
    events = EventAccumulator(str(measured.dir / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {f"diag/{n}/{q}" for n in CASES[agent][2] for q in NETWORK} <= tags
    assert not (plain.dir / "diagnostics.csv").read_text().strip().splitlines()[1:]  # off: header only
    for name in ("episodes.csv", "metrics.csv"):  # measuring draws no training randomness and moves no weight
        assert (measured.dir / name).read_text() == (plain.dir / name).read_text(), name
