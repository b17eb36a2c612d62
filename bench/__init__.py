"""Benchmarks: throughput and memory, printed as ratios measured in one run."""
