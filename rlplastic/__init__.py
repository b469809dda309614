"""rlplastic: a continual reinforcement-learning benchmark suite for plasticity."""

__version__ = "0.1.0"
