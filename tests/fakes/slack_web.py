"""The fake Slack's Web API methods: request parameters in, Slack's JSON answer out.

Transport-free (`slack_server` does HTTP, locking and fault injection). Behaviour follows Slack's
Web API docs (docs.slack.dev/reference/methods/…, docs.slack.dev/apis/web-api/rate-limits) and
python-slack-sdk's test server (`tests/slack_sdk/web/mock_web_api_handler.py`):

- every error is HTTP 200 `{"ok": false, "error": code}`; rate limits are HTTP 429 with
  `Retry-After` and `{"ok": false, "error": "ratelimited"}`
  (`slack_examples/web_error_ratelimited_429.json`);
- tokens arrive as `Authorization: Bearer …` (or a `token` form/query field); no token →
  `not_authed`, unknown → `invalid_auth`, a revoked/inactive one → its state's code; app-level
  `xapp-` tokens only open Socket Mode connections (`apps.connections.open` docs: Bearer header);
- Block Kit is checked with `blockkit_rules` and refused as `invalid_blocks` with `errors` and
  `response_metadata.messages` (`slack_examples/web_error_invalid_blocks.json`); unparseable
  blocks are `invalid_blocks_format`;
- `text` over 40,000 characters is truncated and the post succeeds with the `message_truncated`
  warning (`slack_examples/web_warning_message_truncated.json`, Slack's 2018 changelog
  "truncating really long messages"); neither text nor blocks → `no_text`;
- `conversations.history` is newest first, `oldest`/`latest` exclusive unless `inclusive`, cursor
  pagination through `response_metadata.next_cursor` (base64 `next_ts:<ts digits>` like Slack's),
  and `metadata` only with `include_all_metadata` (Slack docs: conversations.history);
- chat.postMessage can be limited to N posts per second per channel with a burst (Slack docs:
  rate limits, "one message per second per channel … short bursts allowed");
- channel membership and scopes (`check_membership` below): posting to a public channel the bot
  has not joined needs `chat:write.public`, reading history or threads needs membership and
  `channels:history`/`groups:history`, `conversations.join` needs `channels:join` and works on
  public channels only; a missing scope is `missing_scope` with `needed` and `provided`;
- chat.unfurl (`links:write`) attaches blocks under a person's message, only for the links it
  contains, and replaces them on a later call (Slack docs: chat.unfurl).
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from tests.fakes.blockkit_rules import validate_blocks, validate_view
from tests.fakes.slack_method_rules import MANIFEST_BOT_SCOPES, invalid_arguments, missing_scope
from tests.fakes.slack_workspace import (
    Edit,
    Ephemeral,
    HomeView,
    Message,
    TokenState,
    View,
    Workspace,
    ts_key,
)

MAX_TEXT = 40_000
HOME_VIEW_MAX_BYTES = 250_000  # Slack docs: views.publish, `view_too_large`
TRUNCATED_WARNING = (
    "[WARN] Your message was truncated but still posted. "
    "The `text` field accepts up to 40,000 characters."
)
HISTORY_DEFAULT_LIMIT = 100
HISTORY_MAX_LIMIT = 999
DEFAULT_BOT_SCOPES = MANIFEST_BOT_SCOPES
"""What a bot token is granted unless a test says otherwise: the app manifest's scopes."""


@dataclass(frozen=True)
class WebReply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BotIdentity:
    """Who the bot token belongs to; defaults from `examples/web_auth_test_bot_ok.json`."""

    user_id: str = "W23456789"
    bot_id: str = "BZYBOTHED"
    user: str = "bot"
    app_id: str = "A111"
    team_name: str = "Subarachnoid Workspace"
    url: str = "https://subarachnoid.slack.com/"


class PostRateLimiter:
    """Token bucket per channel for chat.postMessage (off until `configure` is called)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._rate: float | None = None
        self._burst = 1
        self._buckets: dict[str, tuple[float, float]] = {}
        self.held: dict[str, int] = {}
        """Channels answering every post with 429 and this Retry-After (a long limit)."""

    def configure(self, per_channel_per_sec: float | None, burst: int) -> None:
        self._rate = per_channel_per_sec
        self._burst = max(1, burst)
        self._buckets.clear()

    def retry_after(self, channel: str) -> int | None:
        """None and one token spent if the post may go through, else seconds to wait."""
        if channel in self.held:
            return self.held[channel]
        if self._rate is None:
            return None
        now = self._clock()
        tokens, last = self._buckets.get(channel, (float(self._burst), now))
        tokens = min(float(self._burst), tokens + (now - last) * self._rate)
        if tokens >= 1.0:
            self._buckets[channel] = (tokens - 1.0, now)
            return None
        self._buckets[channel] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / self._rate))


class TokenBook:
    """Which tokens exist and what state each is in."""

    def __init__(self, bot_tokens: list[str], app_tokens: list[str]) -> None:
        self.states: dict[str, TokenState] = {t: "ok" for t in bot_tokens + app_tokens}
        self.app_tokens = set(app_tokens)
        self.scopes: dict[str, set[str]] = {t: set(MANIFEST_BOT_SCOPES) for t in bot_tokens}

    def check(self, token: str | None, *, app_level: bool) -> str | None:
        """The auth error code for `token` on a method, or None if it may call it."""
        if not token:
            return "not_authed"
        if token not in self.states:
            return "invalid_auth"
        if (token in self.app_tokens) != app_level:
            return "not_allowed_token_type"
        state = self.states[token]
        return None if state == "ok" else state


def ok(**fields: Any) -> WebReply:
    return WebReply(200, {"ok": True, **fields})


def fail(code: str, **extra: Any) -> WebReply:
    return WebReply(200, {"ok": False, "error": code, **extra})


def ratelimited(retry_after: int) -> WebReply:
    return WebReply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})


def missing_scope_reply(needed: str, provided: frozenset[str]) -> WebReply:
    """Slack names the scope it wanted and the ones the token has (node-slack-sdk's
    `WebAPICallResult` `needed`/`provided`)."""
    return fail("missing_scope", needed=needed, provided=",".join(sorted(provided)))


def invalid_blocks(errors: list[str]) -> WebReply:
    return fail(
        "invalid_blocks",
        errors=errors,
        response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
    )


class _BadParam(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def flag(params: Mapping[str, Any], key: str, default: bool = False) -> bool:
    """Slack booleans arrive as JSON booleans or as form strings "true"/"1"."""
    value = params.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in {"true", "1", "yes"}


def json_param(params: Mapping[str, Any], key: str, bad_code: str) -> Any:
    """A structured argument: nested JSON in a JSON body, a JSON string in a form body."""
    value = params.get(key)
    if isinstance(value, str):
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError as exc:
            raise _BadParam(bad_code) from exc
    return value


def parse_blocks(params: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    blocks = json_param(params, "blocks", "invalid_blocks_format")
    if blocks is not None and not isinstance(blocks, list):
        raise _BadParam("invalid_blocks_format")
    return blocks


def parse_metadata(params: Mapping[str, Any]) -> dict[str, Any] | None:
    metadata = json_param(params, "metadata", "invalid_metadata_format")
    if metadata is None:
        return None
    if (
        not isinstance(metadata, dict)
        or not isinstance(metadata.get("event_type"), str)
        or not isinstance(metadata.get("event_payload"), dict)
    ):
        raise _BadParam("invalid_metadata_format")
    return metadata


def truncate_text(text: str) -> tuple[str, dict[str, Any]]:
    """Slack's 40,000-character truncation and the warning that comes with it."""
    if len(text) <= MAX_TEXT:
        return text, {}
    return text[:MAX_TEXT], {
        "warning": "message_truncated",
        "response_metadata": {"warnings": ["message_truncated"], "messages": [TRUNCATED_WARNING]},
    }


def _ts_param(value: Any, code: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise _BadParam(code) from exc


def encode_cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts.replace('.', '')}".encode()).decode()


def decode_cursor(cursor: str) -> Decimal:
    try:
        raw = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _BadParam("invalid_cursor") from exc
    digits = raw.removeprefix("next_ts:")
    if raw == digits or not digits.isdigit() or len(digits) <= 6:
        raise _BadParam("invalid_cursor")
    return Decimal(f"{digits[:-6]}.{digits[-6:]}")


def paginate(
    messages: list[Message],
    params: Mapping[str, Any],
    render: Callable[[Message], dict[str, Any]],
    *,
    newest_first: bool,
) -> WebReply:
    """Slack's cursor pagination over an already filtered, already ordered list."""
    raw_limit = params.get("limit") or HISTORY_DEFAULT_LIMIT
    try:
        limit = min(max(int(raw_limit), 1), HISTORY_MAX_LIMIT)
    except ValueError as exc:
        raise _BadParam("invalid_limit") from exc
    cursor = params.get("cursor")
    if cursor:
        start = decode_cursor(str(cursor))
        if newest_first:
            messages = [m for m in messages if ts_key(m.ts) <= start]
        else:
            messages = [m for m in messages if ts_key(m.ts) >= start]
    page, rest = messages[:limit], messages[limit:]
    reply: dict[str, Any] = {
        "messages": [render(m) for m in page],
        "has_more": bool(rest),
        "pin_count": 0,
    }
    if rest:
        reply["response_metadata"] = {"next_cursor": encode_cursor(rest[0].ts)}
    return ok(**reply)


class WebApi:
    """Dispatches `/api/<method>` calls against a `Workspace`; caller holds the workspace lock."""

    def __init__(
        self,
        workspace: Workspace,
        tokens: TokenBook,
        identity: BotIdentity,
        rate: PostRateLimiter,
        socket_url: Callable[[], str],
    ) -> None:
        self.workspace = workspace
        self.tokens = tokens
        self.identity = identity
        self.rate = rate
        self.socket_url = socket_url
        self.expired_triggers: set[str] = set()
        self.scopes: frozenset[str] = frozenset()
        self.granted: frozenset[str] = frozenset()
        """The scopes of the token of the call being handled."""
        self._methods: dict[str, Callable[[Mapping[str, Any]], WebReply]] = {
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.delete": self.chat_delete,
            "chat.getPermalink": self.chat_get_permalink,
            "chat.unfurl": self.chat_unfurl,
            "conversations.history": self.conversations_history,
            "conversations.replies": self.conversations_replies,
            "conversations.info": self.conversations_info,
            "conversations.join": self.conversations_join,
            "users.info": self.users_info,
            "users.lookupByEmail": self.users_lookup_by_email,
            "views.open": self.views_open,
            "views.update": self.views_update,
            "views.publish": self.views_publish,
            "usergroups.list": self.usergroups_list,
        }

    def handle(self, method: str, params: Mapping[str, Any], token: str | None) -> WebReply:
        if method == "apps.connections.open":
            denied = self.tokens.check(token, app_level=True)
            if denied:
                return fail(denied)
            return ok(url=self.socket_url())
        handler = self._methods.get(method)
        if handler is None:
            return WebReply(404, {"ok": False, "error": "unknown_method"})
        denied = self.tokens.check(token, app_level=False)
        if denied:
            return fail(denied)
        assert token is not None
        self.scopes = frozenset(self.tokens.scopes.get(token, ()))
        self.granted = self.scopes
        # Slack names the token's scopes on every answer (`x-oauth-scopes`).
        scope_header = {"x-oauth-scopes": ",".join(sorted(self.scopes))}
        refused = missing_scope(method, params, self.scopes, is_private=self._is_private)
        if refused is None:
            refused = invalid_arguments(method, params)
        if refused is not None:
            return WebReply(200, refused, scope_header)
        try:
            reply = handler(params)
        except _BadParam as bad:
            reply = fail(bad.code)
        return WebReply(reply.status, reply.body, {**reply.headers, **scope_header})

    def _is_private(self, channel_id: str) -> bool:
        channel = self.workspace.channel(channel_id)
        return channel is not None and channel.is_private

    # auth ----------------------------------------------------------------------------------

    def auth_test(self, params: Mapping[str, Any]) -> WebReply:
        ident = self.identity
        return ok(
            url=ident.url,
            team=ident.team_name,
            user=ident.user,
            team_id=self.workspace.team_id,
            user_id=ident.user_id,
            bot_id=ident.bot_id,
            is_enterprise_install=False,
        )

    # chat ----------------------------------------------------------------------------------

    def _writable_channel(
        self, params: Mapping[str, Any], *, public_post: bool = False
    ) -> WebReply | str:
        """Where the bot may write. A private channel it is not in is invisible to it
        (`channel_not_found`); a public one needs membership, or for chat.postMessage the
        `chat:write.public` scope (Slack docs: chat.postMessage errors, scope chat:write.public:
        "Send messages to channels @your_slack_app isn't a member of")."""
        channel = self.workspace.channel(str(params.get("channel") or ""))
        if channel is None or (channel.is_private and not channel.member):
            return fail("channel_not_found")
        if channel.archived:
            return fail("is_archived")
        if not channel.member and not (public_post and "chat:write.public" in self.granted):
            return fail("not_in_channel")
        return channel.id

    def chat_post_message(self, params: Mapping[str, Any]) -> WebReply:
        channel = self._writable_channel(params, public_post=True)
        if isinstance(channel, WebReply):
            return channel
        content = self._content(params)
        if isinstance(content, WebReply):
            return content
        text, blocks, warnings = content
        metadata = parse_metadata(params)
        wait = self.rate.retry_after(channel)
        if wait is not None:
            return ratelimited(wait)
        thread_ts = params.get("thread_ts") or None
        message = self.post(
            channel=channel,
            text=text,
            blocks=blocks,
            metadata=metadata,
            thread_ts=str(thread_ts) if thread_ts else None,
            reply_broadcast=flag(params, "reply_broadcast"),
            unfurl_links=flag(params, "unfurl_links") if "unfurl_links" in params else None,
            unfurl_media=flag(params, "unfurl_media") if "unfurl_media" in params else None,
        )
        return ok(channel=channel, ts=message.ts, message=message.as_slack(), **warnings)

    def _content(
        self, params: Mapping[str, Any], *, surface_required: bool = True, truncates: bool = True
    ) -> WebReply | tuple[str, list[dict[str, Any]] | None, dict[str, Any]]:
        blocks = parse_blocks(params)
        text = str(params.get("text") or "")
        if surface_required and not text and not blocks and not params.get("attachments"):
            return fail("no_text")
        if blocks:
            errors = validate_blocks(blocks)
            if errors:
                return invalid_blocks(errors)
        if not truncates and len(text) > MAX_TEXT:
            # Only chat.postMessage documents truncation; the other senders list `msg_too_long`
            # (Slack OpenAPI chat.update and chat.postEphemeral error enums).
            return fail("msg_too_long")
        text, warnings = truncate_text(text)
        return text, blocks, warnings

    def post(
        self,
        *,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None,
        metadata: dict[str, Any] | None = None,
        thread_ts: str | None = None,
        reply_broadcast: bool = False,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        via: str = "chat.postMessage",
    ) -> Message:
        message = Message(
            channel=channel,
            ts=self.workspace.clock.next(),
            text=text,
            blocks=copy.deepcopy(blocks),
            user=self.identity.user_id,
            bot_id=self.identity.bot_id,
            app_id=self.identity.app_id,
            team=self.workspace.team_id,
            metadata=copy.deepcopy(metadata),
            thread_ts=thread_ts,
            reply_broadcast=reply_broadcast,
            unfurl_links=unfurl_links,
            unfurl_media=unfurl_media,
            via=via,
        )
        self.workspace.messages.append(message)
        return message

    def chat_update(self, params: Mapping[str, Any]) -> WebReply:
        channel = self.workspace.channel(str(params.get("channel") or ""))
        if channel is None:
            return fail("channel_not_found")
        message = self.workspace.message(channel.id, str(params.get("ts") or ""))
        if message is None:
            return fail("message_not_found")
        if message.bot_id != self.identity.bot_id:
            return fail("cant_update_message")
        content = self._content(params, truncates=False)
        if isinstance(content, WebReply):
            return content
        text, blocks, warnings = content
        metadata = parse_metadata(params)
        self.replace(
            message,
            text=text,
            blocks=blocks if "blocks" in params else message.blocks,
            metadata=metadata if metadata is not None else message.metadata,
            via="chat.update",
        )
        return ok(
            channel=channel.id,
            ts=message.ts,
            text=message.text,
            message=message.as_slack(),
            **warnings,
        )

    def replace(
        self,
        message: Message,
        *,
        text: str,
        blocks: list[dict[str, Any]] | None,
        metadata: dict[str, Any] | None,
        via: str,
    ) -> None:
        message.edits.append(
            Edit(
                text=message.text,
                blocks=copy.deepcopy(message.blocks),
                metadata=copy.deepcopy(message.metadata),
                replaced_at=time.time(),
                via=via,
            )
        )
        message.text = text
        message.blocks = copy.deepcopy(blocks)
        message.metadata = copy.deepcopy(metadata)
        message.edited_ts = self.workspace.clock.next()

    def chat_post_ephemeral(self, params: Mapping[str, Any]) -> WebReply:
        channel = self._writable_channel(params)
        if isinstance(channel, WebReply):
            return channel
        user_id = str(params.get("user") or "")
        user = self.workspace.users.get(user_id)
        if user is None:
            return fail("user_not_found")
        if not self.workspace.user_in_channel(user_id, self.workspace.channels[channel]):
            return fail("user_not_in_channel")
        content = self._content(params, truncates=False)
        if isinstance(content, WebReply):
            return content
        text, blocks, warnings = content
        ephemeral = Ephemeral(
            channel=channel,
            user=user_id,
            ts=self.workspace.clock.next(),
            text=text,
            blocks=copy.deepcopy(blocks),
            thread_ts=str(params["thread_ts"]) if params.get("thread_ts") else None,
        )
        self.workspace.ephemerals.append(ephemeral)
        return ok(message_ts=ephemeral.ts, **warnings)

    def chat_delete(self, params: Mapping[str, Any]) -> WebReply:
        channel = self.workspace.channel(str(params.get("channel") or ""))
        if channel is None:
            return fail("channel_not_found")
        message = self.workspace.message(channel.id, str(params.get("ts") or ""))
        if message is None:
            return fail("message_not_found")
        if message.bot_id != self.identity.bot_id:
            return fail("cant_delete_message")
        message.deleted = True
        return ok(channel=channel.id, ts=message.ts)

    def chat_get_permalink(self, params: Mapping[str, Any]) -> WebReply:
        channel = self.workspace.channel(str(params.get("channel") or ""))
        if channel is None:
            return fail("channel_not_found")
        message = self.workspace.message(channel.id, str(params.get("message_ts") or ""))
        if message is None:
            return fail("message_not_found")
        link = f"{self.identity.url}archives/{channel.id}/p{message.ts.replace('.', '')}"
        if message.is_reply:
            # A reply's permalink opens its thread (Slack docs: chat.getPermalink example).
            link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
        return ok(channel=channel.id, permalink=link)

    # unfurls -------------------------------------------------------------------------------

    def _unfurl_target(self, params: Mapping[str, Any]) -> WebReply | Message:
        """The message an unfurl goes under: `unfurl_id` + `source`, or `channel` + `ts`
        (Slack docs: chat.unfurl arguments; errors `missing_channel`, `missing_ts`,
        `cannot_find_channel`, `cannot_find_message`)."""
        unfurl_id, source = params.get("unfurl_id"), params.get("source")
        if unfurl_id or source:
            if not (unfurl_id and source):
                return fail("invalid_arguments")  # each pair together; stricter than verified
            message = next(
                (m for m in self.workspace.messages if m.unfurl_id == unfurl_id and not m.deleted),
                None,
            )
            if message is None or source != "conversations_history":
                return fail("cannot_find_message")
            return message
        if not params.get("channel"):
            return fail("missing_channel")
        if not params.get("ts"):
            return fail("missing_ts")
        channel = self.workspace.channel(str(params["channel"]))
        if channel is None or (channel.is_private and not channel.member):
            return fail("cannot_find_channel")
        message = self.workspace.message(channel.id, str(params["ts"]))
        if message is None:
            return fail("cannot_find_message")
        return message

    def chat_unfurl(self, params: Mapping[str, Any]) -> WebReply:
        """Attach the app's unfurls under a person's message (Slack docs: chat.unfurl; "Unfurling
        links in messages"). Each key must be a link of that message (`cannot_unfurl_message`);
        each value carries Block Kit `blocks` (checked like a message's, `rich_text` refused) or
        legacy attachment fields; a later call for the same message replaces, never adds."""
        message = self._unfurl_target(params)
        if isinstance(message, WebReply):
            return message
        raw = params.get("unfurls")
        if raw is None or raw == "":
            return fail("missing_unfurls")
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                return fail("invalid_unfurls_format")
        if not isinstance(raw, dict) or not raw:
            return fail("invalid_unfurls_format")
        for url, unfurl in raw.items():
            if not isinstance(unfurl, dict):
                return fail("invalid_unfurls_format")
            if url not in message.links:
                return fail("cannot_unfurl_message")
            blocks = unfurl.get("blocks")
            if blocks is None:
                if not any(k in unfurl for k in ("text", "title", "fallback", "pretext")):
                    return fail("cannot_parse_attachment")
                continue
            if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
                return fail("invalid_unfurls_format")
            errors = validate_blocks(blocks)
            errors += [
                f"rich_text blocks cannot be unfurled [json-pointer:/unfurls/{url}/blocks/{i}]"
                for i, block in enumerate(blocks)
                if block.get("type") == "rich_text"
            ]
            if errors:
                return invalid_blocks(errors)
        for url, unfurl in raw.items():
            message.unfurls[url] = copy.deepcopy(unfurl)
        message.unfurl_calls += 1
        return ok()

    # conversations -------------------------------------------------------------------------

    def _readable_channel(self, params: Mapping[str, Any]) -> WebReply | str:
        """History and threads: `channels:history` (public) or `groups:history` (private),
        and membership (Slack docs: conversations.history, conversations.replies; a bot token
        outside the channel is answered `not_in_channel`)."""
        channel = self.workspace.channel(str(params.get("channel") or ""))
        if channel is None or (channel.is_private and not channel.member):
            return fail("channel_not_found")
        needed = "groups:history" if channel.is_private else "channels:history"
        if needed not in self.granted:
            return missing_scope_reply(needed, self.granted)
        if not channel.member:
            return fail("not_in_channel")
        return channel.id

    def conversations_history(self, params: Mapping[str, Any]) -> WebReply:
        channel = self._readable_channel(params)
        if isinstance(channel, WebReply):
            return channel
        oldest = _ts_param(params.get("oldest"), "invalid_ts_oldest")
        latest = _ts_param(params.get("latest"), "invalid_ts_latest")
        inclusive = flag(params, "inclusive")
        with_metadata = flag(params, "include_all_metadata")

        def in_range(m: Message) -> bool:
            key = ts_key(m.ts)
            if oldest is not None and (key < oldest or (key == oldest and not inclusive)):
                return False
            return latest is None or key < latest or (key == latest and inclusive)

        listed = [
            m
            for m in self.workspace.messages
            if m.channel == channel
            and not m.deleted
            and (not m.is_reply or m.reply_broadcast)
            and in_range(m)
        ]
        listed.sort(key=lambda m: ts_key(m.ts), reverse=True)
        return paginate(
            listed,
            params,
            lambda m: self._with_thread_info(m, include_metadata=with_metadata),
            newest_first=True,
        )

    def _with_thread_info(self, message: Message, *, include_metadata: bool) -> dict[str, Any]:
        out = message.as_slack(include_metadata=include_metadata)
        replies = [
            m
            for m in self.workspace.messages
            if m.channel == message.channel
            and m.thread_ts == message.ts
            and m.is_reply
            and not m.deleted
        ]
        if replies and not message.is_reply:
            out["thread_ts"] = message.ts
            out["reply_count"] = len(replies)
            out["reply_users"] = sorted({m.user for m in replies})
            out["reply_users_count"] = len(out["reply_users"])
            out["latest_reply"] = max((m.ts for m in replies), key=ts_key)
        return out

    def conversations_replies(self, params: Mapping[str, Any]) -> WebReply:
        channel = self._readable_channel(params)
        if isinstance(channel, WebReply):
            return channel
        ts = str(params.get("ts") or "")
        parent = self.workspace.message(channel, ts)
        if parent is None:
            return fail("thread_not_found")
        with_metadata = flag(params, "include_all_metadata")
        thread = [parent] + [
            m
            for m in self.workspace.messages
            if m.channel == channel and m.thread_ts == ts and m.is_reply and not m.deleted
        ]
        return paginate(
            thread,
            params,
            lambda m: self._with_thread_info(m, include_metadata=with_metadata),
            newest_first=False,
        )

    def conversations_info(self, params: Mapping[str, Any]) -> WebReply:
        channel = self.workspace.channel(str(params.get("channel") or ""))
        if channel is None:
            return fail("channel_not_found")
        return ok(channel=channel.as_slack())

    def conversations_join(self, params: Mapping[str, Any]) -> WebReply:
        """Slack docs: conversations.join — scope `channels:join`, public channels only
        (`method_not_supported_for_channel_type`), `is_archived`; joining again answers ok
        with the `already_in_channel` warning."""
        if "channels:join" not in self.granted:
            return missing_scope_reply("channels:join", self.granted)
        channel = self.workspace.channel(str(params.get("channel") or ""))
        if channel is None or (channel.is_private and not channel.member):
            return fail("channel_not_found")
        if channel.is_private or channel.id.startswith(("D", "G")):
            return fail("method_not_supported_for_channel_type")
        if channel.archived:
            return fail("is_archived")
        if channel.member:
            return ok(
                channel=channel.as_slack(),
                warning="already_in_channel",
                response_metadata={"warnings": ["already_in_channel"]},
            )
        channel.member = True
        return ok(channel=channel.as_slack())

    # users ---------------------------------------------------------------------------------

    def users_info(self, params: Mapping[str, Any]) -> WebReply:
        user = self.workspace.users.get(str(params.get("user") or ""))
        if user is None:
            return fail("user_not_found")
        return ok(user=self._visible_user(user.as_slack()))

    def _visible_user(self, user: dict[str, Any]) -> dict[str, Any]:
        """`profile.email` is only returned to tokens with `users:read.email` (Slack docs:
        users:read.email scope, "view email addresses of people in the workspace")."""
        if "users:read.email" not in self.scopes:
            user["profile"].pop("email", None)
        return user

    def users_lookup_by_email(self, params: Mapping[str, Any]) -> WebReply:
        user = self.workspace.user_by_email(str(params.get("email") or ""))
        if user is None:
            return fail("users_not_found")
        return ok(user=user.as_slack())

    # views ---------------------------------------------------------------------------------

    def views_open(self, params: Mapping[str, Any]) -> WebReply:
        trigger_id = str(params.get("trigger_id") or "")
        if not trigger_id or trigger_id in self.expired_triggers:
            return fail(
                "invalid_arguments", response_metadata={"messages": ["invalid `trigger_id`"]}
            )
        view = json_param(params, "view", "invalid_arguments")
        if not isinstance(view, dict):
            return fail("invalid_arguments")
        errors = validate_view(view)
        if errors:
            return invalid_blocks(errors)
        self.expired_triggers.add(trigger_id)
        record = View(
            id=self.workspace.next_view_id(), view=view, trigger_id=trigger_id, opened_by=None
        )
        self.workspace.views[record.id] = record
        return ok(view=self._view_reply(record))

    def views_update(self, params: Mapping[str, Any]) -> WebReply:
        view = json_param(params, "view", "invalid_arguments")
        if not isinstance(view, dict):
            return fail("invalid_arguments")
        view_id = params.get("view_id")
        external_id = params.get("external_id")
        record = self.workspace.views.get(str(view_id)) if view_id else None
        if record is None and external_id:
            record = next(
                (
                    v
                    for v in self.workspace.views.values()
                    if v.view.get("external_id") == external_id
                ),
                None,
            )
        if record is None:
            return fail("not_found")
        errors = validate_view(view)
        if errors:
            return invalid_blocks(errors)
        record.updates.append(record.view)
        record.view = view
        return ok(view=self._view_reply(record))

    def views_publish(self, params: Mapping[str, Any]) -> WebReply:
        """A person's Home view (Slack docs: views.publish; docs.slack.dev/reference/views/
        home-tab-views): `not_enabled` while the app's Home tab is off, `invalid_arguments`
        naming an unknown `user_id`, a view that is not `type: home`, Block Kit limits (a Home
        view holds up to 100 blocks), `view_too_large` over 250 kB, and `hash_conflict` when the
        `hash` given is not the current view's."""
        if not self.workspace.home_tab_enabled:
            return fail("not_enabled")
        user_id = str(params.get("user_id") or "")
        user = self.workspace.users.get(user_id)
        if user is None or user.is_bot or user.deleted:
            return fail("invalid_arguments", response_metadata={"messages": ["invalid `user_id`"]})
        raw = params.get("view")
        view = json_param(params, "view", "invalid_arguments")
        if not isinstance(view, dict):
            return fail("invalid_arguments")
        if view.get("type") != "home":
            return fail(
                "invalid_arguments",
                response_metadata={
                    "messages": [
                        "[ERROR] must be one of the following: home [json-pointer:/view/type]"
                    ]
                },
            )
        encoded = raw if isinstance(raw, str) else json.dumps(raw)
        if len(encoded.encode()) > HOME_VIEW_MAX_BYTES:
            return fail("view_too_large")
        errors = validate_view(view)
        if errors:
            return invalid_blocks(errors)
        current = self.workspace.home_views.get(user_id)
        given_hash = params.get("hash")
        if given_hash and (current is None or given_hash != current.hash):
            return fail("hash_conflict")
        if current is None:
            current = HomeView(id=self.workspace.next_view_id(), user=user_id, view=view, hash="")
            self.workspace.home_views[user_id] = current
        current.view = view
        current.published.append(copy.deepcopy(view))
        current.hash = f"{int(time.time())}.{current.id}{len(current.published):04d}"
        return ok(
            view=current.as_slack(
                self.workspace.team_id, self.identity.app_id, self.identity.bot_id
            )
        )

    def usergroups_list(self, params: Mapping[str, Any]) -> WebReply:
        """The workspace's user groups (Slack docs: usergroups.list; scope `usergroups:read`):
        disabled ones only with `include_disabled`, members only with `include_users`."""
        include_disabled = flag(params, "include_disabled")
        include_users = flag(params, "include_users")
        groups = []
        for group in self.workspace.usergroups.values():
            if group["date_delete"] and not include_disabled:
                continue
            shown = {k: copy.deepcopy(v) for k, v in group.items() if k != "users"}
            if include_users:
                shown["users"] = list(group["users"])
            groups.append(shown)
        return ok(usergroups=groups)

    def _view_reply(self, record: View) -> dict[str, Any]:
        return record.as_slack(self.workspace.team_id, self.identity.app_id, self.identity.bot_id)
