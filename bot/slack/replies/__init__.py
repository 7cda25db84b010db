"""Block Kit replies to `/sentry`: pure builders, one module per area of the command."""
