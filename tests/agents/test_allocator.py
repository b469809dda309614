"""The allocator settings every learner applies: large freed blocks are reused instead of re-faulted."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rlplastic import agents
from rlplastic.agents.ppo import PPOConfig

SCRIPT = """
import resource, sys, torch
if sys.argv[1] == "tuned":
    from rlplastic.agents.allocator import tune_allocator
    assert tune_allocator()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    x = torch.ones(8 << 20)  # 32 MiB, above glibc's default mmap threshold
    del x
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_tuned_allocator_reuses_large_blocks() -> None:
    default, tuned = faults("default"), faults("tuned")
    assert default > 20 * 4000  # every 32 MiB block is fresh mmap pages by default
    assert tuned < default / 4


def test_ppo_precision_is_checked() -> None:
    assert PPOConfig(precision="bf16").precision == "bf16"
    with pytest.raises(ValueError, match="precision"):
        agents.config_class("ppo")(precision="fp16")
