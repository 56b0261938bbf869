"""PostgreSQL plumbing: the table definitions, the engine factory and the Alembic migrations."""
