"""The one MetaData every capability's tables are declared on, and the column types they share.

Each capability declares its tables in its own ``<capability>/tables.py`` on this MetaData;
``omnikanal.tables`` imports them all, for the migrations and the schema check.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, MetaData, String

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(40)
# SQLite only gives AUTOINCREMENT semantics to INTEGER PRIMARY KEY, so BIGINT becomes INTEGER there.
BigId = BigInteger().with_variant(Integer(), "sqlite")
