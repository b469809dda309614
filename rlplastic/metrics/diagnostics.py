"""Plasticity diagnostics of a network's units, features and weights: pure functions with known answers.

Each takes tensors measured on a probe batch (``metrics/diagnose.py`` gathers them) and returns a number:
- ``normalised_scores`` / ``dormant_fraction``: ReDo's τ-dormant units (Sokar et al., arXiv 2302.12902): unit i's
  score is E|h_i| / mean_k E|h_k| within its layer; dormant if the score is ≤ τ (τ = 0: never active);
- ``grama_scores``: GraMa (Liu et al., arXiv 2505.24061): the same normalisation of the mean |gradient| of the
  loss with respect to each unit's incoming weights, so a unit that no longer learns counts as dormant even if
  it is active (deviation: scored on the probe batch's gradient, with ReDo's τ);
- ``active_fraction``: the share of (sample, unit) activations that are non-zero (activation density);
- ``zombie_fraction``: units whose pre-activation is positive on every sample, so a ReLU acts linearly on the
  whole batch (Lyle et al., arXiv 2402.18762);
- ``srank`` (Kumar et al., arXiv 2010.14498, δ = 0.01), ``effective_rank`` (Roy & Vetterli 2007) and
  ``feature_rank`` (Lyle et al., arXiv 2204.09560, ε = 0.01) of a feature matrix;
- ``condensation``: λ_max / n of the units' incoming-weight cosine-similarity matrix (Chen, Luo & Wang,
  arXiv 2410.20119): 1 when all n units point the same way, 1/n when they are orthogonal;
- ``amplitude_w1``: Wasserstein-1 distance between two distributions of per-unit weight amplitudes;
- ``drift``: how far per-unit pre-activation means and variances moved from a reference (Lyle et al.'s
  pre-activation shift), in units of the reference's spread.
"""

from __future__ import annotations

import torch

EPS = 1e-9


def normalised_scores(per_unit: torch.Tensor) -> torch.Tensor:
    """Each unit's value divided by the layer's mean value (ReDo's and GraMa's normalisation)."""
    return per_unit / (per_unit.mean() + EPS)


def dormant_fraction(scores: torch.Tensor, tau: float) -> float:
    """The share of units whose normalised score is at most ``tau``."""
    return float((scores <= tau).float().mean())


def per_unit(x: torch.Tensor, copies: int = 1) -> torch.Tensor:
    """Rows of samples for each unit: (batch, channels[, positions...]) -> (units, samples x positions x copies);
    with CReLU each unit owns ``copies`` = 2 channels (unit i and i + units)."""
    channels = x.shape[1]
    flat = x.transpose(0, 1).reshape(channels, -1)
    units = channels // copies
    return flat.view(copies, units, -1).transpose(0, 1).reshape(units, -1)


def activity(post: torch.Tensor, copies: int = 1) -> torch.Tensor:
    """E|h_i| of each unit over samples, positions and CReLU copies."""
    return per_unit(post, copies).abs().mean(dim=1)


def grama_scores(weight_grad: torch.Tensor) -> torch.Tensor:
    """GraMa: mean |∂L/∂W| over each unit's incoming weights (row i of a Linear, filter i of a Conv), normalised."""
    return normalised_scores(weight_grad.abs().reshape(weight_grad.shape[0], -1).mean(dim=1))


def active_fraction(post: torch.Tensor) -> float:
    return float((post != 0).float().mean())


def zombie_fraction(pre: torch.Tensor) -> float:
    """The share of units whose pre-activation is > 0 on every sample (and position)."""
    return float((per_unit(pre) > 0).all(dim=1).float().mean())


def singular_values(features: torch.Tensor) -> torch.Tensor:
    return torch.linalg.svdvals(features.double())


def srank(features: torch.Tensor, delta: float = 0.01) -> int:
    """The fewest singular values whose sum reaches 1 − δ of the total."""
    s = singular_values(features)
    if s.sum() <= 0:
        return 0
    share = torch.cumsum(s, 0) / s.sum()
    return int(torch.searchsorted(share, torch.tensor(1 - delta, dtype=share.dtype, device=share.device)).item()) + 1


def effective_rank(features: torch.Tensor) -> float:
    """exp of the entropy of the normalised singular values (0 log 0 = 0)."""
    s = singular_values(features)
    if s.sum() <= 0:
        return 0.0
    p = s / s.sum()
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def feature_rank(features: torch.Tensor, eps: float = 0.01) -> int:
    """The number of singular values of Φ / sqrt(n) above ε (n samples)."""
    return int((singular_values(features / features.shape[0] ** 0.5) > eps).sum())


def condensation(weight: torch.Tensor) -> float:
    """λ_max / n of the cosine-similarity matrix of the n units' incoming weight vectors."""
    w = weight.reshape(weight.shape[0], -1).double()
    w = w / (w.norm(dim=1, keepdim=True) + EPS)
    return float(torch.linalg.eigvalsh(w @ w.T)[-1] / w.shape[0])


def amplitudes(weight: torch.Tensor) -> torch.Tensor:
    """Each unit's incoming weight norm."""
    return weight.reshape(weight.shape[0], -1).norm(dim=1)


def amplitude_w1(a: torch.Tensor, b: torch.Tensor) -> float:
    """Wasserstein-1 distance between two empirical distributions of equally many values."""
    return float((torch.sort(a.flatten()).values - torch.sort(b.flatten()).values).abs().mean())


def moments(pre: torch.Tensor, copies: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-unit mean and variance of pre-activations over samples and positions."""
    rows = per_unit(pre, copies)
    return rows.mean(dim=1), rows.var(dim=1, unbiased=False)


def drift(mean: torch.Tensor, var: torch.Tensor, ref_mean: torch.Tensor, ref_var: torch.Tensor) -> tuple[float, float]:
    """(mean |μ − μ₀| / mean σ₀, mean |log(σ² / σ₀²)|) over units: how far pre-activations moved."""
    spread = ref_var.sqrt().mean() + EPS
    mean_drift = float((mean - ref_mean).abs().mean() / spread)
    var_drift = float(((var + EPS).log() - (ref_var + EPS).log()).abs().mean())
    return mean_drift, var_drift
