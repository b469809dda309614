"""Networks the agents build, described by an ``ArchSpec`` that interventions may edit before building.

Every network offers interventions two views of itself: ``hidden_layers()`` (each hidden unit's incoming
layer, activation and outgoing layers, for unit-level methods such as ReDo and CBP) and ``heads`` (the
output layers, for head resets and plasticity injection).

Torsos (``agent.encoder``): plain CNNs and MLPs, and ``simba``, SimBa's residual MLP (Lee et al., arXiv
2410.09754; code SonyResearch/simba, ``scale_rl/networks/layers.py`` and ``agents/sac/sac_network.py``): a
Linear embedding (orthogonal, gain 1), pre-LN residual blocks x + W2 act(W1 LN(x)) with 4x inner width (He-normal
weights, zero biases), and a final LayerNorm that the heads read. Widths are the paper's SAC defaults by role:
actors 128 wide with 1 block, critics (and shared actor-critics, Q-networks) 512 wide with 2 blocks. What is taken:
the network. What is not: SimBa's initialisation replaces ``agent.init`` for the torso (the heads keep the agent's);
its running-statistics observation normalisation is the agent's business (PPO's ``agent.obs_norm`` is the same
running mean and variance, plus CleanRL's clip to +-10; SAC here has none); its other agent settings (AdamW with
weight decay 1e-2, lr 1e-4, the temperature's start) stay the agent's. Methods see through ``hidden_layers()`` the
blocks' inner units (incoming W1, outgoing W2), the only units behind a nonlinearity: the residual stream is written
by the embedding and every block, so no single layer owns its units. ``ln``/``lnwd``/``nap`` add their LayerNorm
where they always do, before each hidden nonlinearity (between W1 and the activation): SimBa's own LayerNorms
normalise the block inputs and the output, so nothing doubles up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

# name -> (conv layers as (channels, kernel, stride), fully connected width, input side length)
CONV_ENCODERS: dict[str, tuple[list[tuple[int, int, int]], int, int]] = {
    "nature_cnn": ([(32, 8, 4), (64, 4, 2), (64, 3, 1)], 512, 84),  # Mnih et al. 2015
    "minatar_cnn": ([(16, 3, 1)], 128, 10),  # Young & Tian 2019
}
# name -> hidden widths of a multilayer perceptron over flat (proprioceptive) observations
MLP_ENCODERS: dict[str, tuple[int, ...]] = {
    "mlp_256": (256, 256),  # CleanRL's SAC actor and critics
    "mlp_64": (64, 64),  # CleanRL's continuous-action PPO actor and critic
}
# name -> {role: (width, residual blocks)} of a SimBa residual MLP (configs/agent/sac_simba.yaml's SAC defaults)
RESIDUAL_ENCODERS: dict[str, dict[str, tuple[int, int]]] = {
    "simba": {"actor": (128, 1), "critic": (512, 2)},
}
ENCODERS = (*CONV_ENCODERS, *MLP_ENCODERS, *RESIDUAL_ENCODERS)
ACTIVATIONS = ("relu", "crelu", "dff", "tanh")
HIDDEN_ACTIVATIONS = (nn.ReLU, nn.Tanh)  # CReLU and DeepFourier added below
INITS = ("orthogonal", "torch", "xavier")


@dataclass(frozen=True)
class ArchSpec:
    """Architecture choices shared by every encoder.

    ``obs_scale`` multiplies raw observations (1/255 for Atari pixels). ``layer_norm`` normalises every
    hidden pre-activation (LayerNorm over features; over channels and positions for conv maps).
    ``activation`` is ``relu``, ``tanh``, ``crelu`` or ``dff``; ``width`` multiplies every hidden layer's unit count.
    ``init`` is ``orthogonal`` (CleanRL's PPO: gain sqrt(2), zero bias), ``torch`` (PyTorch's default
    Kaiming-uniform, CleanRL's DQN) or ``xavier`` (Xavier-uniform, zero bias: the FIRE paper's DQN).
    """

    encoder: str
    obs_scale: float = 1.0
    layer_norm: bool = False
    activation: str = "relu"
    width: float = 1.0
    init: str = "orthogonal"


class CReLU(nn.Module):
    """Concatenated ReLU, [ReLU(z), ReLU(-z)] along the feature axis (Shang et al. 2016)."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.relu(torch.cat([z, -z], dim=1))


class DeepFourier(nn.Module):
    """Deep Fourier features, [sin(z), cos(z)] along the feature axis (Lewandowski et al., arXiv 2410.20634)."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.sin(z), torch.cos(z)], dim=1)


DOUBLING = (CReLU, DeepFourier)  # activations that pass on two features per unit


@dataclass(frozen=True)
class HiddenLayer:
    """One layer of hidden units: ``incoming`` computes them, ``outgoing`` layers read them.

    An outgoing Linear after a flattened conv map reads ``positions`` columns per channel; with CReLU each
    unit feeds ``copies`` = 2 channels (unit i and unit i + units).
    """

    incoming: nn.Linear | nn.Conv2d
    activation: nn.Module
    outgoing: tuple[nn.Linear | nn.Conv2d, ...]
    positions: int = 1
    copies: int = 1

    @property
    def units(self) -> int:
        return self.incoming.out_features if isinstance(self.incoming, nn.Linear) else self.incoming.out_channels

    def outgoing_columns(self, unit: int, copy: int | None = None) -> list[int]:
        """Input indices (columns, or channels for a conv) of the outgoing layers that read ``unit``
        (only its CReLU ``copy`` if given)."""
        copies = range(self.copies) if copy is None else [copy]
        channels = [unit + c * self.units for c in copies]
        return [ch * self.positions + p for ch in channels for p in range(self.positions)]


def orthogonal_init(layer: nn.Module, gain: float = math.sqrt(2), bias: float = 0.0) -> nn.Module:
    """CleanRL's ``layer_init``: orthogonal weights with the given gain, constant bias."""
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.constant_(layer.bias, bias)
    return layer


def init_layer(arch: ArchSpec, layer: nn.Module, gain: float = math.sqrt(2)) -> nn.Module:
    """Initialise ``layer`` as ``arch.init`` says (``torch`` keeps the layer's own default initialisation)."""
    if arch.init == "orthogonal":
        return orthogonal_init(layer, gain)
    if arch.init == "xavier":
        nn.init.xavier_uniform_(layer.weight)
        nn.init.zeros_(layer.bias)
    return layer


def _hidden(arch: ArchSpec, units: int, conv: bool) -> list[nn.Module]:
    norm: list[nn.Module] = []
    if arch.layer_norm:
        norm = [nn.GroupNorm(1, units) if conv else nn.LayerNorm(units)]
    activation = {"crelu": CReLU, "dff": DeepFourier, "tanh": nn.Tanh}.get(arch.activation, nn.ReLU)
    return [*norm, activation()]


def is_conv(arch: ArchSpec) -> bool:
    return arch.encoder in CONV_ENCODERS


def feature_copies(arch: ArchSpec) -> int:
    """Features each hidden unit passes on: 2 for CReLU and Deep Fourier features, else 1."""
    return 2 if arch.activation in ("crelu", "dff") else 1


class ResidualBlock(nn.Module):
    """SimBa's pre-LN residual block, x + W2 act(W1 LN(x)), W1 widening to 4x (``mlp``: LN, W1, act, W2)."""

    def __init__(self, arch: ArchSpec, width: int) -> None:
        super().__init__()
        inner = 4 * width
        up, down = nn.Linear(width, inner), nn.Linear(inner * feature_copies(arch), width)
        for layer in (up, down):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
        self.mlp = nn.Sequential(nn.LayerNorm(width), up, *_hidden(arch, inner, conv=False), down)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mlp(x)


class ResidualMLP(nn.Module):
    """SimBa's torso: a Linear embedding, residual blocks, a final LayerNorm (see the module docstring)."""

    def __init__(self, arch: ArchSpec, in_width: int, width: int, blocks: int) -> None:
        super().__init__()
        self.copies = feature_copies(arch)
        self.embed = orthogonal_init(nn.Linear(in_width, width), gain=1.0)
        self.blocks = nn.Sequential(*(ResidualBlock(arch, width) for _ in range(blocks)))
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.blocks(self.embed(x.flatten(1))))

    def hidden_layers(self) -> list[HiddenLayer]:
        """Each block's inner units: W1 computes them, W2 reads them."""
        out = []
        for block in self.blocks:
            mods = list(block.mlp)
            act = next(m for m in mods if isinstance(m, (*HIDDEN_ACTIVATIONS, *DOUBLING)))
            out.append(HiddenLayer(mods[1], act, (mods[-1],), copies=self.copies))
        return out


def _residual(arch: ArchSpec, in_shape: tuple[int, ...], role: str) -> tuple[nn.Module, int]:
    size, blocks = RESIDUAL_ENCODERS[arch.encoder][role]
    width = max(1, round(size * arch.width))
    return ResidualMLP(arch, math.prod(in_shape), width, blocks), width


def encoder_mismatch(encoder: str, in_shape: tuple[int, ...]) -> str:
    """Why ``encoder`` cannot read observations of ``in_shape`` ("" if it can): a conv encoder is built for one
    image size, and the wrong one would fail only at the first forward pass. Planning asks too, since an agent
    without a suite table runs with its default encoder."""
    if encoder not in CONV_ENCODERS:
        return ""
    side = CONV_ENCODERS[encoder][2]
    if len(in_shape) == 3 and in_shape[1:] == (side, side):
        return ""
    fits = [n for n, (_, _, s) in CONV_ENCODERS.items() if len(in_shape) == 3 and in_shape[1:] == (s, s)]
    return (
        f"encoder {encoder!r} reads (channels, {side}, {side}) images, not observations of shape {in_shape}; set "
        f"agent.encoder to one that fits: {', '.join([*fits, *MLP_ENCODERS, *RESIDUAL_ENCODERS])}"
    )


def build_encoder(arch: ArchSpec, in_shape: tuple[int, ...], role: str = "critic") -> tuple[nn.Module, int]:
    """The encoder named by ``arch`` for inputs of ``in_shape`` (one sample), and the width of its output;
    ``role`` ("actor" or "critic") picks a residual torso's size."""
    if arch.encoder not in ENCODERS:
        raise ValueError(f"unknown encoder {arch.encoder!r}; choose one of {', '.join(ENCODERS)}")
    if arch.activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {arch.activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    if arch.init not in INITS:
        raise ValueError(f"unknown init {arch.init!r}; choose one of {', '.join(INITS)}")
    if arch.encoder in RESIDUAL_ENCODERS:
        return _residual(arch, in_shape, role)
    copies = feature_copies(arch)
    layers: list[nn.Module] = []
    if not is_conv(arch):
        width = math.prod(in_shape)
        layers.append(nn.Flatten())
        for size in MLP_ENCODERS[arch.encoder]:
            units = max(1, round(size * arch.width))
            layers += [init_layer(arch, nn.Linear(width, units)), *_hidden(arch, units, conv=False)]
            width = units * copies
        return nn.Sequential(*layers), width
    problem = encoder_mismatch(arch.encoder, in_shape)
    if problem:
        raise ValueError(problem)
    convs, fc, side = CONV_ENCODERS[arch.encoder]
    channels = in_shape[0]
    for out, kernel, stride in convs:
        units = max(1, round(out * arch.width))
        layers += [init_layer(arch, nn.Conv2d(channels, units, kernel, stride)), *_hidden(arch, units, conv=True)]
        channels, side = units * copies, (side - kernel) // stride + 1
    units = max(1, round(fc * arch.width))
    layers += [nn.Flatten(), init_layer(arch, nn.Linear(channels * side * side, units)), *_hidden(arch, units, False)]
    return nn.Sequential(*layers), units * copies


class EncoderHeads(nn.Module):
    """A shared encoder read by linear output heads: the ``Network`` protocol of ``rlplastic.agents.learner``.

    Subclasses call ``_encoder`` and set one attribute per name in ``head_names``; a network that reads more
    than the observation (a critic of state and action) overrides ``inputs``.
    """

    head_names: tuple[str, ...] = ()
    role: str = "critic"
    """"actor" for policies of their own (a residual torso is smaller there), else "critic"."""

    def _encoder(self, arch: ArchSpec, in_shape: tuple[int, ...]) -> int:
        """Build ``self.encoder`` for inputs of ``in_shape``; the width of its features."""
        self.encoder, width = build_encoder(arch, in_shape, self.role)
        self.obs_scale = arch.obs_scale
        self.channels_last = is_conv(arch)
        return width

    @property
    def heads(self) -> dict[str, nn.Module]:
        return {name: getattr(self, name) for name in self.head_names}

    def hidden_layers(self) -> list[HiddenLayer]:
        """The encoder's hidden layers in order; in a plain encoder the last one feeds every head."""
        if isinstance(self.encoder, ResidualMLP):
            return self.encoder.hidden_layers()
        mods = list(self.encoder)
        weights = [i for i, m in enumerate(mods) if isinstance(m, (nn.Linear, nn.Conv2d))]
        out = []
        for k, i in enumerate(weights):
            act = next(m for m in mods[i + 1 :] if isinstance(m, (*HIDDEN_ACTIVATIONS, *DOUBLING)))
            copies = 2 if isinstance(act, DOUBLING) else 1
            if k + 1 < len(weights):
                nxt = mods[weights[k + 1]]
                conv_to_fc = isinstance(nxt, nn.Linear) and isinstance(mods[i], nn.Conv2d)
                positions = nxt.in_features // (mods[i].out_channels * copies) if conv_to_fc else 1
                outgoing: tuple = (nxt,)
            else:
                positions, outgoing = 1, tuple(h for h in self.heads.values() if isinstance(h, nn.Linear))
            out.append(HiddenLayer(mods[i], act, outgoing, positions, copies))
        return out

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's output for network inputs ``x``."""
        if self.channels_last:
            # channels_last halves the cost of CPU convolutions (measured: 92 vs 197 ms per PPO minibatch);
            # reordering the uint8 input before the float conversion moves a quarter of the bytes.
            x = x.contiguous(memory_format=torch.channels_last)
        return self.encoder(x.float() * self.obs_scale)

    def inputs(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """What this network reads from a batch: the observations."""
        return batch["obs"]

    def features(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.encode(self.inputs(batch))

    def _finish(self) -> None:
        if self.channels_last:
            self.to(memory_format=torch.channels_last)


class ActorCritic(EncoderHeads):
    """A shared encoder with a policy head (gain 0.01) and a value head (gain 1), as in CleanRL's PPO."""

    head_names = ("policy", "value")

    def __init__(self, arch: ArchSpec, obs_shape: tuple[int, ...], num_actions: int) -> None:
        super().__init__()
        width = self._encoder(arch, obs_shape)
        self.policy = orthogonal_init(nn.Linear(width, num_actions), gain=0.01)
        self.value = orthogonal_init(nn.Linear(width, 1), gain=1.0)
        self._finish()

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Action logits and state values."""
        h = self.encode(obs)
        return self.policy(h), self.value(h).squeeze(-1)


class QNetwork(EncoderHeads):
    """A shared encoder with one linear head of action values (Mnih et al. 2015; CleanRL's ``dqn_atari.py``)."""

    head_names = ("q",)

    def __init__(self, arch: ArchSpec, obs_shape: tuple[int, ...], num_actions: int) -> None:
        super().__init__()
        width = self._encoder(arch, obs_shape)
        self.q = init_layer(arch, nn.Linear(width, num_actions), gain=1.0)
        self._finish()

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Action values, shape (batch, actions)."""
        return self.q(self.encode(obs))


class GaussianPolicy(EncoderHeads):
    """A diagonal Gaussian policy with a state-independent log standard deviation (CleanRL's
    ``ppo_continuous_action.py``: mean head gain 0.01, log-std starting at 0)."""

    head_names = ("mean",)
    role = "actor"

    def __init__(self, arch: ArchSpec, obs_shape: tuple[int, ...], action_dim: int) -> None:
        super().__init__()
        width = self._encoder(arch, obs_shape)
        self.mean = orthogonal_init(nn.Linear(width, action_dim), gain=0.01)
        self.log_std = nn.Parameter(torch.zeros(1, action_dim))
        self._finish()

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log standard deviation of the action distribution."""
        mean = self.mean(self.encode(obs))
        return mean, self.log_std.expand_as(mean)


class ValueNetwork(EncoderHeads):
    """A state-value network (value head gain 1, as CleanRL's PPO critics)."""

    head_names = ("value",)

    def __init__(self, arch: ArchSpec, obs_shape: tuple[int, ...]) -> None:
        super().__init__()
        width = self._encoder(arch, obs_shape)
        self.value = orthogonal_init(nn.Linear(width, 1), gain=1.0)
        self._finish()

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.value(self.encode(obs)).squeeze(-1)


LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0  # CleanRL's SAC bounds


class SquashedGaussianActor(EncoderHeads):
    """SAC's actor: mean and log-std heads, the log-std squashed into [-5, 2] by a tanh (CleanRL's
    ``sac_continuous_action.py``); actions are tanh-squashed samples (the learner scales them to the box)."""

    head_names = ("mean", "log_std")
    role = "actor"

    def __init__(self, arch: ArchSpec, obs_shape: tuple[int, ...], action_dim: int) -> None:
        super().__init__()
        width = self._encoder(arch, obs_shape)
        self.mean = init_layer(arch, nn.Linear(width, action_dim), gain=1.0)
        self.log_std = init_layer(arch, nn.Linear(width, action_dim), gain=1.0)
        self._finish()

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encode(obs)
        log_std = torch.tanh(self.log_std(h))
        return self.mean(h), LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (log_std + 1)


def state_action(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """What a critic Q(s, a) reads: the flattened observation and the action side by side."""
    return torch.cat([batch["obs"].flatten(1).float(), batch["actions"].float()], dim=1)


class SoftQNetwork(EncoderHeads):
    """A critic Q(s, a) reading the observation and the action side by side (CleanRL's SAC critics)."""

    head_names = ("q",)

    def __init__(self, arch: ArchSpec, obs_shape: tuple[int, ...], action_dim: int) -> None:
        super().__init__()
        width = self._encoder(arch, (math.prod(obs_shape) + action_dim,))
        self.q = init_layer(arch, nn.Linear(width, 1), gain=1.0)
        self._finish()

    def inputs(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return state_action(batch)

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return self.q(self.features({"obs": obs, "actions": actions})).squeeze(-1)
