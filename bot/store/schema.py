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

# One row per (channel, issue): the exactly-once ledger of alert cards.
# state: owed (to post) -> posting (claimed, post in flight) -> posted (message_ts known).
cards = sa.Table(
    "cards",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("issue_id", sa.String(32), nullable=False),
    sa.Column("route_id", sa.Integer, nullable=True),
    sa.Column("project", sa.String(200), nullable=False, server_default=""),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("state", sa.String(8), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False, server_default="card"),
    sa.Column("message_ts", sa.String(32), nullable=True),
    sa.Column("claim_token", sa.String(64), nullable=True),
    sa.Column("claimed_at", UTCDateTime, nullable=True),
    sa.Column("posted_at", UTCDateTime, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.String(200), nullable=True),
    sa.Column("rendered", sa.String(64), nullable=True),
    sa.Column("status", sa.String(32), nullable=True),
    sa.Column("substatus", sa.String(40), nullable=True),
    sa.Column("last_action", sa.Text, nullable=True),
    # Version 2: when the card was last compared with Sentry (freshness round-robin).
    sa.Column("checked_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("channel", "issue_id", name="uq_cards_channel_issue"),
)
sa.Index("ix_cards_state_channel", cards.c.state, cards.c.channel)
sa.Index("ix_cards_issue", cards.c.issue_id)
# The card refresh counts and picks the tracked cards (posted, recent enough) every cycle: without
# this, each cycle reads every card ever posted.
sa.Index("ix_cards_tracked", cards.c.state, cards.c.kind, cards.c.posted_at)

# Version 2 ----------------------------------------------------------------------------------

# Every triage attempt from Slack, allowed or refused (SPEC §8). `request_key` identifies
# one Slack interaction, so a retried delivery of the same click is applied once.
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
    sa.Column("state", sa.String(8), nullable=False),
    sa.Column("message_ts", sa.String(32), nullable=True),
    sa.Column("claim_token", sa.String(64), nullable=True),
    sa.Column("claimed_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("posted_at", UTCDateTime, nullable=True),
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

# One row per (digest, period): the exactly-once ledger of digest posts.
digest_runs = sa.Table(
    "digest_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("digest_id", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("period_start", UTCDateTime, nullable=False),
    sa.Column("period_end", UTCDateTime, nullable=False),
    sa.Column("state", sa.String(8), nullable=False),
    sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("message_ts", sa.String(32), nullable=True),
    sa.Column("claim_token", sa.String(64), nullable=True),
    sa.Column("claimed_at", UTCDateTime, nullable=True),
    sa.Column("posted_at", UTCDateTime, nullable=True),
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
