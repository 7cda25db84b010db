"""The manifest asks Slack for what unfurling Sentry links needs, for the default Sentry host,
and the README says what a self-hosted Sentry changes."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.sentry.links import SentryWeb
from bot.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_manifest_subscribes_to_link_shared_with_the_link_scopes() -> None:
    manifest = yaml.safe_load((ROOT / "slack_manifest.yml").read_text())
    assert "link_shared" in manifest["settings"]["event_subscriptions"]["bot_events"]
    assert {"links:read", "links:write"} <= set(manifest["oauth_config"]["scopes"]["bot"])


def test_the_unfurl_domain_is_the_default_sentry_hosts(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "SENTRY_TOKEN": "sntrys_x",
            "SENTRY_ORG": "acme",
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_APP_TOKEN": "xapp-1",
        },
        cwd=tmp_path,
    )
    web = SentryWeb.from_base_url(settings.sentry_base_url, settings.sentry_org)
    manifest = yaml.safe_load((ROOT / "slack_manifest.yml").read_text())
    assert manifest["features"]["unfurl_domains"] == [web.domain]


def test_readme_says_what_self_hosted_sentry_and_existing_installations_change() -> None:
    section = (ROOT / "README.md").read_text().split("## Sentry links in Slack", 1)[1]
    section = section.split("\n## ", 1)[0]
    assert "features.unfurl_domains" in section
    assert "reinstalled" in section
    assert "links:write" in section
