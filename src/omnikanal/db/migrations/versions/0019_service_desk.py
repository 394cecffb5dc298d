"""service desk: paused SLA clocks

Revision ID: 0019_service_desk
Revises: 0015_matching
Create Date: 2026-12-03

The SLA clock of a case stops while it waits for the customer.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from omnikanal.db.types import UTCDateTime

revision = "0019_service_desk"
down_revision: str | None = "0015_matching"
branch_labels = None
depends_on = None

ID = sa.String(40)


def upgrade() -> None:
    with op.batch_alter_table("service_cases") as batch:
        batch.add_column(sa.Column("sla_paused_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("sla_paused_hours", sa.Float(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("service_cases") as batch:
        batch.drop_column("sla_paused_hours")
        batch.drop_column("sla_paused_at")
