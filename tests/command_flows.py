"""Driving `/sentry` like Slack does: signed slash commands and clicks on the bot's endpoint,
replies read from the fake Slack's response_url log, and the Sentry requests a step made.

Shared by the in-process command tests (`tests/usecases/test_commands.py`) and the end-to-end
ones (`tests/e2e/test_commands.py`): both bots expose the URL of their HTTP listener.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Protocol

from tests.e2e.harness import TOKENS
from tests.fakes.sentry_server import FakeSentry, RecordedRequest
from tests.fakes.slack_requests import (
    action_for,
    block_actions,
    form_body,
    interactive_body,
    post_to_bot,
    sign,
    slash_command,
)
from tests.fakes.slack_server import FakeSlack
from tests.fakes.slack_workspace import ResponsePost

CHANNEL = "C0TRIAGE1"
TEAM = "T111"
ADMIN, MEMBER, BILLING, STRANGER, PEER = "U0ADMIN", "U0MEMBER", "U0BILLING", "U0GHOST", "U0PEER"


class ReachableBot(Protocol):
    """A running bot: a subprocess (`BotProcess`) or in process (`InProcessBot`)."""

    @property
    def url(self) -> str: ...


def send(bot: ReachableBot, body: str) -> None:
    """POST a signed body to the bot and check Slack's 3-second acknowledgement."""
    reply = post_to_bot(
        f"{bot.url}/slack/events",
        body,
        sign(body, TOKENS["SLACK_SIGNING_SECRET"], int(time.time())),
    )
    assert reply.status == 200, reply.body
    assert reply.elapsed < 3.0


def response_post(slack: FakeSlack, url: str, timeout: float = 10.0) -> ResponsePost:
    response_id = url.rsplit("/", 1)[1]

    def posts() -> list[ResponsePost]:
        return [p for p in slack.response_posts() if p.response_id == response_id]

    slack.wait_for(lambda: bool(posts()), timeout)
    return posts()[-1]


def command(
    bot: ReachableBot, slack: FakeSlack, text: str, *, user: str = ADMIN, channel: str = CHANNEL
) -> dict[str, Any]:
    """Run `/sentry text` as `user`; the body the bot posted to the command's response_url."""
    return command_post(bot, slack, text, user=user, channel=channel).body


def command_post(
    bot: ReachableBot,
    slack: FakeSlack,
    text: str,
    *,
    user: str = ADMIN,
    channel: str = CHANNEL,
    trigger_id: str = "111.222.valid",
) -> ResponsePost:
    url = slack.new_response_url(channel=channel, user=user)
    fields = slash_command(
        text,
        user_id=user,
        team_id=TEAM,
        channel_id=channel,
        response_url=url,
        trigger_id=trigger_id,
    )
    send(bot, form_body(fields))
    post = response_post(slack, url)
    assert post.outcome in ("ephemeral", "posted", "replaced"), post
    return post


def rendered(body: dict[str, Any]) -> str:
    return body.get("text", "") + json.dumps(body.get("blocks") or [], ensure_ascii=False)


def since(sentry: FakeSentry, mark: int) -> list[RecordedRequest]:
    return sentry.requests[mark:]


def only(sentry: FakeSentry, mark: int, method: str, path: str) -> list[RecordedRequest]:
    return [r for r in since(sentry, mark) if r.method == method and r.path == path]


def writes(sentry: FakeSentry, mark: int) -> list[RecordedRequest]:
    """Changes to issues and releases since `mark`; the activity comments a triage action
    leaves (written in the background) are left out and checked by the conversation tests."""
    return [
        r
        for r in since(sentry, mark)
        if r.method in ("PUT", "POST", "DELETE") and not r.path.endswith("/comments/")
    ]


def buttons(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for block in body.get("blocks") or []:
        for element in block.get("elements", []):
            if element.get("type") == "button" and element["action_id"].startswith(
                ("reply.", "issues.")
            ):
                found[element["action_id"]] = element
    return found


def click(
    bot: ReachableBot,
    slack: FakeSlack,
    post: ResponsePost,
    action_id: str,
    *,
    user: str = ADMIN,
) -> str:
    """Click a button of an ephemeral reply; returns the response_url the bot answers on."""
    ephemeral = [e for e in slack.ephemerals(user) if e.blocks == post.body.get("blocks")][-1]
    url = slack.new_response_url(
        channel=ephemeral.channel, message_ts=ephemeral.ts, user=user, ephemeral=True
    )
    message = {
        "type": "message",
        "ts": ephemeral.ts,
        "text": ephemeral.text,
        "blocks": ephemeral.blocks,
    }
    action = action_for(ephemeral.blocks or [], action_id)
    payload = block_actions(user, TEAM, ephemeral.channel, message, action, url, is_ephemeral=True)
    send(bot, interactive_body(payload))
    return url


ORG_ISSUES = "/api/0/organizations/acme/issues/"


def issue_path(ref: str, rest: str = "") -> str:
    return f"/api/0/organizations/acme/issues/{ref}/{rest}"


def add_members(sentry: FakeSentry) -> None:
    """Sentry's side of the cast: an admin, two members, a billing member, a team and two
    projects (one owned by the team)."""
    sentry.add_member("ada@acme.test", name="Ada Admin", role="admin")
    sentry.add_member("mo@acme.test", name="Mo Member", role="member")
    sentry.add_member("bill@acme.test", name="Bill Billing", role="billing")
    sentry.add_member("pat@acme.test", name="Pat Peer", role="member")
    sentry.add_team("backend", members=["mo@acme.test"])
    sentry.create_project("web", platform="javascript", teams=["backend"])
    sentry.create_project("api", platform="python")


def add_people(slack: FakeSlack) -> None:
    """Slack's side: the same people (Pat's e-mail in another case), and a stranger Sentry does
    not know, in the triage channel's workspace."""
    slack.add_channel(CHANNEL, "triage")
    slack.add_user(ADMIN, "ada@acme.test", "ada")
    slack.add_user(MEMBER, "mo@acme.test", "mo")
    slack.add_user(BILLING, "bill@acme.test", "bill")
    slack.add_user(STRANGER, "ghost@elsewhere.test", "ghost")
    slack.add_user(PEER, "Pat@Acme.test", "pat")


def bot_env(
    workdir: Path, sentry: FakeSentry, slack: FakeSlack, *, poll_interval: int
) -> dict[str, str]:
    """The settings of a bot in HTTP mode against the two fakes, routing `web` to CHANNEL."""
    config = workdir / "bot.yml"
    config.write_text(f"routes:\n  - channel: {CHANNEL}\n    projects: [web]\n")
    return {
        "SENTRY_HOST": sentry.url,
        "SENTRY_TOKEN": TOKENS["SENTRY_TOKEN"],
        "SENTRY_ORG": "acme",
        "SLACK_BOT_TOKEN": TOKENS["SLACK_BOT_TOKEN"],
        "SLACK_API_URL": slack.api_url,
        "SLACK_SIGNING_SECRET": TOKENS["SLACK_SIGNING_SECRET"],
        "DATABASE_URL": f"sqlite:///{workdir}/bot.sqlite3",
        "BOT_CONFIG": str(config),
        "POLL_INTERVAL_SECONDS": str(poll_interval),
    }
