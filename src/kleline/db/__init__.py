"""Database ground: the engine, raw transactions for hot paths, and migrations."""
