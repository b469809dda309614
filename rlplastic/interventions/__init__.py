"""Plasticity interventions: one module per method, a base class, a registry and composition."""

from rlplastic.interventions.base import Intervention, weight_layers
from rlplastic.interventions.registry import (
    BASELINES,
    ENTRY_POINT_GROUP,
    MethodError,
    available,
    build,
    option_defaults,
    split_method,
)

__all__ = [
    "BASELINES",
    "ENTRY_POINT_GROUP",
    "Intervention",
    "MethodError",
    "available",
    "build",
    "option_defaults",
    "split_method",
    "weight_layers",
]
