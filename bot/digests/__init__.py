"""Scheduled and on-demand channel digests (SPEC §1 Digests, §3 `digests:`)."""
