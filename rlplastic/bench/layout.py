"""The names of the files in a run folder: shared by the writers (store, recorder) and the light readers."""

CONFIG = "config.json"
DONE = "DONE"
CHECKPOINT = "checkpoint.pt"
EPISODES = "episodes.csv"
METRICS = "metrics.csv"
TENSORBOARD = "tensorboard"
LOCK = ".lock"
