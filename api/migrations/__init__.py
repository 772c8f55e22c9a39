"""Alembic migrations of the service database, run programmatically by `cmo db upgrade`."""
