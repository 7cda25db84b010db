"""Benchmarks of the alert pipeline: the real bot process against the loopback fakes."""
