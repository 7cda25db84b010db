"""The current table definitions; migrations.py brings older databases up to them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores naive UTC (SQLite has no time zones) and always returns aware UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, nullable=False),
)

# A route sends one channel the new issues of some projects matching a query.
# `watermark` is the route's creation: issues first seen earlier are never posted.
# `polled_until` is the moment up to which the route's issues have been enqueued.
routes = sa.Table(
    "routes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("projects", sa.String(2000), nullable=False, server_default=""),
    sa.Column("query", sa.String(1000), nullable=False),
    sa.Column("environment", sa.String(200), nullable=False, server_default=""),
    sa.Column("mention", sa.String(500), nullable=False, server_default=""),
    sa.Column("source", sa.String(8), nullable=False),
    sa.Column("created_by", sa.String(32), nullable=True),
    sa.Column("watermark", UTCDateTime, nullable=False),
    sa.Column("polled_until", UTCDateTime, nullable=True),
    sa.UniqueConstraint("channel", "projects", "query", "environment", name="uq_routes_natural"),
)

# One row per (channel, issue): the card the channel is owed, and what it shows. Whether and
# where it is posted is its outbox row's (`outbox_id`).
cards = sa.Table(
    "cards",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("issue_id", sa.String(32), nullable=False),
    sa.Column("route_id", sa.Integer, nullable=True),
    sa.Column("project", sa.String(200), nullable=False, server_default=""),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("rendered", sa.String(64), nullable=True),
    sa.Column("status", sa.String(32), nullable=True),
    sa.Column("substatus", sa.String(40), nullable=True),
    sa.Column("last_action", sa.Text, nullable=True),
    # Version 2: when the card was last compared with Sentry (freshness round-robin).
    sa.Column("checked_at", UTCDateTime, nullable=True),
    # Version 3: the card's row in the outbox.
    sa.Column("outbox_id", sa.Integer, nullable=True),
    sa.UniqueConstraint("channel", "issue_id", name="uq_cards_channel_issue"),
)
sa.Index("ix_cards_issue", cards.c.issue_id)
sa.Index("ix_cards_outbox", cards.c.outbox_id)

# Version 2 ----------------------------------------------------------------------------------

# Every triage attempt from Slack, allowed or refused (README: Triage from the card).
# `request_key` identifies one Slack interaction, so a retried delivery of the same click is
# applied once.
actions = sa.Table(
    "actions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("slack_user", sa.String(32), nullable=False),
    sa.Column("slack_team", sa.String(32), nullable=False, server_default=""),
    sa.Column("sentry_user", sa.String(64), nullable=True),
    sa.Column("issue_ids", sa.String(2000), nullable=False, server_default=""),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("arg", sa.String(200), nullable=False, server_default=""),
    sa.Column("result", sa.String(16), nullable=False),
    sa.Column("detail", sa.String(500), nullable=False, server_default=""),
    sa.Column("request_key", sa.String(200), nullable=True, unique=True),
)
sa.Index("ix_actions_at", actions.c.at)

# Threaded replies under a card (regressions, escalations): one per (card, sequence).
replies = sa.Table(
    "replies",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("card_id", sa.Integer, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("issue_id", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("outbox_id", sa.Integer, nullable=True),  # version 3
    sa.UniqueConstraint("card_id", "seq", name="uq_replies_card_seq"),
)

# Digest schedules: from the routes file (source "file") or `/sentry digest` ("slack").
digests = sa.Table(
    "digests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("cron", sa.String(100), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("projects", sa.String(2000), nullable=False, server_default=""),
    sa.Column("top", sa.Integer, nullable=False, server_default="10"),
    sa.Column("source", sa.String(8), nullable=False),
    sa.Column("created_by", sa.String(32), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint(
        "channel", "cron", "timezone", "projects", "source", name="uq_digests_natural"
    ),
)

# One row per (digest, period); its post is its outbox row's.
digest_runs = sa.Table(
    "digest_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("digest_id", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("period_start", UTCDateTime, nullable=False),
    sa.Column("period_end", UTCDateTime, nullable=False),
    sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("outbox_id", sa.Integer, nullable=True),  # version 3
    sa.UniqueConstraint("digest_id", "period_end", name="uq_digest_runs_period"),
)

# Leases: which replica does a singleton job (polling) right now.
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(64), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("acquired_at", UTCDateTime, nullable=False),
)

# Version 3 ----------------------------------------------------------------------------------

# Every message owed to a channel, whoever produces it (cards, storm summaries, thread replies,
# digests): the exactly-once ledger. `key` names what is owed ("issue:42", "reply:7.1",
# "digest:3@…"), unique per channel; `producer` is who owes it; `posted_as` the kind of message
# that carried it (a card may go out in a storm summary). state: owed -> posting (claimed, the
# post may be in flight) -> posted (message_ts known), or refused / skipped / gone.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("producer", sa.String(16), nullable=False),
    sa.Column("state", sa.String(8), nullable=False),
    sa.Column("posted_as", sa.String(16), nullable=True),
    sa.Column("thread_ts", sa.String(32), nullable=True),
    sa.Column("message_ts", sa.String(32), nullable=True),
    sa.Column("claim_token", sa.String(64), nullable=True),
    sa.Column("claimed_at", UTCDateTime, nullable=True),
    sa.Column("posted_at", UTCDateTime, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.String(200), nullable=True),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("channel", "key", name="uq_outbox_channel_key"),
)
sa.Index("ix_outbox_state_producer", outbox.c.state, outbox.c.producer)
# The card refresh counts and picks the tracked cards (posted as cards, recent enough) every
# cycle: without this, each cycle reads every message ever posted.
sa.Index("ix_outbox_posted", outbox.c.state, outbox.c.posted_as, outbox.c.posted_at)
# A message in Slack is found by its ts (the thread a shortcut was used in): outbox rows are the
# ledger and are kept, so without this each look-up reads every message ever posted.
sa.Index("ix_outbox_message_ts", outbox.c.channel, outbox.c.message_ts)

# Version 4: the conversation with Sentry ---------------------------------------------------

# Per card, what of its issue's comments has been seen: Sentry's `numComments` when last
# looked at, and the newest comment id considered (relayed, or the app's own, or older than
# the card). Comment ids are activity ids, which only grow.
comment_marks = sa.Table(
    "comment_marks",
    metadata,
    sa.Column("card_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("num_comments", sa.BigInteger, nullable=False),
    sa.Column("last_comment_id", sa.BigInteger, nullable=True),
)

# A Sentry comment owed to (or posted in) one card's thread, with what it says, so the reply
# can be drawn after a restart without asking Sentry again.
comment_relays = sa.Table(
    "comment_relays",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("card_id", sa.Integer, nullable=False),
    sa.Column("comment_id", sa.BigInteger, nullable=False),
    sa.Column("issue_id", sa.String(32), nullable=False),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("outbox_id", sa.Integer, nullable=True),
    sa.UniqueConstraint("card_id", "comment_id", name="uq_comment_relays_card_comment"),
)

# Comments the app wrote in Sentry itself (attribution, "Send to Sentry"): never echoed.
own_comments = sa.Table(
    "own_comments",
    metadata,
    sa.Column("comment_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("issue_id", sa.String(32), nullable=False),
    sa.Column("author_id", sa.String(32), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)
# Version 5: Sentry webhooks ------------------------------------------------------------------

# Sentry webhook deliveries accepted and not yet acted on (bot/webhooks/queue.py): at most one
# row per (kind, issue), so retries and replays of a delivery coalesce. `route` and `redraw`
# say what the deliveries asked for; `seq` moves on with each one, so a delivery arriving while
# its row is being worked on makes the row run again. A claim (`claimed_by` until
# `claimed_until`) lets any replica work on a row, one at a time; a claim that runs out (its
# replica died) is taken over.
webhook_jobs = sa.Table(
    "webhook_jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("issue_id", sa.String(32), nullable=False),
    sa.Column("route", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("redraw", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("seq", sa.Integer, nullable=False, server_default="1"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("claimed_by", sa.String(64), nullable=True),
    sa.Column("claimed_until", UTCDateTime, nullable=True),
    sa.UniqueConstraint("kind", "issue_id", name="uq_webhook_jobs_kind_issue"),
)
sa.Index("ix_webhook_jobs_due", webhook_jobs.c.due_at)

# Version 6: unfurled cards kept current -------------------------------------------------------

# One card the app unfurled under a person's message (`bot/unfurls/store.py`): the message
# (`channel` + `message_ts`, and Slack's `unfurl_id` + `source` for it), the shared `url` (the
# key chat.unfurl expects back), the issue, the revision drawn and the blocks sent (a later
# chat.unfurl for the message carries every unfurl of it again), and the last triage action
# shown. Kept for `CARD_RETENTION_DAYS` after `unfurled_at`; `checked_at` orders the refresh.
unfurls = sa.Table(
    "unfurls",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("message_ts", sa.String(32), nullable=False),
    sa.Column("unfurl_id", sa.String(255), nullable=True),
    sa.Column("source", sa.String(32), nullable=True),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("issue_id", sa.String(32), nullable=False),
    sa.Column("rendered", sa.String(64), nullable=True),
    sa.Column("blocks", sa.Text, nullable=False),
    sa.Column("last_action", sa.Text, nullable=True),
    sa.Column("unfurled_at", UTCDateTime, nullable=False),
    sa.Column("checked_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("channel", "message_ts", "url", name="uq_unfurls_message_url"),
)
sa.Index("ix_unfurls_issue", unfurls.c.issue_id)
sa.Index("ix_unfurls_unfurled_at", unfurls.c.unfurled_at)
