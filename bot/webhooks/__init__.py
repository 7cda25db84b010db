"""Sentry webhooks: deliveries verified on their raw bytes (`verify.py`), read into typed hints
(`hooks.py`), answered at once and kept in a durable queue (`queue.py`, `endpoint.py`), then
acted on through the same paths as polling (`dispatch.py`).

A delivery is only a hint that something changed: the issue is read back from Sentry before
anything is posted or drawn, so a forged-but-signed, stale, replayed or out-of-order delivery
can at worst make the bot look again. Polling stays on as the safety net for deliveries that
never arrive.
"""
