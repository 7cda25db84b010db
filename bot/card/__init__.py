"""The alert card: what a channel is owed about an issue, what its card shows, and redrawing it."""
