"""Method names -> Intervention classes: the built-ins plus any package's entry points.

Another installed package registers its own method with an entry point in the group
``rlplastic.interventions`` (``mymethod = "my_pkg.module:MyIntervention"``); it then appears in
``--list`` and runs like a built-in.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import Any

from rlplastic import configs
from rlplastic.interventions.base import Intervention
from rlplastic.interventions.cbp import Cbp
from rlplastic.interventions.cchain import CChain
from rlplastic.interventions.composite import Composite
from rlplastic.interventions.crelu import CReLUMethod
from rlplastic.interventions.dash import Dash
from rlplastic.interventions.dff import DeepFourierFeatures
from rlplastic.interventions.fire import Fire
from rlplastic.interventions.headreset import HeadReset
from rlplastic.interventions.injection import Injection
from rlplastic.interventions.kron import Kron
from rlplastic.interventions.l2init import L2Init
from rlplastic.interventions.lnwd import LayerNorm, LayerNormWeightDecay, WeightDecay
from rlplastic.interventions.nap import NaP
from rlplastic.interventions.none import NoIntervention
from rlplastic.interventions.parseval import Parseval
from rlplastic.interventions.redo import Redo
from rlplastic.interventions.reset import Reset
from rlplastic.interventions.sp import ShrinkPerturb
from rlplastic.interventions.trac import Trac
from rlplastic.interventions.wclip import WeightClipping

ENTRY_POINT_GROUP = "rlplastic.interventions"
BUILTINS: dict[str, type[Intervention]] = {
    cls.name: cls
    for cls in (
        NoIntervention,
        Reset,
        Fire,
        Dash,
        LayerNormWeightDecay,
        LayerNorm,
        WeightDecay,
        ShrinkPerturb,
        Redo,
        Cbp,
        L2Init,
        HeadReset,
        Injection,
        CReLUMethod,
        WeightClipping,
        Parseval,
        NaP,
        DeepFourierFeatures,
        CChain,
        Trac,
        Kron,
    )
}
BASELINES = ("none", "reset")


class MethodError(ValueError):
    """An unknown method name or a bad method hyper-parameter."""


@cache
def available() -> dict[str, type[Intervention]]:
    """Every method by name: built-ins first, then plug-ins (a plug-in cannot shadow a built-in)."""
    methods = dict(BUILTINS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in methods:
            continue
        cls = ep.load()
        if not (isinstance(cls, type) and issubclass(cls, Intervention)):
            raise MethodError(f"plug-in {ep.name!r} ({ep.value}) is not an rlplastic Intervention subclass")
        methods[ep.name] = cls
    return methods


def split_method(method: str) -> list[str]:
    """``"lnwd+fire"`` -> ``["lnwd", "fire"]``, each checked against the known names."""
    parts = [p.strip() for p in method.split("+")]
    known = available()
    for part in parts:
        if part not in known:
            raise MethodError(f"unknown method {part!r}; valid methods: {', '.join(known)}")
    if len(set(parts)) != len(parts):
        raise MethodError(f"method {method!r} names a part twice; name each method once")
    for i, a in enumerate(parts):
        for b in parts[i + 1 :]:
            reason = known[a].conflicts.get(b) or known[b].conflicts.get(a)
            if reason:
                raise MethodError(f"methods {a!r} and {b!r} cannot be combined: {reason}")
    return parts


def option_defaults(name: str) -> dict[str, Any]:
    """The hyper-parameters of method ``name`` with their default values."""
    return configs.defaults(available()[name].Config)


def build(method: str, options: dict[str, dict[str, Any]] | None = None) -> Intervention:
    """Instantiate ``method`` (possibly composite) with per-part hyper-parameter ``options``."""
    options = options or {}
    parts = []
    for name in split_method(method):
        cls = available()[name]
        try:
            config = cls.Config(**options.get(name, {}))
        except ValueError as err:  # the checks name the option; the method names its section
            raise ValueError(f"{name}.{err}") from err
        parts.append(cls(config))
    return parts[0] if len(parts) == 1 else Composite(parts)
