"""Prometheus metrics of the process, in one registry owned by the composition root."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """Every metric the bot exports; passed explicitly to whoever records."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.polls = Counter(
            "sentry_slack_polls", "Poll cycles by outcome", ["outcome"], registry=self.registry
        )
        self.poll_seconds = Histogram(
            "sentry_slack_poll_seconds", "Wall time of one poll cycle", registry=self.registry
        )
        self.sentry_requests = Counter(
            "sentry_slack_sentry_requests",
            "Sentry API requests by outcome (HTTP status class or error)",
            ["outcome"],
            registry=self.registry,
        )
        self.sentry_seconds = Histogram(
            "sentry_slack_sentry_request_seconds", "Sentry API latency", registry=self.registry
        )
        self.slack_calls = Counter(
            "sentry_slack_slack_calls",
            "Slack Web API calls by method and outcome",
            ["method", "outcome"],
            registry=self.registry,
        )
        self.slack_seconds = Histogram(
            "sentry_slack_slack_call_seconds",
            "Slack Web API latency by method (including retries)",
            ["method"],
            registry=self.registry,
        )
        self.cards_posted = Counter(
            "sentry_slack_cards_posted",
            "Messages posted for new issues, by kind (card, summary, reply)",
            ["kind"],
            registry=self.registry,
        )
        self.cards_owed = Gauge(
            "sentry_slack_cards_owed", "Issues waiting to be posted", registry=self.registry
        )
        self.channel_rate_limited = Gauge(
            "sentry_slack_channel_rate_limited_until_seconds",
            "Unix time until which Slack rate-limits posts to a channel (absent when not)",
            ["channel"],
            registry=self.registry,
        )
        self.posts_unsettled = Gauge(
            "sentry_slack_posts_unsettled",
            "Posts whose outcome could not be settled from the channel after repeated "
            "attempts, by kind (card, reply, digest)",
            ["kind"],
            registry=self.registry,
        )
        self.actions = Counter(
            "sentry_slack_actions",
            "Triage actions by kind and result",
            ["kind", "result"],
            registry=self.registry,
        )
        self.sentry_skipped = Counter(
            "sentry_slack_sentry_items_skipped",
            "Objects in Sentry answers the bot could not read and left out",
            registry=self.registry,
        )
        self.sentry_deadline_hits = Counter(
            "sentry_slack_sentry_deadline_hits",
            "Sentry requests given up because the whole answer took longer than its deadline",
            registry=self.registry,
        )
        self.sentry_too_large = Counter(
            "sentry_slack_sentry_too_large",
            "Sentry answers refused because they were larger than the bot reads",
            registry=self.registry,
        )
        self.sentry_last_deadline_hit = Gauge(
            "sentry_slack_sentry_last_deadline_hit_timestamp_seconds",
            "When a Sentry request last hit its deadline (Unix time; 0 if never)",
            registry=self.registry,
        )
        self.leader = Gauge(
            "sentry_slack_poll_leader",
            "1 while this replica holds the poll lease",
            registry=self.registry,
        )
        self.comments = Counter(
            "sentry_slack_comments",
            "Comments between Slack and Sentry by outcome (noted, duplicate, failed, relayed…)",
            ["outcome"],
            registry=self.registry,
        )
        self.ready = Gauge("sentry_slack_ready", "1 once the app is ready", registry=self.registry)
        self.webhooks_received = Counter(
            "sentry_slack_webhooks_received",
            "Sentry webhook deliveries received (before any check)",
            registry=self.registry,
        )
        self.webhooks_refused = Counter(
            "sentry_slack_webhooks_refused",
            "Sentry webhook deliveries refused, by reason (signature, stale, malformed, full…)",
            ["reason"],
            registry=self.registry,
        )
        self.webhooks_queued = Counter(
            "sentry_slack_webhooks_queued",
            "Sentry webhook deliveries accepted into the queue, by resource",
            ["resource"],
            registry=self.registry,
        )
        self.webhooks_pending = Gauge(
            "sentry_slack_webhooks_pending",
            "Accepted Sentry webhook deliveries not yet acted on",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
