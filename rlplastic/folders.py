"""The names of the files in a run folder (and of ``config.json``'s one key that is not the run's identity):
shared by the writers (store, recorder) and the light readers."""

CONFIG = "config.json"
DONE = "DONE"
CHECKPOINT = "checkpoint.pt"
EPISODES = "episodes.csv"
METRICS = "metrics.csv"
TENSORBOARD = "tensorboard"
LOCK = ".lock"
DIAGNOSTICS = "diagnostics.csv"
NUMERICS = "numerics"  # config.json: what the run trained under (run/numerics.py); a change refuses resume/reuse
