"""Sentry REST API: typed models, error tree and the async client."""
