"""The outbox: every message the bot owes a channel, posted exactly once."""
