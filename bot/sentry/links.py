"""Which links point at an issue of this Sentry organization: one pure, total URL parser.

Forms read (Sentry's own Slack unfurler, `src/sentry/integrations/slack/unfurl/issues.py`, and
its web routes in `static/app/routes.tsx`):

- `https://<host>/organizations/<org>/issues/<id>/` (self-hosted, and SaaS on `sentry.io`,
  `us.sentry.io`, `de.sentry.io`);
- `https://<org>.sentry.io/issues/<id>/` (SaaS customer domains; also `<org>.<host>` for a
  self-hosted Sentry with customer domains);
- `<id>` is the numeric issue id or the short id (`WEB-3F`), which Sentry's issue routes accept
  as well; a trailing `/events/<event id>/`, other path tails, a query string and a fragment
  are ignored.

A link is accepted only on the configured host (and port; a link without a port is read with
either scheme when the web UI is on a default port) and only for the configured organization:
any other host, organization, scheme or id is not an issue link, and `read_issue_link` says
which (for a clear refusal). The parser never raises: it reads text from people's messages.
Shared links (unfurls) and the `/sentry` command read links with this one parser. Ids become
the types of `bot.sentry.ids`, so nothing else reaches a Sentry URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import unquote, urlsplit

from bot.sentry.ids import InvalidId, IssueId, ShortId

SAAS_DOMAIN: Final = "sentry.io"
# SaaS hosts that serve `/organizations/<org>/…` pages (docs.sentry.io: data storage location).
SAAS_HOSTS: Final = frozenset({"sentry.io", "us.sentry.io", "de.sentry.io"})
DEFAULT_PORTS: Final = {"http": 80, "https": 443}
MAX_LINK: Final = 2000

IssueRef = IssueId | ShortId


@dataclass(frozen=True, slots=True)
class SentryWeb:
    """Where this organization's issue pages live: the configured Sentry host, its port, the
    path it is served under, and the organization slug."""

    host: str
    port: int
    path: str
    org: str

    @classmethod
    def from_base_url(cls, base_url: str, org: str) -> SentryWeb:
        """From the checked `SENTRY_HOST` base URL (`https://sentry.example.com[:port][/path]`)
        and `SENTRY_ORG`; a SaaS API host (`us.sentry.io`) means the SaaS web UI."""
        parts = urlsplit(base_url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port or DEFAULT_PORTS.get(scheme, 443)
        return cls(host=host, port=port, path=parts.path.rstrip("/"), org=org.lower())

    @property
    def saas(self) -> bool:
        return self.host == SAAS_DOMAIN or self.host.endswith("." + SAAS_DOMAIN)

    @property
    def shown(self) -> str:
        """The web UI's address as people write it: `sentry.example.com:9000/sentry`."""
        port = "" if self.port in DEFAULT_PORTS.values() else f":{self.port}"
        return f"{self.host}{port}{self.path}"

    @property
    def domain(self) -> str:
        """The domain Slack must be told to unfurl (manifest `unfurl_domains`)."""
        return SAAS_DOMAIN if self.saas else self.host

    def org_host(self) -> str:
        return f"{self.org}.{self.domain}"

    def path_hosts(self) -> frozenset[str]:
        """Hosts serving `/organizations/<org>/issues/…`."""
        if self.saas:
            return SAAS_HOSTS | {self.org_host()}
        return frozenset({self.host, self.org_host()})


def _issue_ref(segment: str) -> IssueRef | None:
    if segment.isascii() and segment.isdigit():
        return IssueId.parse(segment)
    try:
        return ShortId(segment)
    except InvalidId:
        return None


@dataclass(frozen=True, slots=True)
class NotAnIssueLink:
    """Why a link names no issue of this organization: `malformed` (not an http(s) URL one can
    read), `elsewhere` (another host, port or path: not this Sentry), `other_org` (this Sentry,
    another organization, named in `org`) or `not_an_issue` (this organization, another page)."""

    reason: Literal["malformed", "elsewhere", "other_org", "not_an_issue"]
    org: str = ""


def _port_matches(port: int | None, web: SentryWeb) -> bool:
    """An explicit port must be the web UI's; a link without one names the web UI when it is
    served on a default port, whichever the scheme (Slack turns a typed `acme.sentry.io/…`
    into an `http://` link, and Sentry redirects http to https)."""
    if port is not None:
        return port == web.port
    return web.port in DEFAULT_PORTS.values()


def read_issue_link(url: object, web: SentryWeb) -> IssueRef | NotAnIssueLink:
    """The issue a link names, when it is an issue page of this Sentry organization; else why
    not. Total: any input, however malformed, gives an `IssueId`, a `ShortId` or a reason."""
    malformed = NotAnIssueLink("malformed")
    if not isinstance(url, str) or len(url) > MAX_LINK or not url.isprintable():
        return malformed
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return malformed
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or parts.username is not None or parts.password is not None:
        return malformed
    host = (parts.hostname or "").lower()
    if host.endswith("."):
        host = host[:-1]
    if not host:
        return malformed
    elsewhere = NotAnIssueLink("elsewhere")
    if not _port_matches(port, web):
        return elsewhere
    path = parts.path
    if web.path:
        if not path.startswith(web.path + "/"):
            return elsewhere
        path = path[len(web.path) :]
    segments = path.split("/")[1:]
    not_an_issue = NotAnIssueLink("not_an_issue")
    if any(unquote(segment) in (".", "..") for segment in segments):
        return not_an_issue  # a browser resolves dot segments: the page would be another one
    if host in web.path_hosts() and segments[:1] == ["organizations"]:
        if segments[1:2] != [web.org]:
            return (
                NotAnIssueLink("other_org", unquote(segments[1])[:60])
                if segments[1:2]
                else not_an_issue
            )
        if segments[2:3] != ["issues"]:
            return not_an_issue
        candidate = segments[3:4]
    elif host == web.org_host():
        if segments[:1] != ["issues"]:
            return not_an_issue
        candidate = segments[1:2]
    elif host in web.path_hosts():
        return not_an_issue
    else:
        label, _, domain = host.partition(".")
        if domain == web.domain and label and (not web.saas or host not in SAAS_HOSTS):
            return NotAnIssueLink("other_org", label)  # another organization's own domain
        return elsewhere
    ref = _issue_ref(candidate[0]) if candidate and candidate[0] else None
    return not_an_issue if ref is None else ref


def parse_issue_link(url: object, web: SentryWeb) -> IssueRef | None:
    """The issue a link names, when it is an issue page of this Sentry organization; else None.

    Total: any input, however malformed, gives an `IssueId`, a `ShortId` or None.
    """
    found = read_issue_link(url, web)
    return None if isinstance(found, NotAnIssueLink) else found
