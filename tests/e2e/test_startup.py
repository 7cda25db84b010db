"""Start-up through the running process: wrong credentials are found at start (and when they
stop working later), `/readyz` says what to fix, each problem is logged once, a first run
without routes says how to add one, and every configuration problem shows in one round."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import CHANNEL, BotFactory, wait_polls
from tests.e2e.harness import TOKENS, BotProcess
from tests.fakes.sentry_server import DEFAULT_SCOPES, FakeSentry
from tests.fakes.slack_requests import form_body, post_to_bot, sign, slash_command
from tests.fakes.slack_server import FakeSlack

pytestmark = pytest.mark.e2e

STARTED = r"ready: |started on port"

# What `/readyz` says of Sentry webhooks when `SENTRY_WEBHOOK_SECRET` is not set.
OFF = {"sentry_webhooks": {"state": "off", "last_received": None}}


def readyz(bot: BotProcess) -> tuple[int, dict[str, Any]]:
    response = httpx.get(f"{bot.url}/readyz", timeout=5)
    body: dict[str, Any] = response.json()
    return response.status_code, body


def lines_with(bot: BotProcess, text: str) -> list[str]:
    return [line for line in bot.log().splitlines() if text in line]


def org_checks(sentry: FakeSentry) -> int:
    return sum(1 for r in sentry.requests if r.path == "/api/0/organizations/acme/")


def test_a_wrong_slack_bot_token_is_found_at_start(make_bot: BotFactory) -> None:
    with make_bot(SLACK_BOT_TOKEN="xoxb-111-222-mistyped") as bot:
        bot.wait_for_log(STARTED)
        status, body = readyz(bot)
        assert status == 503
        assert body["problems"] == [
            "Slack refused SLACK_BOT_TOKEN (invalid_auth): copy the Bot User OAuth Token "
            "(xoxb-…) again from the app's OAuth & Permissions page"
        ]
        assert httpx.get(f"{bot.url}/healthz", timeout=5).status_code == 200
        assert "ready: " not in bot.log()
        assert len(lines_with(bot, "SLACK_BOT_TOKEN")) == 1
    assert "xoxb-111-222-mistyped" not in bot.log()


def test_a_revoked_sentry_token_is_found_at_start_and_nothing_is_polled(
    make_bot: BotFactory, sentry: FakeSentry
) -> None:
    with make_bot(SENTRY_TOKEN="sntryu_revoked-token-0000") as bot:
        bot.wait_for_log(STARTED)
        status, body = readyz(bot)
        assert status == 503
        assert body["problems"] == [
            "Sentry refused SENTRY_TOKEN (401 Invalid token): the token is revoked, expired or "
            "mistyped; copy the internal integration's token (Settings → Developer Settings) "
            "into SENTRY_TOKEN"
        ]
        bot.wait_for_log("this replica now leads polling")
        assert len(lines_with(bot, "SENTRY_TOKEN")) == 1
    assert not any("/issues/" in r.path for r in sentry.requests)


def test_an_unknown_organization_is_named(make_bot: BotFactory) -> None:
    with make_bot(SENTRY_ORG="acme-typo") as bot:
        bot.wait_for_log(STARTED)
        status, body = readyz(bot)
    assert status == 503
    assert body["problems"][0].startswith(
        "Sentry has no organization acme-typo for SENTRY_TOKEN (404): check SENTRY_ORG"
    )


def test_a_refused_app_token_is_reported_once_without_a_retry_loop(
    make_bot: BotFactory, slack: FakeSlack
) -> None:
    slack.set_token_state("invalid_auth", token=TOKENS["SLACK_APP_TOKEN"])
    with make_bot(socket_mode=True) as bot:
        bot.wait_for_log(STARTED)
        status, body = readyz(bot)
        assert status == 503
        assert body["problems"] == [
            "Slack refused SLACK_APP_TOKEN (invalid_auth): generate an app-level token with the "
            "connections:write scope under Basic Information → App-Level Tokens, set "
            "SLACK_APP_TOKEN to it, and make sure Socket Mode is enabled"
        ]
        # Asked again quietly with backoff: three attempts, still one line and no traceback.
        slack.wait_for(lambda: len(slack.calls("apps.connections.open")) >= 3, 15)
        assert len(lines_with(bot, "SLACK_APP_TOKEN")) == 1
        assert "Traceback" not in bot.log()
        slack.set_token_state("ok", token=TOKENS["SLACK_APP_TOKEN"])
        bot.wait_for_log("Socket Mode connected", timeout=20)
        bot.wait_for_log("Slack accepts SLACK_APP_TOKEN")
        assert readyz(bot)[0] == 200


def test_missing_optional_scopes_are_warnings_naming_what_they_disable(
    make_bot: BotFactory, sentry: FakeSentry
) -> None:
    sentry.scopes = set(DEFAULT_SCOPES) - {"event:admin", "member:read"}
    with make_bot() as bot:
        bot.wait_ready()
        status, body = readyz(bot)
        assert status == 200
        assert body == {
            "status": "ready",
            "problems": [],
            "warnings": [
                "SENTRY_TOKEN lacks the event:admin scope, so /sentry delete will not work: "
                "grant it in the integration's permissions (Settings → Developer Settings)",
                "SENTRY_TOKEN lacks the member:read scope, so triage by people in Slack (each "
                "is matched to a Sentry member by e-mail) will not work: grant it in the "
                "integration's permissions (Settings → Developer Settings)",
            ],
            **OFF,
        }
        assert len(lines_with(bot, "lacks the event:admin scope")) == 1
        assert len(lines_with(bot, "lacks the member:read scope")) == 1


def test_a_token_that_cannot_read_issues_is_not_ready(
    make_bot: BotFactory, sentry: FakeSentry
) -> None:
    sentry.scopes = {"org:read", "project:read"}
    with make_bot() as bot:
        bot.wait_for_log(STARTED)
        status, body = readyz(bot)
    assert status == 503
    assert body["problems"][0].startswith(
        "SENTRY_TOKEN lacks the event:read scope, so new-issue alerts, cards and /sentry issues"
    )


def test_without_the_api_root_scopes_are_not_checked(
    make_bot: BotFactory, sentry: FakeSentry
) -> None:
    sentry.serves_api_root = False
    sentry.scopes = set(DEFAULT_SCOPES) - {"event:admin"}
    with make_bot() as bot:
        bot.wait_ready()
        assert readyz(bot) == (200, {"status": "ready", "problems": [], "warnings": [], **OFF})


def test_no_routes_is_a_warning_saying_how_to_add_one(make_bot: BotFactory) -> None:
    with make_bot(config="") as bot:
        bot.wait_ready()
        status, body = readyz(bot)
        assert status == 200
        assert body["problems"] == []
        assert len(body["warnings"]) == 1
        assert body["warnings"][0].startswith("no routes yet, so no alerts are posted: type ")
        assert "/sentry subscribe" in body["warnings"][0]
        assert "bot.example.yml" in body["warnings"][0]
        assert len(lines_with(bot, "no routes yet")) == 1


def test_the_no_routes_warning_clears_once_a_route_is_added_from_slack(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    sentry.add_member("ada@acme.test", name="Ada Admin", role="admin")
    slack.add_user("U0ADA", "ada@acme.test", "ada")
    with make_bot(config="") as bot:
        bot.wait_ready()
        assert readyz(bot)[1]["warnings"][0].startswith("no routes yet")
        url = slack.new_response_url(channel=CHANNEL, user="U0ADA")
        body = form_body(
            slash_command("subscribe web", user_id="U0ADA", channel_id=CHANNEL, response_url=url)
        )
        reply = post_to_bot(
            f"{bot.url}/slack/events",
            body,
            sign(body, TOKENS["SLACK_SIGNING_SECRET"], int(time.time())),
        )
        assert reply.status == 200
        bot.wait_for_log("routes: 1, polling Sentry for them")
        assert readyz(bot) == (200, {"status": "ready", "problems": [], "warnings": [], **OFF})
        issue = sentry.create_issue("web", "The first card")
        slack.wait_for(
            lambda: any(issue["id"] in str(m.metadata) for m in slack.messages(CHANNEL)), 15
        )


def test_a_sentry_token_revoked_later_marks_not_ready_until_it_works_again(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    with make_bot() as bot:
        bot.wait_ready()
        wait_polls(sentry, 1)
        checks = org_checks(sentry)
        sentry.token = "sntryu_someone-revoked-it"
        bot.wait_for_log("Sentry refused SENTRY_TOKEN")
        assert readyz(bot)[0] == 503
        # Checked again quietly after 5 s: the same problem is not logged twice.
        sentry.wait_for(lambda: org_checks(sentry) >= checks + 2, 15)
        assert len(lines_with(bot, "Sentry refused SENTRY_TOKEN")) == 1
        issue = sentry.create_issue("web", "First seen while the token was refused")
        sentry.token = TOKENS["SENTRY_TOKEN"]
        bot.wait_for_log("Sentry accepts SENTRY_TOKEN", timeout=20)
        assert readyz(bot)[0] == 200
        slack.wait_for(
            lambda: any(issue["id"] in str(m.metadata) for m in slack.messages(CHANNEL)), 15
        )


def test_a_slack_token_revoked_later_marks_not_ready_until_it_works_again(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    with make_bot() as bot:
        bot.wait_ready()
        slack.set_token_state("token_revoked")
        sentry.create_issue("web", "Posted after the token works again")
        bot.wait_for_log(r"Slack refused SLACK_BOT_TOKEN \(token_revoked\)")
        status, body = readyz(bot)
        assert status == 503
        assert "reinstall the app" in body["problems"][0]
        slack.set_token_state("ok")
        bot.wait_for_log("Slack accepts SLACK_BOT_TOKEN", timeout=20)
        assert readyz(bot)[0] == 200
        assert len(lines_with(bot, "Slack refused SLACK_BOT_TOKEN")) == 1
        slack.wait_for(lambda: len(slack.messages(CHANNEL)) == 1, 15)


# -- configuration problems: one round, one line each, then exit 2 --------------------------


def run_to_exit(bot: BotProcess, timeout: float = 20.0) -> int:
    bot.start()
    assert bot.process is not None
    code = bot.process.wait(timeout)
    bot.stop()
    return code


def test_settings_and_routes_file_problems_show_in_one_round(
    make_bot: BotFactory, tmp_path: Path
) -> None:
    config = "routes:\n  - channel: C0123ABCD\n    projects: [web]\n    colour: red\n"
    bot = make_bot(
        config=config,
        POLL_INTERVAL_SECONDS="0",
        SENTRY_HOST="https://admin:hunter2@sentry.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path}/bot.yml/bot.sqlite3",
    )
    assert run_to_exit(bot) == 2
    assert bot.lines == [
        "configuration error: SENTRY_HOST: must not carry credentials (user:password@); the "
        "token is sent apart",
        "configuration error: DATABASE_URL: the SQLite file's folder would be under a file, not "
        "a directory",
        "configuration error: POLL_INTERVAL_SECONDS: 0 is out of range (1 to 86400)",
        "configuration error: bot.yml:4: routes[0].colour: unknown key (allowed: channel, "
        "environment, mention, projects, query)",
    ]


@pytest.mark.parametrize(
    ("url", "line"),
    [
        (
            "postgresql+psycopg://bot:hunter2@db:port/bot",
            "DATABASE_URL: its port is not a number",
        ),
        ("mysql://bot:hunter2@db/bot", "DATABASE_URL: database 'mysql' is not supported"),
    ],
)
def test_a_malformed_database_url_is_one_named_line(
    make_bot: BotFactory, url: str, line: str
) -> None:
    bot = make_bot(DATABASE_URL=url)
    assert run_to_exit(bot) == 2
    assert len(bot.lines) == 1
    assert bot.lines[0].startswith(f"configuration error: {line}")
    assert "hunter2" not in bot.log()


def test_an_alias_bomb_is_refused_before_anything_is_expanded(make_bot: BotFactory) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n"
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    )
    bot = make_bot(config=bomb + "routes:\n  - channel: *i\n")
    assert run_to_exit(bot) == 2
    assert bot.lines == [
        "configuration error: bot.yml:1: YAML anchors (&name) are not allowed in this file"
    ]


def test_an_unreachable_database_is_one_line_naming_database_url(make_bot: BotFactory) -> None:
    bot = make_bot(DATABASE_URL="postgresql+psycopg://bot:hunter2@127.0.0.1:1/bot")
    assert run_to_exit(bot) == 1
    assert len(bot.lines) == 1
    assert (
        "ERROR bot.runtime: DATABASE_URL: cannot open the database (OperationalError"
        in (bot.lines[0])
    )
    assert "hunter2" not in bot.log()
    assert "Traceback" not in bot.log()


def test_an_app_token_refused_on_a_reconnect_stops_the_retry_loop(
    make_bot: BotFactory, slack: FakeSlack
) -> None:
    with make_bot(socket_mode=True) as bot:
        bot.wait_ready()
        slack.wait_connected()
        slack.set_token_state("token_revoked", token=TOKENS["SLACK_APP_TOKEN"])
        slack.disconnect()
        bot.wait_for_log(r"Slack refused SLACK_APP_TOKEN \(token_revoked\)")
        assert readyz(bot)[0] == 503
        opened = len(slack.calls("apps.connections.open"))
        # Asked again with backoff by the bot, not every few seconds by slack_sdk.
        slack.wait_for(lambda: len(slack.calls("apps.connections.open")) >= opened + 2, 15)
        assert len(lines_with(bot, "Slack refused SLACK_APP_TOKEN")) == 1
        assert bot.log().count("Traceback") == 0
        slack.set_token_state("ok", token=TOKENS["SLACK_APP_TOKEN"])
        bot.wait_for_log("Slack accepts SLACK_APP_TOKEN", timeout=20)
        slack.wait_connected()
        assert readyz(bot)[0] == 200
