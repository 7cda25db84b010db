"""Use cases of triage: who may act, what an action sends to Sentry, and the cards after it."""
