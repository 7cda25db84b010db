"""The bot token scopes the app uses, each with the Web API method that needs it.

`slack_manifest.yml` must request exactly these (a test compares them), so a new
Slack call that needs a new scope is added here and to the manifest together.
Scope per method: Slack's method reference (docs.slack.dev/reference/methods).
"""

from __future__ import annotations

from typing import Final

BOT_SCOPES: Final[dict[str, str]] = {
    "chat:write": "chat.postMessage, chat.update, chat.postEphemeral: cards and replies",
    "chat:write.public": "chat.postMessage to public channels the bot has not joined",
    "channels:history": "conversations.history: find a card whose post outcome was lost",
    "groups:history": "conversations.history in private channels, for the same reason",
    "channels:join": "conversations.join: read back a public channel posted to without joining",
    "commands": "the /sentry slash command",
    "users:read": "users.info: who clicked, to map Slack users to Sentry members",
    "users:read.email": "users.info e-mail addresses, the key to Sentry members",
    "links:read": "the link_shared event: a Sentry issue link was posted",
    "links:write": "chat.unfurl: show a shared Sentry issue link as a card",
    "usergroups:read": "usergroups.list: the user groups a route may notify (Home tab form)",
}
