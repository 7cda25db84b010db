"""State in a real database through SQLAlchemy's asyncio engine: SQLite or PostgreSQL."""
