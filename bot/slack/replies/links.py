"""Links into Sentry's web UI for replies: the same search, a project, a release (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode


@dataclass(frozen=True, slots=True)
class SentryLinks:
    """Web UI addresses of one organization; `web_base` is the Sentry base URL (no slash)."""

    web_base: str
    org: str

    def _org(self, rest: str) -> str:
        return f"{self.web_base.rstrip('/')}/organizations/{quote(self.org, safe='')}/{rest}"

    def issues(self, *, query: str, sort: str, project_id: str | None = None) -> str:
        """The issue stream with the same search (Sentry's URL keeps `query`, `project`, `sort`)."""
        params = [("query", query)]
        if project_id:
            params.append(("project", project_id))
        params.append(("sort", sort))
        return self._org(f"issues/?{urlencode(params)}")

    def projects(self) -> str:
        return self._org("projects/")

    def project(self, slug: str) -> str:
        return self._org(f"projects/{quote(slug, safe='')}/")

    def releases(self, project_id: str | None = None) -> str:
        suffix = f"?{urlencode([('project', project_id)])}" if project_id else ""
        return self._org(f"releases/{suffix}")

    def release(self, version: str) -> str:
        return self._org(f"releases/{quote(version, safe='')}/")
