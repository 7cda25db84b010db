"""The outbox: every message the bot owes a channel, posted exactly once.

`store.py` owns the table (owed -> posting -> posted / refused / skipped / gone),
`delivery.py` the claim-post-record path and the settling of lost answers from the channel,
`metadata.py` the one codec of what a message carries. Adding a kind of message (a Sentry
comment in a card's thread, an unfurl) takes three steps:

1. a `Kind` in `metadata.KINDS` (its event type; its keys travel as `{"keys": "…"}`);
2. `store.add(conn, [Entry(channel, key, producer, due_at, thread_ts=…)])` in the
   transaction that records why it is owed;
3. `Outbox.send(Draft(kind, rows, render, thread_ts=…))` to post it, and
   `Outbox.reconcile(producer=…, …)` where the producer runs, to settle lost answers.
"""
