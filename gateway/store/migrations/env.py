"""Alembic runs migrations on the connection the store hands it (see gateway/store/db.py)."""

from alembic import context

from gateway.store.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
