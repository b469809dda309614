"""The SimBa residual torso (Lee et al., arXiv 2410.09754) against its definition: embedding, pre-LN residual
blocks x + W2 relu(W1 LN(x)) with 4x inner width, a final LayerNorm, the paper's SAC sizes by role, and the
view interventions get of it (``hidden_layers()``: the blocks' inner units)."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from rlplastic.agents.networks import (
    ArchSpec,
    CReLU,
    GaussianPolicy,
    ResidualMLP,
    SoftQNetwork,
    SquashedGaussianActor,
    ValueNetwork,
)
from rlplastic.run.plan import resolve
from rlplastic.suites import load_suite

SIMBA = ArchSpec(encoder="simba")


def layer_norm(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    mean = x.mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(((x - mean) ** 2).mean(-1, keepdim=True) + eps)


def test_forward_by_hand() -> None:
    torso = ResidualMLP(SIMBA, in_width=2, width=2, blocks=1)
    block = torso.blocks[0].mlp
    with torch.no_grad():
        torso.embed.weight.copy_(torch.tensor([[1.0, 0.0], [1.0, 2.0]]))
        torso.embed.bias.copy_(torch.tensor([0.0, 1.0]))
        block[1].weight.copy_(torch.arange(16.0).reshape(8, 2) - 8)  # W1: 2 -> 8, rows [-8, -7] ... [6, 7]
        block[1].bias.zero_()
        block[3].weight.copy_(torch.ones(2, 8) * torch.tensor([[1.0], [-0.5]]))  # W2: 8 -> 2
        block[3].bias.copy_(torch.tensor([0.5, 0.0]))
    x = torch.tensor([[1.0, 2.0]])
    h = torch.tensor([[1.0, 6.0]])  # embedding: [1*1 + 0*2 + 0, 1*1 + 2*2 + 1]
    z = torch.tensor([[-1.0, 1.0]])  # LN([1, 6]) = [-1, 1] (eps aside)
    inner = torch.relu((torch.arange(16.0).reshape(8, 2) - 8) @ z[0])  # each row: -w_i1 + w_i2 = 1
    assert torch.equal(inner, torch.ones(8))
    stream = h + torch.stack([inner.sum() + 0.5, -0.5 * inner.sum()])
    expected = layer_norm(stream)
    assert torch.allclose(layer_norm(h), z, atol=1e-5)
    assert torch.allclose(torso(x), expected, atol=1e-5)


def test_sizes_by_role_are_the_papers_sac_defaults() -> None:
    actor, critic = SquashedGaussianActor(SIMBA, (24,), 6), SoftQNetwork(SIMBA, (24,), 6)
    assert (actor.encoder.embed.out_features, len(actor.encoder.blocks)) == (128, 1)
    assert (critic.encoder.embed.out_features, len(critic.encoder.blocks)) == (512, 2)
    assert critic.encoder.embed.in_features == 30  # observation and action side by side
    assert GaussianPolicy(SIMBA, (24,), 6).encoder.embed.out_features == 128  # Gaussian PPO: actor and critic
    assert ValueNetwork(SIMBA, (24,)).encoder.embed.out_features == 512
    half = SquashedGaussianActor(dataclasses.replace(SIMBA, width=0.5), (24,), 6)
    assert half.encoder.embed.out_features == 64 and half.encoder.blocks[0].mlp[1].out_features == 256


def test_initialisation_is_simbas() -> None:
    torch.manual_seed(0)
    critic = SoftQNetwork(SIMBA, (24,), 6)
    embed = critic.encoder.embed.weight.detach()  # orthogonal, gain 1: orthonormal columns
    assert torch.allclose(embed.T @ embed, torch.eye(30), atol=1e-5)
    w1 = critic.encoder.blocks[0].mlp[1].weight.detach()  # He-normal: std sqrt(2 / fan_in)
    assert w1.std().item() == pytest.approx((2 / 512) ** 0.5, rel=0.02)
    assert all(not b.mlp[1].bias.any() and not b.mlp[3].bias.any() for b in critic.encoder.blocks)


def test_interventions_see_each_blocks_inner_units_and_the_heads_read_the_final_norm() -> None:
    critic = SoftQNetwork(SIMBA, (24,), 6)
    layers = critic.hidden_layers()
    assert len(layers) == 2
    for h, block in zip(layers, critic.encoder.blocks, strict=True):
        assert h.incoming is block.mlp[1] and h.outgoing == (block.mlp[3],) and isinstance(h.activation, nn.ReLU)
        assert h.units == 2048 and h.copies == 1
    batch = {"obs": torch.randn(4, 24), "actions": torch.randn(4, 6)}
    features = critic.features(batch)
    assert torch.allclose(features.mean(-1), torch.zeros(4), atol=1e-5)  # the final LayerNorm's output
    assert torch.allclose(critic.q(features).squeeze(-1), critic(batch["obs"], batch["actions"]))


def test_crelu_and_layer_norm_go_inside_the_blocks() -> None:
    arch = dataclasses.replace(SIMBA, activation="crelu", layer_norm=True)
    actor = SquashedGaussianActor(arch, (24,), 6)
    mlp = actor.encoder.blocks[0].mlp
    assert [type(m) for m in mlp] == [nn.LayerNorm, nn.Linear, nn.LayerNorm, CReLU, nn.Linear]
    assert mlp[4].in_features == 2 * 512 and actor.hidden_layers()[0].copies == 2
    assert actor(torch.randn(3, 24))[0].shape == (3, 6)


def test_the_torso_is_an_agent_option_recorded_in_the_run_config() -> None:
    for agent in ("sac", "ppo"):
        config = resolve(load_suite("walker"), "smoke", "none", 0, {"agent.encoder": "simba"}, agent=agent)
        assert config.agent_options["encoder"] == "simba"
