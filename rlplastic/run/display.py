"""One progress display for every run of a command, whichever executor trains them.

Each run publishes its state to ``.progress.json`` in its folder (``runner._Progress``); this display reads the
folders once a second and shows one line: runs done / total, steps done / total with the ETA, the command's
steps/s, and the current task and recent return of each running run. Reading files works alike for runs in
this process, in a process pool and on Ray workers writing to a shared ``--out``.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from tqdm import tqdm

from rlplastic.folders import DONE
from rlplastic.run.plan import RunConfig

PROGRESS = ".progress.json"


class Display:
    def __init__(self, configs: list[RunConfig], out: Path, show: bool, every_s: float = 1.0) -> None:
        self.runs = [(c, Path(out) / c.relative_dir()) for c in configs]
        self.total = sum(c.total_steps for c in configs)
        self.show, self.every_s = show, every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.bar: tqdm | None = None

    def _state(self) -> tuple[int, int, list[str]]:
        steps, done, active = 0, 0, []
        for config, folder in self.runs:
            if (folder / DONE).exists():
                steps, done = steps + config.total_steps, done + 1
                continue
            try:
                state = json.loads((folder / PROGRESS).read_text())
            except (OSError, ValueError):
                continue
            steps += min(state["step"], config.total_steps)
            ret = "" if state.get("ret") is None else f" ret {state['ret']:.1f}"
            active.append(f"{config.label}/s{config.seed} {state['task']}{ret}")
        return steps, done, active

    def refresh(self) -> None:
        if self.bar is None:
            return
        steps, done, active = self._state()
        self.bar.update(steps - self.bar.n)
        self.bar.set_description(f"runs {done}/{len(self.runs)}")
        self.bar.set_postfix_str(" | ".join(active[:4]) + (f" | +{len(active) - 4}" if len(active) > 4 else ""))

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self.refresh()

    def __enter__(self) -> Display:
        if self.show:
            steps, _, _ = self._state()
            self.bar = tqdm(total=self.total, initial=steps, unit="step", dynamic_ncols=True, smoothing=0.05)
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.bar is not None:
            self.refresh()
            self.bar.close()
