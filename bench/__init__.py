"""Benchmarks: printed figures, each compared with a baseline measured in the same run."""
