"""Slack surface: pure Block Kit builders, mrkdwn safety and the action-value contract."""
