"""sources: allowed browser origins, public write keys, the IP address policy

Revision ID: 0012_browser_sources
Revises: 0010_eventlog_ahead
Create Date: 2026-12-02

A web or app source lists the page origins that may send from a browser (CORS); a public source's
write key is rate limited per client address; the IP address is kept, truncated or dropped per source
before an event is stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0012_browser_sources"
down_revision = "0010_eventlog_ahead"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(
            sa.Column("allowed_origins", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=True)
        )
        batch.add_column(sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("ip_policy", sa.String(10), nullable=False, server_default="keep"))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("ip_policy")
        batch.drop_column("public")
        batch.drop_column("allowed_origins")
