"""The app's Home tab: each person's Sentry issues, and the routes and digests they manage."""
