"""Measuring a learner's networks on a probe batch: the runner's side of the plasticity diagnostics.

When: every ``every`` agent steps inside a phase, just before and just after the intervention at every task
switch (on one probe batch, so the two rows show what the method changed), and at the end of the run. The
probe batch is ``samples`` transitions of the agent's own rollout or replay buffer, drawn with a generator of
its own (seeded by run seed and step): measuring changes neither the weights, nor the gradients, nor any random
state of training, so a run's training records are the same with diagnostics on or off.

What (``metrics/diagnostics.py`` defines each), per hidden layer (``layer`` = its index) and per network
(``layer = "all"``):
- ``dormant`` (ReDo score ≤ τ), ``dormant_zero`` (never active), ``grama_dormant``: per layer, the share of its
  units; per network, pooled over all hidden units (each scored within its own layer, as ReDo does);
- ``active``, ``zombie``, ``preact_mean_drift``, ``preact_var_drift``: per layer; per network, the mean over
  layers; drifts are measured from the phase's first measurement (just after the switch's intervention);
- ``weight_norm``: per layer the incoming weight's norm, per network the norm of every parameter;
- ``amplitude_w1``: W1 distance of per-unit incoming-weight norms from the phase's first measurement (per layer;
  per network over all units);
- per network only: ``srank``, ``effective_rank``, ``feature_rank`` and ``feature_norm`` of the last hidden
  layer's features, ``grad_norm`` (the network's own loss), ``distance_from_init``, ``condensation`` of the
  first layer.
Policy entropy (PPO, SAC) and PPO's explained variance are training statistics in ``metrics.csv``; DQN's policy
is greedy, it has none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rlplastic import checks
from rlplastic.agents import Learner
from rlplastic.agents.networks import HiddenLayer
from rlplastic.envs import Phase
from rlplastic.metrics import diagnostics as dg

Row = tuple[str, str, str, float]  # network, layer, quantity, value
Writer = Callable[[Phase, int, str, list[Row]], None]  # (phase, step, when, rows): Recorder.diagnostics
POOLED = "all"


@dataclass(frozen=True)
class DiagnosticsConfig:
    """``--set diagnostics.every=N`` etc. ``every`` = 0 measures only at switches and at the end."""

    every: int = 50_000
    """Agent steps between measurements inside a phase (0: only around switches and at the end)."""
    samples: int = 0
    """Probe batch size; 0: as many as the widest hidden layer has units, at least 256."""
    tau: float = 0.025
    """Dormancy threshold on a unit's normalised score (ReDo's)."""
    enabled: bool = True
    """Measure at all (false: no diagnostics.csv, a little faster)."""

    def __post_init__(self) -> None:
        checks.counts("diagnostics", {"every": self.every, "samples": self.samples}, minimum=0)
        checks.non_negative("diagnostics", {"tau": self.tau})


def _hooks(layers: list[HiddenLayer]) -> tuple[dict[int, torch.Tensor], dict[int, torch.Tensor], list]:
    pre: dict[int, torch.Tensor] = {}
    post: dict[int, torch.Tensor] = {}

    def keep(store: dict[int, torch.Tensor], i: int):
        return lambda _m, _i, out: store.__setitem__(i, out.detach().float())

    handles = [h.incoming.register_forward_hook(keep(pre, i)) for i, h in enumerate(layers)]
    handles += [h.activation.register_forward_hook(keep(post, i)) for i, h in enumerate(layers)]
    return pre, post, handles


class Diagnostics:
    """Measures every network of one learner; its state (the phase's reference moments and amplitudes) is
    checkpointed, the initial weights are those of the freshly built learner (the same on resume)."""

    def __init__(self, config: DiagnosticsConfig, learner: Learner, seed: int) -> None:
        self.config, self.seed = config, seed
        self.initial = {
            name: {k: p.detach().clone() for k, p in net.named_parameters()} for name, net in learner.networks.items()
        }
        widest = max(h.units for net in learner.networks.values() for h in net.hidden_layers())
        self.samples = config.samples or max(256, widest)
        self.reference: dict[str, dict[int, tuple[torch.Tensor, ...]]] = {}
        self.reference_phase = -1
        self.device = next(p.device for net in learner.networks.values() for p in net.parameters())

    def due(self, before: int, after: int) -> bool:
        """Whether a multiple of ``every`` lies in (before, after]."""
        every = self.config.every
        return every > 0 and after // every > before // every

    def probe(self, learner: Learner, step: int) -> dict[str, torch.Tensor] | None:
        """The probe batch at ``step`` (None while the learner has no data yet)."""
        try:
            return learner.sample(self.samples, np.random.default_rng([self.seed, step, 0xD1A6]))
        except RuntimeError:
            return None

    def measure(self, learner: Learner, batch: dict[str, torch.Tensor], phase: int) -> list[Row]:
        """Every quantity of every network on ``batch``; the first measurement of a phase becomes its reference."""
        if phase != self.reference_phase:
            self.reference, self.reference_phase = {}, phase
        cuda = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):  # losses may sample (SAC's actions): training's stream stays
            grads = self._gradients(learner, batch)
        rows: list[Row] = []
        for name, net in learner.networks.items():
            rows += self._network(name, net, batch, grads[name])
        return rows

    def _gradients(self, learner: Learner, batch: dict[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
        """Each network's gradient of its own loss, by parameter name, without touching ``.grad``."""
        losses = learner.losses(batch)
        out = {}
        for name, net in learner.networks.items():
            named = [(k, p) for k, p in net.named_parameters() if p.requires_grad]
            grads = torch.autograd.grad(losses[name], [p for _, p in named], retain_graph=True, allow_unused=True)
            out[name] = {
                k: torch.zeros_like(p) if g is None else g.float() for (k, p), g in zip(named, grads, strict=True)
            }
        return out

    def _network(
        self, name: str, net: torch.nn.Module, batch: dict[str, torch.Tensor], grads: dict[str, torch.Tensor]
    ) -> list[Row]:
        layers = net.hidden_layers()
        pre, post, handles = _hooks(layers)
        try:
            with torch.no_grad():
                features = net.features(batch).float()
        finally:
            for handle in handles:
                handle.remove()
        params = dict(net.named_parameters())
        ids = {id(p): k for k, p in params.items()}
        reference = self.reference.setdefault(name, {})
        rows: list[Row] = []
        pooled: dict[str, list] = {"redo": [], "grama": [], "amp": [], "amp0": [], "mean_drift": [], "var_drift": []}
        for i, h in enumerate(layers):
            weight = h.incoming.weight.detach().float()
            scores = dg.normalised_scores(dg.activity(post[i], h.copies))
            grama = dg.grama_scores(grads[ids[id(h.incoming.weight)]])
            mean, var = dg.moments(pre[i])
            amp = dg.amplitudes(weight)
            ref = reference.setdefault(i, (mean, var, amp))
            mean_drift, var_drift = dg.drift(mean, var, ref[0], ref[1])
            values = {
                "dormant": dg.dormant_fraction(scores, self.config.tau),
                "dormant_zero": dg.dormant_fraction(scores, 0.0),
                "grama_dormant": dg.dormant_fraction(grama, self.config.tau),
                "active": dg.active_fraction(post[i]),
                "zombie": dg.zombie_fraction(pre[i]),
                "weight_norm": float(weight.norm()),
                "preact_mean_drift": mean_drift,
                "preact_var_drift": var_drift,
                "amplitude_w1": dg.amplitude_w1(amp, ref[2]),
            }
            rows += [(name, str(i), q, v) for q, v in values.items()]
            for key, value in (("redo", scores), ("grama", grama), ("amp", amp), ("amp0", ref[2])):
                pooled[key].append(value)
            pooled["mean_drift"].append(mean_drift)
            pooled["var_drift"].append(var_drift)
        redo, grama = torch.cat(pooled["redo"]), torch.cat(pooled["grama"])
        network = {
            "dormant": dg.dormant_fraction(redo, self.config.tau),
            "dormant_zero": dg.dormant_fraction(redo, 0.0),
            "grama_dormant": dg.dormant_fraction(grama, self.config.tau),
            "active": float(np.mean([dg.active_fraction(post[i]) for i in range(len(layers))])),
            "zombie": float(np.mean([dg.zombie_fraction(pre[i]) for i in range(len(layers))])),
            "weight_norm": float(torch.sqrt(sum(p.detach().float().pow(2).sum() for p in params.values()))),
            "preact_mean_drift": float(np.mean(pooled["mean_drift"])),
            "preact_var_drift": float(np.mean(pooled["var_drift"])),
            "amplitude_w1": dg.amplitude_w1(torch.cat(pooled["amp"]), torch.cat(pooled["amp0"])),
            "srank": dg.srank(features),
            "effective_rank": dg.effective_rank(features),
            "feature_rank": dg.feature_rank(features),
            "feature_norm": float(features.norm(dim=1).mean()),
            "grad_norm": float(torch.sqrt(sum(g.pow(2).sum() for g in grads.values()))),
            "distance_from_init": self._distance(name, params),
            "condensation": dg.condensation(layers[0].incoming.weight.detach().float()),
        }
        return rows + [(name, POOLED, q, v) for q, v in network.items()]

    def _distance(self, name: str, params: dict[str, torch.nn.Parameter]) -> float:
        """L2 distance of the parameters that existed at initialisation from their initial values."""
        initial = self.initial[name]
        total = sum(
            (p.detach().float() - initial[k].float()).pow(2).sum()
            for k, p in params.items()
            if k in initial and initial[k].shape == p.shape
        )
        return float(torch.sqrt(total)) if isinstance(total, torch.Tensor) else 0.0  # 0: no parameter kept its shape

    def at_switch(self, learner: Learner, phase: Phase, step: int, act: Callable[[], bool], write: Writer) -> None:
        """Measure just before and just after ``act`` (the intervention) on one probe batch. The rows belong to
        the new phase; "before" drifts are against the old phase's reference, "after" starts the new one."""
        batch = self.probe(learner, step)
        if batch is not None:
            write(phase, step, "before", self.measure(learner, batch, phase.index - 1))
        act()
        if batch is not None:
            write(phase, step, "after", self.measure(learner, batch, phase.index))

    def at(self, learner: Learner, phase: Phase, step: int, when: str, write: Writer) -> None:
        """One measurement (``when``: "cadence" or "end") at ``step``."""
        batch = self.probe(learner, step)
        if batch is not None:
            write(phase, step, when, self.measure(learner, batch, phase.index))

    def state_dict(self) -> dict[str, Any]:
        return {"reference": self.reference, "reference_phase": self.reference_phase}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        reference = state["reference"]  # loaded onto the CPU (RunStore): back beside the weights
        for layers in reference.values():
            for i, moments in layers.items():
                layers[i] = tuple(m.to(self.device) for m in moments)
        self.reference, self.reference_phase = reference, state["reference_phase"]
