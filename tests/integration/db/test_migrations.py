"""An empty database upgraded to head matches the tables the code declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from omnikanal.db.engine import make_engine
from omnikanal.db.migrate import current_revision, schema_filter, upgrade
from omnikanal.settings import Settings
from omnikanal.tables import metadata


def test_upgrading_an_empty_database_gives_exactly_the_declared_schema(database_url: str) -> None:
    # database_url is migrated already (the fixtures do it); run upgrade again to prove it is idempotent
    engine = make_engine(Settings(), database_url)
    upgrade(engine)
    assert current_revision(engine) is not None
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": schema_filter(conn.dialect.name)}
        )
        differences = compare_metadata(context, metadata)
    engine.dispose()
    assert differences == []


def test_sqlite_from_nothing_to_head(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    engine = make_engine(Settings(), url)
    upgrade(engine)
    engine.dispose()
    plain = create_engine(url)
    tables = set(inspect(plain).get_table_names())
    plain.dispose()
    assert {t.name for t in metadata.sorted_tables} <= tables
