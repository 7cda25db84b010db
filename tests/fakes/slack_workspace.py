"""The fake Slack workspace's state: channels, users, messages, ephemerals, views and the log of
Web API calls, plus the records tests inspect.

Plain data with no locking and no I/O: `slack_server.FakeSlack` owns the lock and hands out deep
copies. Message shapes follow `slack_examples/web_chat_postMessage_ok.json` (a bot post: `type`,
`subtype: bot_message`, `bot_id`, `text`, `ts`) and `block_actions_button_message.json` (`user`,
`app_id`, `team`, `blocks`); `metadata` is `{"event_type", "event_payload"}` as in Slack's docs
(docs.slack.dev/messaging/message-metadata). Timestamps are Slack-style
`"<seconds>.<6 digits>"` strings, unique and increasing within the workspace.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

TokenState = Literal["ok", "invalid_auth", "token_revoked", "account_inactive"]


@dataclass
class Channel:
    """A conversation; `member` is whether the bot user has joined it."""

    id: str
    name: str
    member: bool = True
    archived: bool = False
    is_private: bool = False
    created: int = 1_700_000_000
    members: set[str] | None = None
    """User ids in the channel; None means every seeded user (for `user_not_in_channel`)."""

    def as_slack(self) -> dict[str, Any]:
        """The `channel` object of conversations.info (Slack OpenAPI spec, `objs_conversation`)."""
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private,
            "is_group": False,
            "is_im": self.id.startswith("D"),
            "is_mpim": False,
            "is_private": self.is_private,
            "is_archived": self.archived,
            "is_general": False,
            "is_member": self.member,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "created": self.created,
            "creator": "U0CREATOR",
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }


@dataclass
class User:
    id: str
    email: str
    name: str
    team_id: str = "T111"
    is_bot: bool = False
    deleted: bool = False
    real_name: str = ""
    guest: bool = False
    """A multi-channel guest (`is_restricted`; Slack docs: users.info)."""

    def as_slack(self) -> dict[str, Any]:
        """The `user` object of users.info and users.lookupByEmail (Slack docs: users.info;
        slackapi/slack-api-specs `web-api/slack_web_openapi_v2.json`, `objs_user`)."""
        real_name = self.real_name or self.name
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": real_name,
            "tz": "Europe/Berlin",
            "tz_label": "Central European Time",
            "tz_offset": 3600,
            "is_admin": False,
            "is_owner": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "is_restricted": self.guest,
            "is_ultra_restricted": False,
            "updated": 1_700_000_000,
            "profile": {
                "email": self.email,
                "real_name": real_name,
                "real_name_normalized": real_name,
                "display_name": self.name,
                "display_name_normalized": self.name,
                "team": self.team_id,
            },
        }


@dataclass(frozen=True)
class Edit:
    """A message's content before one change (chat.update or a response_url replace)."""

    text: str
    blocks: list[dict[str, Any]] | None
    metadata: dict[str, Any] | None
    replaced_at: float
    via: str


@dataclass
class Message:
    """A message in a channel as Slack stores it; `edits` holds earlier versions, oldest first."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    user: str
    bot_id: str | None
    app_id: str | None
    team: str
    metadata: dict[str, Any] | None = None
    thread_ts: str | None = None
    reply_broadcast: bool = False
    unfurl_links: bool | None = None
    unfurl_media: bool | None = None
    via: str = "chat.postMessage"
    posted_at: float = field(default_factory=time.time)
    edits: list[Edit] = field(default_factory=list)
    edited_ts: str | None = None
    deleted: bool = False
    links: list[str] = field(default_factory=list)
    """URLs in a person's message, as the `link_shared` event lists them."""
    unfurl_id: str | None = None
    unfurls: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The app's unfurls under the message, by url (chat.unfurl)."""
    unfurl_calls: int = 0
    """How many chat.unfurl calls changed them (a later one replaces, never adds)."""

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def as_slack(self, *, include_metadata: bool = True) -> dict[str, Any]:
        """The message object Slack returns from chat.postMessage and conversations.history."""
        out: dict[str, Any] = {"type": "message"}
        if self.bot_id is not None:
            out["subtype"] = "bot_message"
            out["bot_id"] = self.bot_id
            out["app_id"] = self.app_id
        out.update({"text": self.text, "user": self.user, "ts": self.ts, "team": self.team})
        if self.blocks:
            out["blocks"] = copy.deepcopy(self.blocks)
        if self.thread_ts is not None:
            out["thread_ts"] = self.thread_ts
        if self.edited_ts is not None:
            out["edited"] = {"user": self.user, "ts": self.edited_ts}
        if include_metadata and self.metadata is not None:
            out["metadata"] = copy.deepcopy(self.metadata)
        return out


@dataclass
class Ephemeral:
    """A message only `user` sees; Slack gives it a ts but never stores it in history."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None = None
    via: str = "chat.postEphemeral"
    posted_at: float = field(default_factory=time.time)
    edits: list[Edit] = field(default_factory=list)
    deleted: bool = False


@dataclass(frozen=True)
class ResponseOrigin:
    """What a response_url was issued for: the message clicked (channel + message_ts) and/or the
    user and channel of a slash command; ephemeral origins are replaced in `ephemerals`."""

    channel: str | None = None
    message_ts: str | None = None
    user: str | None = None
    ephemeral: bool = False


@dataclass(frozen=True)
class ResponsePost:
    """One POST to a response_url, as received, with what it did."""

    response_id: str
    url: str
    body: dict[str, Any]
    origin: ResponseOrigin
    received_at: float
    outcome: str
    """`replaced`, `deleted`, `posted`, `ephemeral` or the error code answered."""


@dataclass(frozen=True)
class ApiCall:
    """One Web API request as the fake saw it (before any fault was applied)."""

    method: str
    params: dict[str, Any]
    token: str
    """Masked: the prefix and last four characters, e.g. `xoxb-…oken`."""
    content_type: str
    received_at: float


@dataclass
class View:
    id: str
    view: dict[str, Any]
    trigger_id: str | None
    opened_by: str | None
    opened_at: float = field(default_factory=time.time)
    updates: list[dict[str, Any]] = field(default_factory=list)
    """Earlier versions of `view`, oldest first (one per views.update)."""

    def as_slack(self, team_id: str, app_id: str, bot_id: str) -> dict[str, Any]:
        """The view object views.open returns (web-api-openapi/views.open.json example)."""
        return {
            "id": self.id,
            "team_id": team_id,
            "app_id": app_id,
            "bot_id": bot_id,
            "state": {"values": {}},
            "hash": f"{int(self.opened_at)}.{self.id}",
            "root_view_id": self.id,
            "previous_view_id": None,
            "external_id": "",
            "private_metadata": "",
            "callback_id": "",
            "clear_on_close": False,
            "notify_on_close": False,
            **copy.deepcopy(self.view),
        }


@dataclass
class HomeView:
    """The Home tab one person sees (one per person and app; each views.publish replaces it)."""

    id: str
    user: str
    view: dict[str, Any]
    hash: str
    published: list[dict[str, Any]] = field(default_factory=list)
    """Every view published for this person, oldest first (the current one last)."""

    def as_slack(self, team_id: str, app_id: str, bot_id: str) -> dict[str, Any]:
        """The view object views.publish returns (Slack docs: views.publish, example response)."""
        return {
            "id": self.id,
            "team_id": team_id,
            "type": "home",
            "close": None,
            "submit": None,
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "state": {"values": {}},
            "hash": self.hash,
            "clear_on_close": False,
            "notify_on_close": False,
            "root_view_id": self.id,
            "previous_view_id": None,
            "app_id": app_id,
            "bot_id": bot_id,
            **copy.deepcopy(self.view),
        }


def ts_key(ts: str) -> Decimal:
    """Slack timestamps compare as decimal numbers, never as floats (microsecond precision)."""
    return Decimal(ts)


class TimestampClock:
    """Issues unique, increasing message timestamps: base, base+100µs, … ("1700000000.000100")."""

    def __init__(self, base_seconds: int) -> None:
        self._base = base_seconds
        self._count = 0

    def next(self) -> str:
        self._count += 1
        micros = self._count * 100
        return f"{self._base + micros // 1_000_000}.{micros % 1_000_000:06d}"


class Workspace:
    """One Slack team as the fake knows it. Not thread-safe; the caller holds the lock."""

    def __init__(self, *, team_id: str, ts_base: int) -> None:
        self.team_id = team_id
        self.channels: dict[str, Channel] = {}
        self.users: dict[str, User] = {}
        self.messages: list[Message] = []
        self.ephemerals: list[Ephemeral] = []
        self.views: dict[str, View] = {}
        self.home_views: dict[str, HomeView] = {}
        self.usergroups: dict[str, dict[str, Any]] = {}
        self.home_tab_enabled = True
        self.response_posts: list[ResponsePost] = []
        self.calls: list[ApiCall] = []
        self.clock = TimestampClock(ts_base)
        self._view_count = 0

    def channel(self, ref: str) -> Channel | None:
        """By id, or by name with or without `#` (chat.postMessage accepts both)."""
        if ref in self.channels:
            return self.channels[ref]
        name = ref.removeprefix("#")
        return next((c for c in self.channels.values() if c.name == name), None)

    def message(self, channel: str, ts: str) -> Message | None:
        return next(
            (m for m in self.messages if m.channel == channel and m.ts == ts and not m.deleted),
            None,
        )

    def user_by_email(self, email: str) -> User | None:
        wanted = email.strip().lower()
        return next((u for u in self.users.values() if u.email.lower() == wanted), None)

    def user_in_channel(self, user_id: str, channel: Channel) -> bool:
        if channel.members is None:
            return user_id in self.users
        return user_id in channel.members

    def next_view_id(self) -> str:
        self._view_count += 1
        return f"V{self._view_count:09d}"
