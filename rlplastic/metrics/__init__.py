"""Metrics: per-visit scores, continual metrics, aggregate statistics, normalisation, diagnostics, dynamics."""
