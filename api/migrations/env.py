"""Alembic environment: one synchronous connection from the URL `api.core.migrate` passes in.

On Postgres an advisory lock serialises concurrent upgrades (several replicas starting at once);
on SQLite, batch mode lets later migrations alter tables SQLite cannot ALTER in place.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

engine = create_engine(context.config.attributes["sqlalchemy_url"], poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('cmo-agent migrations'))"))
        context.run_migrations()
engine.dispose()
