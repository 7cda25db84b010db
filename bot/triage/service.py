"""Applying a triage action for a Slack user: identity, permission, Sentry, cards, log.

The same path serves the card's controls and `/sentry` commands (deleting an issue too, which
needs a Sentry admin, manager or owner). Each attempt is
written to the action log (allowed or refused); a Slack interaction seen twice
(a retried delivery) is applied once; after Sentry accepts a change, every card
of the issue is re-read and re-rendered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.metrics import Metrics
from bot.sentry.client import SentryClient
from bot.sentry.errors import SentryBadRequest, SentryError
from bot.sentry.ids import IssueId
from bot.sentry.models import Issue
from bot.store.actions import ActionLog
from bot.triage.directory import MemberDirectory
from bot.triage.identity import Identity, IdentityResolver, Need, Refusal
from bot.triage.vocabulary import (
    KIND_DELETE,
    Assign,
    LastAction,
    Resolve,
    TriageAction,
    kind,
    kind_arg,
    sentry_body,
    words,
)

logger = logging.getLogger(__name__)

NO_RELEASE = (
    "This project has no releases in Sentry yet, so it cannot be resolved {when}. "
    "Resolve it now instead, or create a release first (/sentry release create <version>)."
)


class ActivityNoter(Protocol):
    """Leaves a comment on issues in Sentry naming who acted (`bot.conversation.notes`),
    without making the caller wait."""

    def note(self, *, issue_ids: Sequence[str], verb: str, name: str, email: str) -> None: ...


class CardRefresher(Protocol):
    """Re-reads an issue and re-renders each of its cards (`bot.card.redraw.CardUpdater`)."""

    async def refresh_issue(
        self, issue_id: str, *, last_action: LastAction | None = None
    ) -> Issue | None: ...


@dataclass
class TriageResult:
    """What happened: issues changed (as Sentry now reports them), failures with reasons."""

    changed: list[Issue] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    refused: str | None = None
    duplicate: bool = False
    operation: TriageAction | None = None
    last_action: LastAction | None = None
    """The action as cards show it ("Resolved by …"), once Sentry was asked."""


def explain(error: SentryError, operation: TriageAction) -> str:
    """A short sentence for the person who clicked; release resolutions get their reason."""
    if (
        isinstance(error, SentryBadRequest)
        and isinstance(operation, Resolve)
        and operation.when != "now"
        and "statusDetails" in error.field_errors
    ):
        when = (
            "in the next release" if operation.when == "next_release" else "in the current release"
        )
        return NO_RELEASE.format(when=when)
    return str(error)


class TriageService:
    def __init__(
        self,
        *,
        sentry: SentryClient,
        identities: IdentityResolver,
        directory: MemberDirectory,
        updater: CardRefresher,
        log: ActionLog,
        metrics: Metrics,
        clock: Callable[[], datetime],
        notes: ActivityNoter | None = None,
    ) -> None:
        self._sentry = sentry
        self._notes = notes
        self.identities = identities
        self.directory = directory
        self._updater = updater
        self._log = log
        self._metrics = metrics
        self._clock = clock

    async def identify(
        self, *, slack_user: str, slack_team: str, need: Need = "triage"
    ) -> Identity | Refusal:
        try:
            return await self.identities.resolve(
                slack_user=slack_user, slack_team=slack_team, need=need
            )
        except SentryError as exc:
            return Refusal(f"Could not check your Sentry membership: {exc}")

    async def apply(
        self,
        *,
        slack_user: str,
        slack_team: str,
        issue_ids: Sequence[IssueId],
        operation: Callable[[Identity], TriageAction],
        source: str,
        request_key: str | None = None,
    ) -> TriageResult:
        """Apply one operation to one or several issues for this Slack user.

        The ids are `IssueId`s, parsed where they entered (a card value, dialog metadata, a
        Sentry answer), so none can turn `PUT …/issues/{id}/` into another endpoint.
        """
        now = self._clock()
        if request_key is not None and not await self._log.claim(
            request_key, at=now, slack_user=slack_user, action="pending"
        ):
            logger.info("ignored a repeated delivery of interaction %s", request_key)
            return TriageResult(duplicate=True)
        who = await self.identify(slack_user=slack_user, slack_team=slack_team)
        if isinstance(who, Refusal):
            self._metrics.actions.labels("any", "refused").inc()
            await self._log.record(
                at=now,
                source=source,
                slack_user=slack_user,
                slack_team=slack_team,
                sentry_user=None,
                issue_ids=issue_ids,
                action="refused",
                arg="",
                result="refused",
                detail=who.reason,
                request_key=request_key,
            )
            return TriageResult(refused=who.reason)

        op = operation(who)
        result = TriageResult(operation=op)
        changes = sentry_body(op)
        succeeded: list[str] = []
        if len(issue_ids) == 1:
            try:
                await self._sentry.update_issue(IssueId(issue_ids[0]), changes)
                succeeded.append(issue_ids[0])
            except SentryError as exc:
                result.failed[issue_ids[0]] = explain(exc, op)
        else:
            try:
                await self._sentry.bulk_update([IssueId(i) for i in issue_ids], changes)
                succeeded.extend(issue_ids)
            except SentryError as exc:
                result.failed.update((i, explain(exc, op)) for i in issue_ids)

        label = ""
        if isinstance(op, Assign) and op.actor:
            try:
                label = await self.directory.label(op.actor)
            except SentryError:
                label = ""
        last = LastAction(slack_user_id=slack_user, verb=words(op, assignee_label=label), at=now)
        result.last_action = last
        if succeeded and self._notes is not None:
            self._notes.note(
                issue_ids=succeeded,
                verb=last.verb,
                name=who.member.name,
                email=who.member.email or who.email,
            )
        for issue_id in succeeded:
            try:
                issue = await self._updater.refresh_issue(issue_id, last_action=last)
            except SentryError as exc:
                logger.warning("issue %s changed but could not be re-read: %s", issue_id, exc)
                continue
            if issue is not None:
                result.changed.append(issue)

        outcome = "ok" if not result.failed else ("partial" if succeeded else "failed")
        self._metrics.actions.labels(kind(op), outcome).inc()
        await self._log.record(
            at=now,
            source=source,
            slack_user=slack_user,
            slack_team=slack_team,
            sentry_user=who.sentry_user_id,
            issue_ids=issue_ids,
            action=kind(op),
            arg=kind_arg(op),
            result=outcome,
            detail="; ".join(f"{i}: {m}" for i, m in result.failed.items()),
            request_key=request_key,
        )
        return result

    async def delete(
        self,
        *,
        slack_user: str,
        slack_team: str,
        issue_id: IssueId,
        source: str,
        request_key: str | None = None,
    ) -> TriageResult:
        """Delete one issue for this Slack user (Sentry admins, managers and owners only).

        Sentry answers 202 and deletes in the background; the issue answers 404 from then on,
        so its cards are left as they are.
        """
        now = self._clock()
        if request_key is not None and not await self._log.claim(
            request_key, at=now, slack_user=slack_user, action="pending"
        ):
            logger.info("ignored a repeated delivery of interaction %s", request_key)
            return TriageResult(duplicate=True)
        who = await self.identify(slack_user=slack_user, slack_team=slack_team, need="admin")
        result = TriageResult()
        if isinstance(who, Refusal):
            result.refused = who.reason
            outcome = "refused"
        else:
            try:
                await self._sentry.delete_issue(IssueId(issue_id))
                outcome = "ok"
            except SentryError as exc:
                result.failed[issue_id] = str(exc)
                outcome = "failed"
        self._metrics.actions.labels(KIND_DELETE, outcome).inc()
        await self._log.record(
            at=now,
            source=source,
            slack_user=slack_user,
            slack_team=slack_team,
            sentry_user=None if isinstance(who, Refusal) else who.sentry_user_id,
            issue_ids=[issue_id],
            action="refused" if isinstance(who, Refusal) else KIND_DELETE,
            arg="",
            result=outcome,
            detail=result.refused or "; ".join(result.failed.values()),
            request_key=request_key,
        )
        return result
