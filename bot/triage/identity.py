"""Who is clicking: a Slack user mapped to a Sentry member by e-mail, and what they may do.

Only mapped members may triage; deleting issues and creating releases need a Sentry admin,
manager or owner (README: Triage from the card); users of another Slack team (shared channels)
may not act. Slack profiles are read with `users.info` (scopes `users:read` +
`users:read.email`) through a `SlackDirectory` (`bot.slack.profiles`) and cached with an
expiry, like the members.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.sentry.models import Member
from bot.triage.directory import MemberDirectory

# Sentry organization roles (docs.sentry.io/organization/membership/): billing cannot triage.
TRIAGE_ROLES = frozenset({"member", "admin", "manager", "owner"})
ADMIN_ROLES = frozenset({"admin", "manager", "owner"})

# "view": see an issue's details (an unfurled link): any mapped member of this workspace who is
# not a guest, whatever their Sentry role.
Need = Literal["triage", "admin", "view"]


@dataclass(frozen=True, slots=True)
class Identity:
    slack_user: str
    slack_team: str
    email: str
    member: Member

    @property
    def sentry_user_id(self) -> str:
        assert self.member.user_id is not None
        return self.member.user_id

    @property
    def actor(self) -> str:
        return f"user:{self.sentry_user_id}"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why someone may not act, worded for them (an ephemeral message)."""

    reason: str


@dataclass(frozen=True, slots=True)
class SlackProfile:
    email: str | None
    team: str
    is_bot: bool
    deleted: bool
    guest: bool = False
    """A multi- or single-channel guest (Slack docs: users.info, `is_restricted`,
    `is_ultra_restricted`)."""


class SlackProfileError(Exception):
    """Slack would not show someone's profile; `error` is Slack's error string."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class SlackDirectory(Protocol):
    """Who a Slack member is, and which workspace the bot is installed in."""

    async def home_team(self) -> str: ...

    async def profile(self, slack_user: str) -> SlackProfile:
        """The member's profile; `SlackProfileError` when Slack refuses to show it."""
        ...


class IdentityResolver:
    def __init__(
        self,
        *,
        slack: SlackDirectory,
        directory: MemberDirectory,
        org: str,
        ttl_seconds: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._slack = slack
        self._directory = directory
        self._org = org
        self._ttl = ttl_seconds
        self._clock = clock
        self._profiles: dict[str, tuple[float, SlackProfile]] = {}
        self._home_team: str | None = None

    async def home_team(self) -> str:
        if self._home_team is None:
            self._home_team = await self._slack.home_team()
        return self._home_team

    async def _profile(self, slack_user: str) -> SlackProfile:
        cached = self._profiles.get(slack_user)
        if cached and self._clock() - cached[0] < self._ttl:
            return cached[1]
        profile = await self._slack.profile(slack_user)
        self._profiles[slack_user] = (self._clock(), profile)
        return profile

    async def email_of(self, slack_user: str) -> str | None:
        """The e-mail on someone's Slack profile (cached), to find them in Sentry as an assignee;
        None for bots, deactivated accounts and profiles that show no e-mail;
        `SlackProfileError` when Slack does not show the profile."""
        profile = await self._profile(slack_user)
        if profile.is_bot or profile.deleted:
            return None
        return profile.email

    async def is_guest(self, slack_user: str) -> bool:
        """A multi- or single-channel guest of the workspace (the cached profile)."""
        return (await self._profile(slack_user)).guest

    async def resolve(
        self, *, slack_user: str, slack_team: str, need: Need = "triage"
    ) -> Identity | Refusal:
        """The Sentry identity behind a Slack user, or a refusal saying why and what to do."""
        home = await self.home_team()
        if slack_team and home and slack_team != home:
            return Refusal(
                "Only members of this workspace can triage Sentry issues from here; "
                "people from other organizations in a shared channel cannot."
            )
        try:
            profile = await self._profile(slack_user)
        except SlackProfileError as exc:
            return Refusal(f"Could not read your Slack profile ({exc.error}); please try again.")
        if profile.team and home and profile.team != home:
            return Refusal(
                "Only members of this workspace can triage Sentry issues from here; "
                "people from other organizations in a shared channel cannot."
            )
        if profile.is_bot or profile.deleted:
            return Refusal("Bots and deactivated accounts cannot triage Sentry issues.")
        if not profile.email:
            return Refusal(
                "Your Slack profile shows no e-mail address to the bot, so it cannot find you "
                "in Sentry. Ask a Slack admin to check the app's users:read.email scope."
            )
        member = await self._directory.member_by_email(profile.email)
        if member is None:
            return Refusal(
                f"No member of the Sentry organization {self._org} has the e-mail "
                f"{profile.email}. Ask a Sentry owner to invite that address, or add it "
                "to your Sentry account's e-mails."
            )
        if need == "view":
            if profile.guest:
                return Refusal("Guests of this workspace cannot see Sentry issue details here.")
            return Identity(
                slack_user=slack_user, slack_team=slack_team, email=profile.email, member=member
            )
        allowed = ADMIN_ROLES if need == "admin" else TRIAGE_ROLES
        if member.role not in allowed:
            what = "delete issues or create releases" if need == "admin" else "triage issues"
            needed = "an admin, manager or owner" if need == "admin" else "a member"
            return Refusal(
                f"Your Sentry role ({member.role}) cannot {what}; that needs {needed} "
                f"of {self._org}."
            )
        return Identity(
            slack_user=slack_user, slack_team=slack_team, email=profile.email, member=member
        )
