"""Use cases around alerts: polling Sentry for new issues and delivering their cards."""
