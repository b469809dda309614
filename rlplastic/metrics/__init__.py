"""Metrics: score normalisation and end-of-phase returns (plasticity diagnostics come later)."""
