"""Replies of `/sentry projects`, `project`, `releases`, `release` and `release create` (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bot.sentry.models import Project, Release
from bot.slack.card import slack_date
from bot.slack.escape import link, mrkdwn, one_line
from bot.slack.replies.common import (
    JSON,
    context,
    fields_section,
    finish,
    line_sections,
    section,
)
from bot.slack.replies.links import SentryLinks
from bot.slack.reply_actions import QueryRef

PROJECTS_SHOWN: Final = 60
RELEASES_SHOWN: Final = 25
NAME_MAX: Final = 100
VERSION_MAX: Final = 200


@dataclass(frozen=True, slots=True)
class ProjectSummary:
    """A project with its issue counts (None: Sentry did not say)."""

    project: Project
    unresolved: int | None = None
    unresolved_24h: int | None = None


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _teams(project: Project) -> str:
    teams = [f"#{mrkdwn(one_line(t.slug), NAME_MAX)}" for t in project.teams if t.slug]
    return ", ".join(teams) if teams else "no team"


def _version(version: str, links: SentryLinks) -> str:
    label = one_line(version) or "?"
    return link(links.release(version), label, limit=900, label_limit=VERSION_MAX)


def _project_line(summary: ProjectSummary, links: SentryLinks) -> str:
    project = summary.project
    name = link(links.project(project.slug), project.slug, limit=600, label_limit=NAME_MAX)
    parts = [
        f"*{name}*",
        mrkdwn(one_line(project.platform or "no platform"), 50),
        _teams(project),
        f"{_count(summary.unresolved)} unresolved",
    ]
    if project.latest_release:
        parts.append(f"latest release {_version(project.latest_release, links)}")
    return "• " + " · ".join(parts)


def build_project_list(
    summaries: Sequence[ProjectSummary],
    *,
    links: SentryLinks,
    share: QueryRef | None = None,
    shared_by: str | None = None,
) -> JSON:
    shown = summaries[:PROJECTS_SHOWN]
    org = mrkdwn(links.org, NAME_MAX)
    lines = [f":card_index_dividers: *Projects of {org}* ({len(summaries):,})"]
    lines += [_project_line(summary, links) for summary in shown]
    if not summaries:
        lines.append("No projects are visible to the bot.")
    blocks = line_sections(lines)
    if len(summaries) > len(shown):
        more = len(summaries) - len(shown)
        every = link(links.projects(), "all projects in Sentry")
        blocks.append(context(f"And {more:,} more: {every}"))
    text = f"{len(summaries):,} projects in {mrkdwn(links.org, NAME_MAX)}"
    return finish(text, blocks, share=share, open_url=links.projects(), shared_by=shared_by)


def build_project_detail(
    summary: ProjectSummary,
    *,
    links: SentryLinks,
    share: QueryRef | None = None,
    shared_by: str | None = None,
) -> JSON:
    project = summary.project
    slug = mrkdwn(one_line(project.slug), NAME_MAX)
    name = mrkdwn(one_line(project.name), NAME_MAX)
    latest = _version(project.latest_release, links) if project.latest_release else "none yet"
    blocks = [
        section(f":card_index_dividers: *{link(links.project(project.slug), project.slug)}*"),
        fields_section(
            [
                ("Name", name),
                ("Platform", mrkdwn(one_line(project.platform or "not set"), 50)),
                ("Teams", _teams(project)),
                ("Latest release", latest),
                ("Unresolved issues", _count(summary.unresolved)),
                ("Unresolved, seen in 24h", _count(summary.unresolved_24h)),
            ]
        ),
    ]
    return finish(
        f"Project {slug}",
        blocks,
        share=share,
        open_url=links.project(project.slug),
        shared_by=shared_by,
    )


def _release_line(release: Release, links: SentryLinks) -> str:
    when = release.date_released or release.date_created
    parts = [
        f"*{_version(release.version, links)}*",
        slack_date(when) if when else "no date",
        f"{release.new_groups:,} new issues",
        ", ".join(mrkdwn(one_line(p), NAME_MAX) for p in release.projects) or "no project",
        f"{release.commit_count:,} commits",
    ]
    return "• " + " · ".join(parts)


def build_release_list(
    releases: Sequence[Release],
    *,
    project: str | None,
    has_more: bool,
    links: SentryLinks,
    releases_url: str,
    share: QueryRef | None = None,
    shared_by: str | None = None,
) -> JSON:
    where = f" of {mrkdwn(project, NAME_MAX)}" if project else ""
    shown = releases[:RELEASES_SHOWN]
    lines = [f":package: *Recent releases{where}*"]
    lines += [_release_line(release, links) for release in shown]
    if not releases:
        lines.append("No releases yet.")
    blocks = line_sections(lines)
    if has_more or len(releases) > len(shown):
        blocks.append(context(f"And more: {link(releases_url, 'all releases in Sentry')}"))
    text = f"Recent releases{where}: {len(shown)} shown"
    return finish(text, blocks, share=share, open_url=releases_url, shared_by=shared_by)


def release_fields(release: Release) -> list[tuple[str, str]]:
    created = slack_date(release.date_created) if release.date_created else "unknown"
    released = slack_date(release.date_released) if release.date_released else "not yet"
    projects = ", ".join(mrkdwn(one_line(p), NAME_MAX) for p in release.projects)
    return [
        ("Version", mrkdwn(one_line(release.version), VERSION_MAX)),
        ("Created", created),
        ("Released", released),
        ("New issues", f"{release.new_groups:,}"),
        ("Projects", projects or "none"),
        ("Commits", f"{release.commit_count:,}"),
    ]


def build_release_detail(
    release: Release,
    *,
    links: SentryLinks,
    share: QueryRef | None = None,
    shared_by: str | None = None,
) -> JSON:
    version = mrkdwn(one_line(release.version), VERSION_MAX)
    blocks = [
        section(f":package: *Release {_version(release.version, links)}*"),
        fields_section(release_fields(release)),
    ]
    return finish(
        f"Release {version}",
        blocks,
        share=share,
        open_url=links.release(release.version),
        shared_by=shared_by,
    )


def build_release_created(release: Release, *, created: bool, links: SentryLinks) -> JSON:
    version = mrkdwn(one_line(release.version), VERSION_MAX)
    heading = (
        f":rocket: *Created release {_version(release.version, links)}*"
        if created
        else f":information_source: Release {_version(release.version, links)} already existed; "
        "Sentry kept it and added what was new"
    )
    blocks = [section(heading), fields_section(release_fields(release))]
    text = f"{'Created' if created else 'Existing'} release {version}"
    return finish(text, blocks, open_url=links.release(release.version))
