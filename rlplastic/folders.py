"""The names of the files in a run folder (and of ``config.json``'s one key that is not the run's identity), and the
options a stored ``config.json`` leaves out: shared by the writers (store, recorder, plan) and the light readers."""

from typing import Any

CONFIG = "config.json"
DONE = "DONE"
CHECKPOINT = "checkpoint.pt"
EPISODES = "episodes.csv"
METRICS = "metrics.csv"
TENSORBOARD = "tensorboard"
LOCK = ".lock"
DIAGNOSTICS = "diagnostics.csv"
NUMERICS = "numerics"  # config.json: what the run trained under (run/numerics.py); a change refuses resume/reuse

LATER_DEFAULTS: dict[str, dict[str, Any]] = {
    "env_options": {"seaquest_stall_steps": 0},
    "agent_options": {"exploration_steps": 0},
    "method_options.fire": {"scale": "paper"},
}
"""Options added after run folders existed, each with the value that behaves as before it existed. A stored
configuration leaves such an option out at that value, so older folders (which lack it) stay reusable and share
boards with new ones; at any other value it is stored, and an older folder is rightly another configuration.
Readers put the value back where it is absent. A new option with a neutral default belongs here
(``tests/run/test_plan.py`` checks the values are the defaults)."""
