"""Benchmarks: `python -m benchmarks.cycle` (see README, "Benchmarks")."""
