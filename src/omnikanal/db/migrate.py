"""Alembic, configured in code so no alembic.ini has to be found at run time."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


# Monthly partitions of the event log on PostgreSQL (eventlog/partitions.py) are made at run time, so
# no table of the code declares them.
PARTITION = re.compile(r"^events_(p\d{4}_\d{2}|default)$")


def schema_filter(dialect: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """What the comparison of the database with the code's tables looks at, on this dialect.

    Partitions are left out, and so are constraints the code declares for other dialects only
    (``info={"dialects": (...)}`` beside ``ddl_if``, which the comparison does not read).
    """

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "table" and name is not None and PARTITION.match(name):
            return False
        dialects = getattr(obj, "info", {}).get("dialects")
        return not (dialects and not reflected and dialect not in dialects)

    return include


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default: the newest)."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
