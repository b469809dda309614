"""bf16 autocast warns where the CPU would emulate it, and changes nothing in fp32."""

from __future__ import annotations

import warnings

import pytest
import torch

from rlplastic.agents import precision


@pytest.fixture
def flags(monkeypatch: pytest.MonkeyPatch):
    """Pretend the CPU has the given flags; the once-per-process warning cache starts empty."""
    precision.warn_if_emulated.cache_clear()

    def use(*names: str) -> None:
        monkeypatch.setattr(precision, "cpu_flags", lambda: {"sse2", "avx2", *names})

    yield use
    precision.warn_if_emulated.cache_clear()


def test_bf16_warns_once_without_native_bf16(flags) -> None:
    flags()
    with pytest.warns(RuntimeWarning, match="agent.precision = 'fp32'"), precision.autocast("bf16"):
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with precision.autocast("bf16"):  # once per process, not once per update
            pass


@pytest.mark.parametrize("native", ["avx512_bf16", "amx_bf16"])
def test_bf16_is_silent_with_native_bf16(flags, native: str) -> None:
    flags(native)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with precision.autocast("bf16"):
            y = torch.ones(4, 4) @ torch.ones(4, 4)
    assert y.dtype == torch.bfloat16


def test_fp32_never_warns_and_stays_fp32(flags) -> None:
    flags()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with precision.autocast("fp32"):
            y = torch.ones(4, 4) @ torch.ones(4, 4)
    assert y.dtype == torch.float32


def test_unknown_precision_is_refused() -> None:
    with pytest.raises(ValueError, match=r"agent\.precision must be one of fp32, bf16"):
        precision.autocast("fp16")


@pytest.mark.parametrize("native,expected", [((), "fp32"), (("avx512_bf16",), "bf16"), (("amx_bf16",), "bf16")])
def test_auto_is_bf16_only_where_the_cpu_has_it_natively(flags, native: tuple[str, ...], expected: str) -> None:
    flags(*native)
    precision._auto.cache_clear()
    try:
        assert precision.resolve("auto", "cpu") == expected
        assert precision.resolve("fp32", "cpu") == "fp32" and precision.resolve("bf16", "cpu") == "bf16"
    finally:
        precision._auto.cache_clear()


def test_auto_on_cuda_asks_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    precision._auto.cache_clear()
    for supported, expected in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda s=supported: s)
        precision._auto.cache_clear()
        assert precision.resolve("auto", "cuda") == expected
    precision._auto.cache_clear()
    assert precision.resolve("auto", "mps") == "fp32"
