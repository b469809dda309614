"""Fault injection for the crash tests: ``RLPLASTIC_FAULT=<point>`` kills the process at that point."""

from __future__ import annotations

import os
import signal

POINTS = ("checkpoint", "cut_back")  # between writing a temporary file and putting it in place


def fault(point: str) -> None:
    """Kill this process (SIGKILL, no clean-up) if ``RLPLASTIC_FAULT`` names ``point``; nothing otherwise."""
    if os.environ.get("RLPLASTIC_FAULT") == point:
        os.kill(os.getpid(), signal.SIGKILL)
