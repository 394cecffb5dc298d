"""Alembic environment: the engine comes from the caller (omnikanal.db.migrate)."""

from __future__ import annotations

from alembic import context

from omnikanal.db.migrate import schema_filter
from omnikanal.tables import metadata

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=schema_filter(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
