"""The package's import rules (README "Layout"): envs import no agent; report imports neither torch nor the
training side, the agents or the interventions — read from the source, and checked in a fresh interpreter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import rlplastic

PACKAGE = Path(rlplastic.__file__).parent


def _imports(folder: str) -> dict[str, set[str]]:
    """Every module under ``folder`` and the absolute module names it imports."""
    out = {}
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                names |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
        out[str(path.relative_to(PACKAGE))] = names
    return out


def _offending(folder: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found = {}
    for module, names in _imports(folder).items():
        bad = sorted(n for n in names if any(n == f or n.startswith(f + ".") for f in forbidden))
        if bad:
            found[module] = bad
    return found


def test_envs_import_no_agent() -> None:
    assert _offending("envs", ("rlplastic.agents",)) == {}


def test_report_imports_no_training_side() -> None:
    assert _offending("report", ("torch", "rlplastic.run", "rlplastic.agents", "rlplastic.interventions")) == {}


def test_report_loads_without_torch_in_a_fresh_interpreter() -> None:
    code = (
        "import sys\nimport rlplastic.report, rlplastic.report.commands, rlplastic.report.plots\n"
        "heavy = [m for m in ('torch', 'rlplastic.run', 'rlplastic.agents', 'rlplastic.interventions') "
        "if m in sys.modules]\nassert not heavy, heavy"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_rules_catch_a_forbidden_import(tmp_path: Path, monkeypatch) -> None:
    """The checker itself: a module importing an agent is found."""
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "bad.py").write_text("from rlplastic.agents.learner import Hooks\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path)
    assert _offending("envs", ("rlplastic.agents",)) == {
        "envs/bad.py": ["rlplastic.agents.learner", "rlplastic.agents.learner.Hooks"]
    }
