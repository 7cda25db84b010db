"""`/sentry resolve`, `unresolve`, `ignore`, `assign` and `delete`.

Everything goes through `TriageService`, like the card's buttons: the same identity and
permission rules, the same Sentry requests (one issue: `PUT …/issues/{id}/`; several: one bulk
`PUT …/issues/?id=…`), the same card updates and action log. Release-based resolutions are sent
per project, because Sentry refuses them across projects in one bulk request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.commands.context import CommandFailure, Invocation, Reply, Services
from bot.commands.lookup import find_issue, find_issues
from bot.commands.model import (
    AssignCommand,
    AssigneeRef,
    DeleteCommand,
    IgnoreCommand,
    IssueRef,
    ResolveCommand,
    UnresolveCommand,
)
from bot.sentry.errors import SentryError
from bot.sentry.ids import IssueId
from bot.sentry.models import Issue
from bot.slack.dialogs import DeleteRequest
from bot.slack.replies.common import notice
from bot.slack.replies.triage import (
    NotChanged,
    build_delete_modal,
    build_delete_started,
    build_triage_reply,
)
from bot.triage.identity import Identity, Refusal, SlackProfileError
from bot.triage.vocabulary import Assign, TriageAction, Unresolve, words

OperationFor = Callable[[Identity], TriageAction]


async def _refusal(invocation: Invocation, services: Services) -> Refusal | None:
    who = await services.triage.identify(
        slack_user=invocation.user_id, slack_team=invocation.team_id
    )
    return who if isinstance(who, Refusal) else None


def _by_project(issues: Sequence[Issue]) -> list[list[Issue]]:
    groups: dict[str, list[Issue]] = {}
    for issue in issues:
        groups.setdefault(issue.project.slug, []).append(issue)
    return list(groups.values())


async def _apply(
    invocation: Invocation,
    services: Services,
    refs: Sequence[IssueRef],
    operation: OperationFor,
    *,
    per_project: bool = False,
) -> Reply:
    refused = await _refusal(invocation, services)
    if refused is not None:
        return Reply(notice(refused.reason))
    issues, not_changed = await find_issues(services, refs)
    changed: list[Issue] = []
    applied: TriageAction | None = None
    for group in _by_project(issues) if per_project else [issues] if issues else []:
        result = await services.triage.apply(
            slack_user=invocation.user_id,
            slack_team=invocation.team_id,
            issue_ids=[IssueId(issue.id) for issue in group],
            operation=operation,
            source="command",
        )
        if result.refused:
            return Reply(notice(result.refused))
        applied = result.operation or applied
        changed += result.changed
        names: dict[str, str] = {issue.id: issue.short_id or issue.id for issue in group}
        not_changed += [NotChanged(names.get(i, i), why) for i, why in result.failed.items()]
    words = await _verb(services, applied) if applied else "Changed"
    return Reply(build_triage_reply(words, changed, not_changed))


async def _verb(services: Services, operation: TriageAction) -> str:
    label = ""
    if isinstance(operation, Assign) and operation.actor:
        try:
            label = await services.triage.directory.label(operation.actor)
        except SentryError:
            label = ""
    return words(operation, assignee_label=label)


async def resolve(command: ResolveCommand, invocation: Invocation, services: Services) -> Reply:
    operation = command.resolution
    # Sentry refuses a release-based resolution across projects in one bulk request.
    return await _apply(
        invocation,
        services,
        command.issues,
        lambda _who: operation,
        per_project=operation.when != "now",
    )


async def unresolve(command: UnresolveCommand, invocation: Invocation, services: Services) -> Reply:
    return await _apply(invocation, services, command.issues, lambda _who: Unresolve())


async def ignore(command: IgnoreCommand, invocation: Invocation, services: Services) -> Reply:
    operation = command.condition
    return await _apply(invocation, services, command.issues, lambda _who: operation)


async def _assignee(assignee: AssigneeRef, services: Services) -> OperationFor:
    """The `assignedTo` the person means, found in Sentry before anything changes."""
    directory = services.triage.directory
    match assignee.kind:
        case "me":
            return lambda who: Assign(who.actor)
        case "nobody":
            return lambda _who: Assign("")
        case "team":
            team = await directory.team_by_slug(assignee.value)
            if team is None:
                slugs = ", ".join(f"#{slug}" for slug in sorted(await directory.team_slugs())[:10])
                raise CommandFailure(
                    f"No team #{assignee.value} in {services.sentry.org}"
                    + (f"; its teams are {slugs}." if slugs else ".")
                )
            return lambda _who: Assign(f"team:{team.id}")
        case "slack_user":
            try:
                email = await services.triage.identities.email_of(assignee.value)
            except SlackProfileError as exc:
                raise CommandFailure(
                    f"Could not read that person's Slack profile ({exc.error})."
                ) from exc
            if not email:
                raise CommandFailure(
                    "That person's Slack profile shows no e-mail address to the bot, so they "
                    "cannot be found in Sentry. Assign by e-mail instead."
                )
            where = f"{email} (from their Slack profile)"
        case _:
            email, where = assignee.value, assignee.value
    member = await directory.member_by_email(email)
    if member is None or member.user_id is None:
        raise CommandFailure(
            f"No member of the Sentry organization {services.sentry.org} has the e-mail {where}."
        )
    actor = f"user:{member.user_id}"
    return lambda _who: Assign(actor)


async def assign(command: AssignCommand, invocation: Invocation, services: Services) -> Reply:
    refused = await _refusal(invocation, services)
    if refused is not None:
        return Reply(notice(refused.reason))
    operation = await _assignee(command.assignee, services)
    return await _apply(invocation, services, (command.issue,), operation)


async def delete(command: DeleteCommand, invocation: Invocation, services: Services) -> Reply:
    """Check the role, then ask for confirmation in a dialog naming the issue."""
    who = await services.triage.identify(
        slack_user=invocation.user_id, slack_team=invocation.team_id, need="admin"
    )
    if isinstance(who, Refusal):
        return Reply(notice(who.reason))
    found = await find_issue(services, command.issue)
    if not invocation.trigger_id:
        raise CommandFailure("Deleting needs a confirmation dialog; run /sentry delete again.")
    return Reply(modal=build_delete_modal(found, invocation.channel_id))


async def confirm_delete(
    request: DeleteRequest, *, user_id: str, team_id: str, request_key: str, services: Services
) -> Reply | None:
    """The dialog was submitted: delete (permission checked again) and say what happened."""
    result = await services.triage.delete(
        slack_user=user_id,
        slack_team=team_id,
        issue_id=request.issue_id,
        source="command",
        request_key=request_key,
    )
    if result.duplicate:
        return None
    if result.refused:
        return Reply(notice(result.refused))
    if result.failed:
        label = request.short_id or request.issue_id
        return Reply(notice(f"{label} was not deleted: {result.failed[request.issue_id]}"))
    return Reply(build_delete_started(request))
