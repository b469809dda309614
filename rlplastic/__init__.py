"""rlplastic: a continual reinforcement-learning benchmark suite for plasticity."""

__version__ = "0.2.0"
