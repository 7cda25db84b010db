"""Per-method gatekeeping of the fake Slack Web API: the token's scopes and the required arguments.

Runs after the token is known to be valid and before the method itself, as Slack does:

- **Scopes** (`missing_scope`, with `needed` and `provided`): the bot scope each method needs,
  from Slack's method reference (docs.slack.dev/reference/methods/<method>, "Required scopes")
  and the error shape of `missing_scope` in node-slack-sdk's `WebAPICallResult` (`needed`,
  `provided`). A method that needs one scope per conversation type (history, info) needs the one
  for the channel named: `channels:*` for a public channel, `groups:*` for a private one.
- **Required arguments** (`invalid_arguments`): an argument that is absent is refused before it is
  looked up, with `response_metadata.messages` `["[ERROR] missing required field: <name>"]`; one
  that is present but empty or unknown gets the method's own lookup error (`channel_not_found`,
  `user_not_found`, …). Measured against slack.com in brekkylab/backlot#84; message shape from
  Slack's answers quoted in slackapi/java-slack-sdk#302. `conversations.history` and
  `conversations.replies` keep their own argument handling.
- **Deprecated arguments**: `as_user` is refused for apps with granular bot scopes,
  `{"error": "invalid_arguments", "deprecated_argument": "as_user"}` (Slack's answer quoted in
  coin-au-carre/slacking#11; docs.slack.dev "Legacy: as_user").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

# What slack_manifest.yml grants the bot (a test keeps manifest and bot/slack/scopes.py equal).
MANIFEST_BOT_SCOPES = frozenset(
    {
        "chat:write",
        "chat:write.public",
        "channels:history",
        "groups:history",
        "channels:join",
        "commands",
        "users:read",
        "users:read.email",
        "links:read",
        "links:write",
        "usergroups:read",
    }
)

# method → (scope for a public channel or no channel, scope for a private channel)
METHOD_SCOPES: dict[str, tuple[str, str] | None] = {
    "auth.test": None,
    "chat.postMessage": ("chat:write", "chat:write"),
    "chat.update": ("chat:write", "chat:write"),
    "chat.postEphemeral": ("chat:write", "chat:write"),
    "chat.delete": ("chat:write", "chat:write"),
    "chat.getPermalink": None,
    "chat.unfurl": ("links:write", "links:write"),
    "conversations.history": ("channels:history", "groups:history"),
    "conversations.replies": ("channels:history", "groups:history"),
    "conversations.join": ("channels:join", "channels:join"),
    "conversations.info": ("channels:read", "groups:read"),
    "users.info": ("users:read", "users:read"),
    "users.lookupByEmail": ("users:read.email", "users:read.email"),
    "views.open": None,
    "views.update": None,
    "views.publish": None,
    "usergroups.list": ("usergroups:read", "usergroups:read"),
}

REQUIRED_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("channel",),
    "chat.update": ("channel", "ts"),
    "chat.postEphemeral": ("channel", "user"),
    "chat.delete": ("channel", "ts"),
    "chat.getPermalink": ("channel", "message_ts"),
    "conversations.info": ("channel",),
    "users.info": ("user",),
    "users.lookupByEmail": ("email",),
    "views.open": ("trigger_id", "view"),
    "views.update": ("view",),
    "views.publish": ("user_id", "view"),
}

AS_USER_METHODS = frozenset(
    {"chat.postMessage", "chat.update", "chat.postEphemeral", "chat.delete"}
)


def missing_scope(
    method: str,
    params: Mapping[str, Any],
    scopes: Iterable[str],
    *,
    is_private: Callable[[str], bool],
) -> dict[str, Any] | None:
    """The `missing_scope` answer body, or None when the token may call `method`."""
    needed_by_type = METHOD_SCOPES.get(method)
    if needed_by_type is None:
        return None
    granted = set(scopes)
    channel = str(params.get("channel") or "")
    needed = needed_by_type[1] if channel and is_private(channel) else needed_by_type[0]
    if needed in granted:
        return None
    return {
        "ok": False,
        "error": "missing_scope",
        "needed": needed,
        "provided": ",".join(sorted(granted)),
    }


def invalid_arguments(method: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The `invalid_arguments` answer for an absent required or a deprecated argument."""
    if method in AS_USER_METHODS and "as_user" in params:
        return {"ok": False, "error": "invalid_arguments", "deprecated_argument": "as_user"}
    absent = [name for name in REQUIRED_ARGUMENTS.get(method, ()) if name not in params]
    if not absent:
        return None
    return {
        "ok": False,
        "error": "invalid_arguments",
        "response_metadata": {
            "messages": [f"[ERROR] missing required field: {name}" for name in absent]
        },
    }
