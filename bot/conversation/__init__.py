"""The conversation between Slack and Sentry: attribution comments for triage actions, "Send to
Sentry" from a message, and Sentry comments relayed to card threads."""
