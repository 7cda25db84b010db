"""The `/sentry` slash command's language: typed commands, their pure parser and help text."""
