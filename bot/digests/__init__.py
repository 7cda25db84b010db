"""Scheduled and on-demand channel digests (README: Digests)."""
