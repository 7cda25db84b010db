"""Versioned schema: a new database gets the current tables; an older one is upgraded in place.

A fresh database is created from `schema.metadata` and stamped with the latest
version. A database stamped with an older version runs each later step in order,
inside one transaction per step, so a crash mid-upgrade leaves the last good version.

Why an in-code version table and not Alembic: the bot ships as one process that migrates at
start, on SQLite by default and PostgreSQL for replicas, with replicas starting together
(serialised here by an advisory lock). Each step is a plain function in one transaction that
can move rows between tables in Python (version 3 turns three ledgers into the outbox, writing
keys both backends agree on), and each released schema is checked in under `tests/store/` and
replayed by the tests. Alembic would add a second configuration, a migration directory and an
`alembic_version` table to stamp for existing databases, while its autogenerate cannot express
such data moves anyway; it becomes worth it if steps ever need downgrades or branches.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import schema

logger = logging.getLogger(__name__)

Step = Callable[[Connection], None]


def _v2_triage_digests_leases(conn: Connection) -> None:
    """Version 2: the action log, thread replies, digests and leases; cards get checked_at."""
    for table in (schema.actions, _V2_REPLIES, schema.digests, _V2_DIGEST_RUNS, schema.leases):
        table.create(conn)
    conn.execute(sa.text("ALTER TABLE cards ADD COLUMN checked_at TIMESTAMP"))


# The replies and digest runs of version 2, as that release created them (the current tables
# are version 3's).
_V2 = sa.MetaData()
_V2_REPLIES = sa.Table(
    "replies",
    _V2,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("card_id", sa.Integer, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("issue_id", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("state", sa.String(8), nullable=False),
    sa.Column("message_ts", sa.String(32), nullable=True),
    sa.Column("claim_token", sa.String(64), nullable=True),
    sa.Column("claimed_at", schema.UTCDateTime, nullable=True),
    sa.Column("created_at", schema.UTCDateTime, nullable=False),
    sa.Column("posted_at", schema.UTCDateTime, nullable=True),
    sa.UniqueConstraint("card_id", "seq", name="uq_replies_card_seq"),
)
_V2_DIGEST_RUNS = sa.Table(
    "digest_runs",
    _V2,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("digest_id", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("period_start", schema.UTCDateTime, nullable=False),
    sa.Column("period_end", schema.UTCDateTime, nullable=False),
    sa.Column("state", sa.String(8), nullable=False),
    sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("message_ts", sa.String(32), nullable=True),
    sa.Column("claim_token", sa.String(64), nullable=True),
    sa.Column("claimed_at", schema.UTCDateTime, nullable=True),
    sa.Column("posted_at", schema.UTCDateTime, nullable=True),
    sa.UniqueConstraint("digest_id", "period_end", name="uq_digest_runs_period"),
)
# The columns of version 2's cards that move to the outbox.
_V2_CARDS = sa.Table(
    "cards",
    _V2,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("channel", sa.String(32)),
    sa.Column("issue_id", sa.String(32)),
    sa.Column("first_seen", schema.UTCDateTime),
    sa.Column("state", sa.String(8)),
    sa.Column("kind", sa.String(8)),
    sa.Column("message_ts", sa.String(32)),
    sa.Column("claim_token", sa.String(64)),
    sa.Column("claimed_at", schema.UTCDateTime),
    sa.Column("posted_at", schema.UTCDateTime),
    sa.Column("attempts", sa.Integer),
    sa.Column("last_error", sa.String(200)),
)
_V2_CARD_COLUMNS = (
    "state",
    "kind",
    "message_ts",
    "claim_token",
    "claimed_at",
    "posted_at",
    "attempts",
    "last_error",
)
_V2_POST_COLUMNS = ("state", "message_ts", "claim_token", "claimed_at", "posted_at")


def _v3_outbox(conn: Connection) -> None:
    """Version 3: one outbox for every message; cards, replies and digest runs keep only what
    they are, and point at their outbox row. Every row keeps its state, claim and ts, so
    nothing posted is posted again and nothing owed is lost."""
    # When the outbox table changes, its version 3 form is frozen here like _V2's tables.
    schema.outbox.create(conn)
    for table in ("cards", "replies", "digest_runs"):
        conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN outbox_id INTEGER"))
    # Cards are the many rows: moved in one statement (`||` concatenates on both backends).
    old = _V2_CARDS.c
    posted_as = sa.case((sa.and_(old.state == "posted", old.kind != "gone"), old.kind), else_=None)
    conn.execute(
        sa.insert(schema.outbox).from_select(
            [
                "channel",
                "key",
                "producer",
                "state",
                "posted_as",
                "message_ts",
                "claim_token",
                "claimed_at",
                "posted_at",
                "attempts",
                "last_error",
                "due_at",
            ],
            sa.select(
                old.channel,
                sa.literal("issue:") + old.issue_id,
                sa.literal("card"),
                sa.case((old.kind == "gone", "gone"), else_=old.state),
                posted_as,
                old.message_ts,
                old.claim_token,
                old.claimed_at,
                old.posted_at,
                old.attempts,
                old.last_error,
                old.first_seen,
            ),
        )
    )
    conn.execute(
        sa.text(
            "UPDATE cards SET outbox_id = (SELECT outbox.id FROM outbox WHERE outbox.channel ="
            " cards.channel AND outbox.key = 'issue:' || cards.issue_id)"
        )
    )
    threads = {
        r.id: r.message_ts
        for r in conn.execute(
            sa.select(old.id, old.message_ts).where(old.id.in_(sa.select(_V2_REPLIES.c.card_id)))
        )
    }
    for reply in conn.execute(sa.select(_V2_REPLIES)).mappings():
        outbox_id = _insert(
            conn,
            channel=reply["channel"],
            key=f"reply:{reply['card_id']}.{reply['seq']}",
            producer="reply",
            state=reply["state"],
            posted_as="reply" if reply["state"] == "posted" else None,
            thread_ts=threads.get(reply["card_id"]),
            message_ts=reply["message_ts"],
            claim_token=reply["claim_token"],
            claimed_at=reply["claimed_at"],
            posted_at=reply["posted_at"],
            attempts=0,
            last_error=None,
            due_at=reply["created_at"],
        )
        conn.execute(
            sa.text("UPDATE replies SET outbox_id = :o WHERE id = :i"),
            {"o": outbox_id, "i": reply["id"]},
        )
    for run in conn.execute(sa.select(_V2_DIGEST_RUNS)).mappings():
        state = run["state"]
        outbox_id = _insert(
            conn,
            channel=run["channel"],
            # The digest key of version 3 (bot/outbox/metadata.py), frozen with this step.
            key=f"digest:{run['digest_id']}@{run['period_end']:%Y-%m-%dT%H:%M:%SZ}",
            producer="digest",
            state="refused" if state == "failed" else state,
            posted_as="digest" if state == "posted" else None,
            thread_ts=None,
            message_ts=run["message_ts"],
            claim_token=run["claim_token"],
            claimed_at=run["claimed_at"],
            posted_at=run["posted_at"],
            attempts=0,
            last_error=None,
            due_at=run["claimed_at"] or run["period_end"],
        )
        conn.execute(
            sa.text("UPDATE digest_runs SET outbox_id = :o WHERE id = :i"),
            {"o": outbox_id, "i": run["id"]},
        )
    conn.execute(sa.text("DROP INDEX ix_cards_state_channel"))
    for table, columns in (
        ("cards", _V2_CARD_COLUMNS),
        ("replies", _V2_POST_COLUMNS),
        ("digest_runs", _V2_POST_COLUMNS),
    ):
        for column in columns:
            conn.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))
    conn.execute(sa.text("CREATE INDEX ix_cards_outbox ON cards (outbox_id)"))


def _v4_conversation(conn: Connection) -> None:
    """Version 4: comment watermarks per card, Sentry comments owed to card threads, and the
    comments the app wrote itself. New tables only: nothing existing changes."""
    for table in (_V4_COMMENT_MARKS, _V4_COMMENT_RELAYS, _V4_OWN_COMMENTS):
        table.create(conn)


# The tables of version 4, frozen as this step creates them.
_V4 = sa.MetaData()
_V4_COMMENT_MARKS = sa.Table(
    "comment_marks",
    _V4,
    sa.Column("card_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("num_comments", sa.BigInteger, nullable=False),
    sa.Column("last_comment_id", sa.BigInteger, nullable=True),
)
_V4_COMMENT_RELAYS = sa.Table(
    "comment_relays",
    _V4,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("card_id", sa.Integer, nullable=False),
    sa.Column("comment_id", sa.BigInteger, nullable=False),
    sa.Column("issue_id", sa.String(32), nullable=False),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", schema.UTCDateTime, nullable=False),
    sa.Column("outbox_id", sa.Integer, nullable=True),
    sa.UniqueConstraint("card_id", "comment_id", name="uq_comment_relays_card_comment"),
)
_V4_OWN_COMMENTS = sa.Table(
    "own_comments",
    _V4,
    sa.Column("comment_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("issue_id", sa.String(32), nullable=False),
    sa.Column("author_id", sa.String(32), nullable=True),
    sa.Column("created_at", schema.UTCDateTime, nullable=False),
)


def _insert(conn: Connection, **values: object) -> int:
    result = conn.execute(sa.insert(schema.outbox).values(**values).returning(schema.outbox.c.id))
    return int(result.scalar_one())


def _v5_webhook_jobs(conn: Connection) -> None:
    """Version 5: the queue of accepted Sentry webhook deliveries; no existing row changes."""
    # When the table changes, its version 5 form is frozen here like _V2's tables.
    schema.webhook_jobs.create(conn)


def _v6_unfurls(conn: Connection) -> None:
    """Version 6: the cards unfurled under people's messages, kept current; a new table only."""
    _V6_UNFURLS.create(conn)  # with its indexes


# The unfurls table of version 6, frozen as this step creates it.
_V6 = sa.MetaData()
_V6_UNFURLS = sa.Table(
    "unfurls",
    _V6,
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
    sa.Column("unfurled_at", schema.UTCDateTime, nullable=False),
    sa.Column("checked_at", schema.UTCDateTime, nullable=True),
    sa.UniqueConstraint("channel", "message_ts", "url", name="uq_unfurls_message_url"),
    sa.Index("ix_unfurls_issue", "issue_id"),
    sa.Index("ix_unfurls_unfurled_at", "unfurled_at"),
)

# Version N is reached by running MIGRATIONS[N - 2] on a version N-1 database.
# Version 1 is the baseline: routes and cards.
MIGRATIONS: list[Step] = [
    _v2_triage_digests_leases,
    _v3_outbox,
    _v4_conversation,
    _v5_webhook_jobs,
    _v6_unfurls,
]

LATEST_VERSION = 1 + len(MIGRATIONS)


def _current_version(conn: Connection) -> int | None:
    if not sa.inspect(conn).has_table("schema_version"):
        return None
    value = conn.execute(sa.select(sa.func.max(schema.schema_version.c.version))).scalar()
    return int(value) if value is not None else None


def _stamp(conn: Connection, version: int) -> None:
    conn.execute(sa.delete(schema.schema_version))
    conn.execute(sa.insert(schema.schema_version).values(version=version))


def _upgrade(conn: Connection) -> tuple[int | None, int]:
    found = _current_version(conn)
    if found is None:
        schema.metadata.create_all(conn)
        _stamp(conn, LATEST_VERSION)
        return None, LATEST_VERSION
    if found > LATEST_VERSION:
        raise RuntimeError(
            f"the database is at schema version {found}, newer than this release "
            f"({LATEST_VERSION}); run a newer release or restore a backup"
        )
    for version in range(found + 1, LATEST_VERSION + 1):
        MIGRATIONS[version - 2](conn)
        _stamp(conn, version)
    _create_missing_indexes(conn)
    return found, LATEST_VERSION


def _create_missing_indexes(conn: Connection) -> None:
    """Indexes change no data and no query's result: one the schema declares is created
    wherever it is missing, at any version, without a version of its own."""
    for table in schema.metadata.sorted_tables:
        for index in table.indexes:
            index.create(conn, checkfirst=True)


# Any fixed number: replicas starting together on PostgreSQL take turns migrating.
MIGRATION_LOCK = 72_616_001


async def migrate(engine: AsyncEngine) -> None:
    """Bring the database to LATEST_VERSION; safe to run at every start, and by several
    replicas at once (PostgreSQL serialises them with a transaction-level advisory lock)."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
            )
        found, now = await conn.run_sync(_upgrade)
    if found is None:
        logger.info("created database schema version %d", now)
    elif found != now:
        logger.info("upgraded database schema from version %d to %d", found, now)
