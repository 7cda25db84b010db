"""Sentry issue links posted in Slack, unfurled into live compact cards."""
