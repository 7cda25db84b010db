"""The Home tab in process: the `app_home_opened` event and the tab's clicks and modals go
through the bot's Slack endpoint and Bolt's dispatch; the tab is read back from the fake
Slack's `views.publish`, and routes, digests and Sentry changes from the store and the fakes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.store.schema import actions as action_log
from tests.fakes import slack_requests as sr
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack, HomeView
from tests.home_desk import (
    app_home_opened,
    digest_values,
    route_values,
    view_click,
    view_suggestion,
)
from tests.inprocess import BoltApp, settle
from tests.triage_desk import option_value

ANA = "U0ANA0001"  # a Sentry member, in team backend
NOBODY = "U0NOB0003"  # no Sentry account
GUEST = "U0GST0004"  # from another Slack workspace
OPS = "C0OPS0001"


def text_of(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def people(sentry: FakeSentry, slack: FakeSlack) -> dict[str, Any]:
    slack.add_user(ANA, "ana@example.com", "ana")
    slack.add_user(NOBODY, "nobody@example.com", "nobody")
    slack.add_user(GUEST, "guest@example.com", "guest", team_id="T999")
    slack.add_channel(OPS, "ops")
    sentry.add_member("ana@example.com", name="Ana Lima")
    sentry.add_member("guest@example.com", name="Guest")
    return sentry.add_team("backend", members=["ana@example.com"])


async def open_home(app: BoltApp, user: str, *, team: str = "T111") -> HomeView:
    response = await app.send(json.dumps(app_home_opened(user, team=team)), content_type=sr.JSON)
    assert response.status == 200
    await settle()
    home = app.slack.home_view(user)
    assert home is not None, "no Home view was published"
    return home


async def click(app: BoltApp, user: str, action_id: str, value: str | None = None) -> HomeView:
    """Click in `user`'s current Home view; returns the view published after it (if any)."""
    home = app.slack.home_view(user)
    assert home is not None
    before = len(home.published)
    payload = view_click(user, home.view, action_id, view_id=home.id, value=value)
    response = await app.interact(payload)
    assert response.status == 200
    await settle()
    after = app.slack.home_view(user)
    assert after is not None
    assert len(after.published) >= before
    return after


async def opened_modal(app: BoltApp) -> dict[str, Any]:
    views = app.slack.views()
    assert views, "no modal was opened"
    return views[-1].view


async def submit(
    app: BoltApp, user: str, modal: dict[str, Any], values: dict[str, Any]
) -> dict[str, Any]:
    """Submit a modal; returns the acknowledgement's JSON body ({} when it just closes)."""
    response = await app.interact(sr.view_submission(user, "T111", modal, values))
    assert response.status == 200
    await settle()
    return json.loads(response.body) if response.body else {}


async def logged(app: BoltApp) -> list[Any]:
    async with app.runtime.engine.connect() as conn:
        rows = await conn.execute(sa.select(action_log).order_by(action_log.c.id))
        return list(rows)


# ---- opening the tab ------------------------------------------------------------------------


async def test_a_member_sees_their_issues_then_their_teams_newest_activity_first(
    bolt_app: BoltApp, sentry: FakeSentry, slack: FakeSlack
) -> None:
    team = people(sentry, slack)
    now = datetime.now(UTC)
    older = sentry.create_issue("web", "KeyError: 'cart'", last_seen=now - timedelta(hours=3))
    newer = sentry.create_issue("web", "ValueError: price", last_seen=now - timedelta(minutes=5))
    for issue in (older, newer):
        sentry.assign(issue["id"], "ana@example.com")
    theirs = sentry.create_issue("api", "TimeoutError <!channel> <https://evil|click>")
    sentry.assign(theirs["id"], f"team:{team['id']}")
    sentry.create_issue("web", "Unassigned problem")
    resolved = sentry.create_issue("web", "Fixed already", status="resolved")
    sentry.assign(resolved["id"], "ana@example.com")

    home = await open_home(bolt_app, ANA)

    text = text_of(home.view)
    assert text.index("Assigned to you") < text.index("ValueError") < text.index("KeyError")
    assert text.index("KeyError") < text.index("Assigned to your teams (#backend)")
    assert text.index("Assigned to your teams") < text.index("TimeoutError")
    assert "Unassigned problem" not in text
    assert "Fixed already" not in text
    assert "&lt;!channel&gt;" in text
    assert "<!channel>" not in text
    assert "<https://evil" not in text
    assert text.count('"action_id": "issue.resolve"') == 3  # the card's own controls
    assert "More in Sentry" in text
    assert "assigned%3Aana%40example.com" in text  # the same search, in Sentry's UI
    searches = [r.param("query") for r in sentry.requests_matching("GET", "/issues/")]
    assert "is:unresolved assigned:ana@example.com" in searches
    assert "is:unresolved assigned:[#backend]" in searches


async def test_reopening_the_tab_soon_after_asks_sentry_nothing(
    bolt_app: BoltApp, sentry: FakeSentry, slack: FakeSlack
) -> None:
    people(sentry, slack)
    sentry.assign(sentry.create_issue("web", "KeyError")["id"], "ana@example.com")
    await open_home(bolt_app, ANA)
    first = len(sentry.requests)
    assert first > 0
    home = await open_home(bolt_app, ANA)
    assert len(home.published) == 2
    assert len(sentry.requests) == first


async def test_someone_without_a_sentry_account_is_told_why_and_what_to_do(
    bolt_app: BoltApp, sentry: FakeSentry, slack: FakeSlack
) -> None:
    people(sentry, slack)
    home = await open_home(bolt_app, NOBODY)
    text = text_of(home.view)
    assert "No member of the Sentry organization acme has the e-mail nobody@example.com" in text
    assert "invite that address" in text
    assert "issue.resolve" not in text
    assert not [r for r in sentry.requests_matching("GET", "/issues/")]


async def test_a_guest_from_another_workspace_sees_no_issues(
    bolt_app: BoltApp, sentry: FakeSentry, slack: FakeSlack
) -> None:
    people(sentry, slack)
    sentry.assign(sentry.create_issue("web", "Secret KeyError")["id"], "guest@example.com")
    home = await open_home(bolt_app, GUEST, team="T999")
    text = text_of(home.view)
    assert "Only members of this workspace" in text
    assert "Secret KeyError" not in text


async def test_a_guest_of_this_workspace_sees_no_issues_and_cannot_add_routes(
    bolt_app: BoltApp, sentry: FakeSentry, slack: FakeSlack
) -> None:
    people(sentry, slack)
    slack.add_user("U0GST0005", "gwen@example.com", "gwen", guest=True)
    sentry.add_member("gwen@example.com", name="Gwen")
    sentry.assign(sentry.create_issue("web", "Secret KeyError")["id"], "gwen@example.com")
    home = await open_home(bolt_app, "U0GST0005")
    text = text_of(home.view)
    assert "Guests of this workspace cannot see Sentry issues here" in text
    assert "Secret KeyError" not in text
    ana_home = await open_home(bolt_app, ANA)
    await bolt_app.interact(
        view_click("U0GST0005", ana_home.view, "home.route.add", view_id=ana_home.id)
    )
    await settle()
    assert "Guests of this workspace cannot change routes" in json.dumps(
        await opened_modal(bolt_app)
    )


async def test_sentry_down_gives_a_tab_saying_so(
    bolt_app: BoltApp, sentry: FakeSentry, slack: FakeSlack
) -> None:
    people(sentry, slack)
    sentry.fail_next(1000, status=503)
    home = await open_home(bolt_app, ANA)
    text = text_of(home.view)
    assert "Sentry is not answering right now" in text
    assert "home.refresh" in text


# ---- triage from the tab --------------------------------------------------------------------


async def test_resolving_from_the_tab_goes_through_triage_and_redraws_it(
    bolt_app: BoltApp, sentry: FakeSentry, slack: FakeSlack
) -> None:
    people(sentry, slack)
    issue = sentry.create_issue("web", "ZeroDivisionError")
    sentry.assign(issue["id"], "ana@example.com")
    home = await open_home(bolt_app, ANA)
    searches = len(sentry.requests_matching("GET", "/issues/"))
    value = option_value(home.view["blocks"], "issue.resolve", "Resolve now")

    after = await click(bolt_app, ANA, "issue.resolve", value)

    assert sentry.issue(issue["id"])["status"] == "resolved"
    assert len(after.published) == 2
    assert "ZeroDivisionError" not in text_of(after.view)
    assert len(sentry.requests_matching("GET", "/issues/")) > searches  # searched again
    [row] = [r for r in await logged(bolt_app) if r.source == "home"]
    assert (row.slack_user, row.action, row.result) == (ANA, "resolve.now", "ok")


async def test_ignoring_until_n_events_from_the_tab_asks_for_n_then_redraws_it(
    bolt_app: BoltApp, sentry: FakeSentry, slack: FakeSlack
) -> None:
    people(sentry, slack)
    issue = sentry.create_issue("web", "ZeroDivisionError")
    sentry.assign(issue["id"], "ana@example.com")
    home = await open_home(bolt_app, ANA)
    [events] = [
        o["value"]
        for b in home.view["blocks"]
        for e in b.get("elements", [])
        if e.get("action_id") == "issue.ignore"
        for o in e["options"]
        if "events" in o["text"]["text"].lower()
    ]
    await click(bolt_app, ANA, "issue.ignore", events)
    dialog = await opened_modal(bolt_app)
    assert sentry.issue(issue["id"])["status"] == "unresolved"

    values = {"ignore_count": {"count": {"type": "plain_text_input", "value": "250"}}}
    assert await submit(bolt_app, ANA, dialog, values) == {}

    assert sentry.issue(issue["id"])["status"] == "ignored"
    after = slack.home_view(ANA)
    assert after is not None
    assert len(after.published) == 2
    assert "ZeroDivisionError" not in text_of(after.view)


async def test_the_assign_menu_in_the_tab_offers_members_as_on_the_card(
    bolt_app: BoltApp, sentry: FakeSentry, slack: FakeSlack
) -> None:
    people(sentry, slack)
    issue = sentry.create_issue("web", "ZeroDivisionError")
    sentry.assign(issue["id"], "ana@example.com")
    home = await open_home(bolt_app, ANA)
    block_id, _ = sr.find_element(home.view["blocks"], "issue.assign")
    suggestion = view_suggestion(
        ANA, view_id=home.id, action_id="issue.assign", block_id=block_id, value="gue"
    )
    options = json.loads((await bolt_app.interact(suggestion)).body)["options"]
    assert [o["text"]["text"] for o in options] == ["Guest (guest@example.com)"]


async def test_what_sentry_refuses_is_said_at_the_top_of_the_redrawn_tab(
    bolt_app: BoltApp, sentry: FakeSentry, slack: FakeSlack
) -> None:
    people(sentry, slack)
    issue = sentry.create_issue("web", "ZeroDivisionError")
    sentry.assign(issue["id"], "ana@example.com")
    home = await open_home(bolt_app, ANA)
    value = option_value(home.view["blocks"], "issue.resolve", "In next release")
    after = await click(bolt_app, ANA, "issue.resolve", value)
    assert after.view["blocks"][0]["block_id"] == "home:notice"
    assert "no releases" in text_of(after.view)
    assert "ZeroDivisionError" in text_of(after.view)
    assert sentry.issue(issue["id"])["status"] == "unresolved"


async def test_someone_unmapped_clicking_in_a_stale_tab_changes_nothing_and_is_told(
    bolt_app: BoltApp, sentry: FakeSentry, slack: FakeSlack
) -> None:
    people(sentry, slack)
    issue = sentry.create_issue("web", "ZeroDivisionError")
    sentry.assign(issue["id"], "ana@example.com")
    home = await open_home(bolt_app, ANA)
    payload = view_click(
        NOBODY,
        home.view,
        "issue.resolve",
        view_id=home.id,
        value=option_value(home.view["blocks"], "issue.resolve", "Resolve now"),
    )
    await bolt_app.interact(payload)
    await settle()
    assert sentry.issue(issue["id"])["status"] == "unresolved"
    shown = slack.home_view(NOBODY)
    assert shown is not None
    assert "No member of the Sentry organization" in text_of(shown.view)


# ---- routes and digests through modals ------------------------------------------------------


async def test_a_route_is_added_from_the_tab_with_its_watermark_at_creation(
    bolt_app: BoltApp, sentry: FakeSentry, slack: FakeSlack
) -> None:
    people(sentry, slack)
    await open_home(bolt_app, ANA)
    await click(bolt_app, ANA, "home.route.add")
    modal = await opened_modal(bolt_app)
    assert modal["callback_id"] == "home.route.save"

    suggestion = view_suggestion(
        ANA, view_id="V1", action_id="home.projects", block_id="projects", value="we"
    )
    options = json.loads((await bolt_app.interact(suggestion)).body)["options"]
    assert [o["value"] for o in options] == ["web"]

    before = datetime.now(UTC)
    ack = await submit(
        bolt_app,
        ANA,
        modal,
        route_values(OPS, projects=("web",), query="is:unresolved level:error", users=(ANA,)),
    )
    assert ack == {}
    [route] = [r for r in await bolt_app.runtime.routes.all() if r.channel == OPS]
    assert route.projects == ("web",)
    assert route.query == "is:unresolved level:error"
    assert route.mention == (ANA,)
    assert route.source == "slack"
    assert route.watermark >= before - timedelta(seconds=1)
    home = slack.home_view(ANA)
    assert home is not None
    assert f"<#{OPS}>" in text_of(home.view)
    assert "Route added" in text_of(home.view)
    [row] = [r for r in await logged(bolt_app) if r.action == "route.add"]
    assert (row.slack_user, row.source, row.result) == (ANA, "home", "ok")


async def test_a_route_notifies_user_groups_picked_by_name(
    bolt_app: BoltApp, sentry: FakeSentry, slack: FakeSlack
) -> None:
    people(sentry, slack)
    slack.add_usergroup("S0ONCALL1", "oncall", "On call", users=[ANA])
    slack.add_usergroup("S0OLDGRP1", "oncall-old", "Old on call", disabled=True)
    await open_home(bolt_app, ANA)
    await click(bolt_app, ANA, "home.route.add")
    modal = await opened_modal(bolt_app)
    suggestion = view_suggestion(
        ANA, view_id="V1", action_id="home.usergroups", block_id="groups", value="on"
    )
    options = json.loads((await bolt_app.interact(suggestion)).body)["options"]
    assert [(o["value"], o["text"]["text"]) for o in options] == [
        ("S0ONCALL1", "@oncall (On call)")
    ]
    values = route_values(OPS, users=(ANA,), groups=("S0ONCALL1",))
    assert await submit(bolt_app, ANA, modal, values) == {}
    [route] = [r for r in await bolt_app.runtime.routes.all() if r.channel == OPS]
    assert route.mention == (ANA, "S0ONCALL1")

    await click(bolt_app, ANA, "home.route.menu", f"edit:{route.id}")
    edit = await opened_modal(bolt_app)
    [groups] = [b for b in edit["blocks"] if b["block_id"] == "groups"]
    assert groups["element"]["initial_options"] == [
        {
            "text": {"type": "plain_text", "text": "@oncall (On call)", "emoji": True},
            "value": "S0ONCALL1",
        }
    ]
    home = slack.home_view(ANA)
    assert home is not None
    assert "<!subteam^S0ONCALL1>" in text_of(home.view)


async def test_a_search_sentry_refuses_is_shown_on_its_field_and_nothing_is_saved(
    bolt_app: BoltApp, sentry: FakeSentry, slack: FakeSlack
) -> None:
    people(sentry, slack)
    await open_home(bolt_app, ANA)
    await click(bolt_app, ANA, "home.route.add")
    modal = await opened_modal(bolt_app)
    routes_before = await bolt_app.runtime.routes.all()

    ack = await submit(bolt_app, ANA, modal, route_values(OPS, query='is:unresolved "oops'))

    assert ack["response_action"] == "errors"
    assert list(ack["errors"]) == ["query"]
    assert "Sentry does not accept this search" in ack["errors"]["query"]
    assert await bolt_app.runtime.routes.all() == routes_before


async def test_a_route_is_edited_in_place_and_removed_from_the_tab(
    bolt_app: BoltApp, sentry: FakeSentry, slack: FakeSlack
) -> None:
    people(sentry, slack)
    await open_home(bolt_app, ANA)
    await click(bolt_app, ANA, "home.route.add")
    await submit(bolt_app, ANA, await opened_modal(bolt_app), route_values(OPS))
    [route] = [r for r in await bolt_app.runtime.routes.all() if r.channel == OPS]

    await click(bolt_app, ANA, "home.route.menu", f"edit:{route.id}")
    modal = await opened_modal(bolt_app)
    assert modal["blocks"][0]["element"]["initial_conversation"] == OPS
    await submit(bolt_app, ANA, modal, route_values(OPS, query="is:unresolved level:fatal"))
    [edited] = [r for r in await bolt_app.runtime.routes.all() if r.channel == OPS]
    assert (edited.id, edited.query, edited.watermark) == (
        route.id,
        "is:unresolved level:fatal",
        route.watermark,
    )

    await click(bolt_app, ANA, "home.route.menu", f"remove:{route.id}")
    modal = await opened_modal(bolt_app)
    assert modal["callback_id"] == "home.route.remove"
    assert await submit(bolt_app, ANA, modal, {}) == {}
    assert [r for r in await bolt_app.runtime.routes.all() if r.channel == OPS] == []
    actions = [r.action for r in await logged(bolt_app) if r.source == "home"]
    assert actions == ["route.add", "route.edit", "route.remove"]


async def test_routes_from_the_config_file_are_shown_read_only(
    bolt_app: BoltApp, sentry: FakeSentry, slack: FakeSlack
) -> None:
    people(sentry, slack)
    runtime = bolt_app.runtime
    await runtime.routes.sync_file_routes(runtime.config.routes, now=datetime.now(UTC))
    home = await open_home(bolt_app, ANA)
    text = text_of(home.view)
    assert "read-only" in text
    assert "home.route.menu" not in text


async def test_a_digest_is_added_edited_and_removed_from_the_tab(
    bolt_app: BoltApp, sentry: FakeSentry, slack: FakeSlack
) -> None:
    people(sentry, slack)
    await open_home(bolt_app, ANA)
    await click(bolt_app, ANA, "home.digest.add")
    modal = await opened_modal(bolt_app)
    suggestion = view_suggestion(
        ANA, view_id="V1", action_id="home.timezone", block_id="timezone", value="berl"
    )
    zones = json.loads((await bolt_app.interact(suggestion)).body)["options"]
    assert [z["value"] for z in zones] == ["Europe/Berlin"]

    bad = await submit(bolt_app, ANA, modal, digest_values(OPS, zone="Mars/Olympus"))
    assert list(bad["errors"]) == ["timezone"]
    assert await submit(bolt_app, ANA, modal, digest_values(OPS, zone="Europe/Berlin")) == {}
    [digest] = await bolt_app.runtime.parts.digest_store.for_channel(OPS)
    assert (digest.cron, digest.timezone) == ("0 9 * * 1-5", "Europe/Berlin")

    await click(bolt_app, ANA, "home.digest.menu", f"edit:{digest.id}")
    modal = await opened_modal(bolt_app)
    await submit(bolt_app, ANA, modal, digest_values(OPS, frequency="mon", at="08:30"))
    [edited] = await bolt_app.runtime.parts.digest_store.for_channel(OPS)
    assert edited.cron == "30 8 * * 1"

    await click(bolt_app, ANA, "home.digest.menu", f"remove:{edited.id}")
    assert await submit(bolt_app, ANA, await opened_modal(bolt_app), {}) == {}
    assert await bolt_app.runtime.parts.digest_store.for_channel(OPS) == []


async def test_someone_unmapped_cannot_open_the_route_form(
    bolt_app: BoltApp, sentry: FakeSentry, slack: FakeSlack
) -> None:
    people(sentry, slack)
    await open_home(bolt_app, ANA)
    home = slack.home_view(ANA)
    assert home is not None
    await bolt_app.interact(view_click(NOBODY, home.view, "home.route.add", view_id=home.id))
    await settle()
    modal = await opened_modal(bolt_app)
    assert "callback_id" not in modal
    assert "No member of the Sentry organization" in json.dumps(modal)


# ---- the same rules as /sentry subscribe and /sentry digest --------------------------------


async def sentry_command(app: BoltApp, user: str, text: str) -> str:
    url = app.slack.new_response_url(channel=OPS, user=user)
    body = sr.form_body(sr.slash_command(text, user_id=user, channel_id=OPS, response_url=url))
    assert (await app.send(body)).status == 200
    [reply] = await app.replies(url)
    return reply


async def test_subscribe_and_digest_commands_take_the_same_path_as_the_tab(
    bolt_app: BoltApp, sentry: FakeSentry, slack: FakeSlack
) -> None:
    people(sentry, slack)
    refused = await sentry_command(bolt_app, NOBODY, "subscribe web")
    assert "No member of the Sentry organization acme" in refused
    assert [r for r in await bolt_app.runtime.routes.all() if r.channel == OPS] == []

    await sentry_command(bolt_app, ANA, "subscribe web level:error")
    await sentry_command(bolt_app, ANA, "digest daily 08:00 Europe/Berlin")
    await sentry_command(bolt_app, ANA, "digest off")
    await sentry_command(bolt_app, ANA, "unsubscribe web")
    rows = [(r.source, r.action, r.slack_user) for r in await logged(bolt_app)]
    assert rows == [
        ("command", "route.add", ANA),
        ("command", "digest.add", ANA),
        ("command", "digest.remove", ANA),
        ("command", "route.remove", ANA),
    ]
