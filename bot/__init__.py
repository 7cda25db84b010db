"""Sentry issue alerts and triage in Slack."""

__version__ = "0.1.0"
