"""commerce: catalogue, locations, stock and its ledger, reservations, orders, returns, carts, scans, notifications

Revision ID: 0003_commerce
Revises: 0001
Create Date: 2026-11-23 01:07:50.286586
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import omnikanal.db.types

revision = "0003_commerce"
down_revision = "0002_consent_privacy"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "commerce_cart_items",
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("sku", sa.String(length=100), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("updated_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("profile_id", "sku", name=op.f("pk_commerce_cart_items")),
    )
    op.create_table(
        "commerce_categories",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("parent_id", sa.String(length=100), nullable=True),
        sa.Column(
            "names",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["commerce_categories.id"],
            name=op.f("fk_commerce_categories_parent_id_commerce_categories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commerce_categories")),
    )
    with op.batch_alter_table("commerce_categories", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commerce_categories_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "commerce_locations",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "address",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column(
            "opening_hours",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "services",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commerce_locations")),
    )
    op.create_table(
        "commerce_notifications",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=100), nullable=True),
        sa.Column("reservation_id", sa.String(length=40), nullable=True),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commerce_notifications")),
    )
    with op.batch_alter_table("commerce_notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_commerce_notifications_profile_id"), ["profile_id"], unique=False
        )
        batch_op.create_index(
            "ix_commerce_notifications_status_created", ["status", "created_at"], unique=False
        )

    op.create_table(
        "commerce_order_history",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("order_id", sa.String(length=100), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=True),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("location_id", sa.String(length=100), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commerce_order_history")),
    )
    with op.batch_alter_table("commerce_order_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commerce_order_history_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_commerce_order_history_profile_id"), ["profile_id"], unique=False
        )

    op.create_table(
        "commerce_orders",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("origin_location_id", sa.String(length=100), nullable=True),
        sa.Column("fulfilment", sa.String(length=30), nullable=False),
        sa.Column("fulfilment_location_id", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("recorded_by", sa.String(length=10), nullable=False),
        sa.Column(
            "shipping_address",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commerce_orders")),
    )
    with op.batch_alter_table("commerce_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commerce_orders_profile_id"), ["profile_id"], unique=False)

    op.create_table(
        "commerce_reservations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=True),
        sa.Column("location_id", sa.String(length=100), nullable=False),
        sa.Column("variant_id", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("order_id", sa.String(length=100), nullable=True),
        sa.Column("expires_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commerce_reservations")),
    )
    with op.batch_alter_table("commerce_reservations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commerce_reservations_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_commerce_reservations_profile_id"), ["profile_id"], unique=False)
        batch_op.create_index(
            "ix_commerce_reservations_status_expires", ["status", "expires_at"], unique=False
        )

    op.create_table(
        "commerce_returns",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=100), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("location_id", sa.String(length=100), nullable=True),
        sa.Column("condition", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column(
            "lines",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("refund_cents", sa.BigInteger(), nullable=False),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commerce_returns")),
    )
    with op.batch_alter_table("commerce_returns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commerce_returns_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_commerce_returns_profile_id"), ["profile_id"], unique=False)

    op.create_table(
        "commerce_scans",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("profile_id", sa.String(length=40), nullable=True),
        sa.Column("location_id", sa.String(length=100), nullable=False),
        sa.Column("variant_id", sa.String(length=40), nullable=False),
        sa.Column("at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commerce_scans")),
    )
    with op.batch_alter_table("commerce_scans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commerce_scans_profile_id"), ["profile_id"], unique=False)

    op.create_table(
        "commerce_stock_movements",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("variant_id", sa.String(length=40), nullable=False),
        sa.Column("location_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("on_hand_delta", sa.Integer(), nullable=False),
        sa.Column("reserved_delta", sa.Integer(), nullable=False),
        sa.Column("allocated_delta", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commerce_stock_movements")),
    )
    with op.batch_alter_table("commerce_stock_movements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_commerce_stock_movements_variant_location", ["variant_id", "location_id", "id"], unique=False
        )

    op.create_table(
        "commerce_order_lines",
        sa.Column("order_id", sa.String(length=100), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=True),
        sa.Column("variant_id", sa.String(length=40), nullable=True),
        sa.Column("sku", sa.String(length=100), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_cents", sa.BigInteger(), nullable=False),
        sa.Column("returned_quantity", sa.Integer(), nullable=False),
        sa.Column("stock_location_id", sa.String(length=100), nullable=True),
        sa.Column("reservation_id", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["commerce_orders.id"],
            name=op.f("fk_commerce_order_lines_order_id_commerce_orders"),
        ),
        sa.PrimaryKeyConstraint("order_id", "line_no", name=op.f("pk_commerce_order_lines")),
    )
    with op.batch_alter_table("commerce_order_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commerce_order_lines_variant_id"), ["variant_id"], unique=False)

    op.create_table(
        "commerce_products",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column(
            "names",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "descriptions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("category_id", sa.String(length=100), nullable=True),
        sa.Column("brand", sa.String(length=200), nullable=True),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["commerce_categories.id"],
            name=op.f("fk_commerce_products_category_id_commerce_categories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commerce_products")),
    )
    with op.batch_alter_table("commerce_products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commerce_products_category_id"), ["category_id"], unique=False)

    op.create_table(
        "commerce_variants",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("product_id", sa.String(length=100), nullable=False),
        sa.Column("sku", sa.String(length=100), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("colour", sa.String(length=100), nullable=True),
        sa.Column("size", sa.String(length=100), nullable=True),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["commerce_products.id"],
            name=op.f("fk_commerce_variants_product_id_commerce_products"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commerce_variants")),
        sa.UniqueConstraint("gtin", name=op.f("uq_commerce_variants_gtin")),
        sa.UniqueConstraint("sku", name=op.f("uq_commerce_variants_sku")),
    )
    with op.batch_alter_table("commerce_variants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commerce_variants_product_id"), ["product_id"], unique=False)

    op.create_table(
        "commerce_prices",
        sa.Column("variant_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["commerce_variants.id"],
            name=op.f("fk_commerce_prices_variant_id_commerce_variants"),
        ),
        sa.PrimaryKeyConstraint("variant_id", "channel", name=op.f("pk_commerce_prices")),
    )
    op.create_table(
        "commerce_stock",
        sa.Column("variant_id", sa.String(length=40), nullable=False),
        sa.Column("location_id", sa.String(length=100), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("allocated", sa.Integer(), nullable=False),
        sa.Column("updated_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "on_hand >= 0 AND reserved >= 0 AND allocated >= 0", name="ck_commerce_stock_counts"
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["commerce_locations.id"],
            name=op.f("fk_commerce_stock_location_id_commerce_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["commerce_variants.id"],
            name=op.f("fk_commerce_stock_variant_id_commerce_variants"),
        ),
        sa.PrimaryKeyConstraint("variant_id", "location_id", name=op.f("pk_commerce_stock")),
    )


def downgrade() -> None:

    op.drop_table("commerce_stock")
    op.drop_table("commerce_prices")
    with op.batch_alter_table("commerce_variants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commerce_variants_product_id"))

    op.drop_table("commerce_variants")
    with op.batch_alter_table("commerce_products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commerce_products_category_id"))

    op.drop_table("commerce_products")
    with op.batch_alter_table("commerce_order_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commerce_order_lines_variant_id"))

    op.drop_table("commerce_order_lines")
    with op.batch_alter_table("commerce_stock_movements", schema=None) as batch_op:
        batch_op.drop_index("ix_commerce_stock_movements_variant_location")

    op.drop_table("commerce_stock_movements")
    with op.batch_alter_table("commerce_scans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commerce_scans_profile_id"))

    op.drop_table("commerce_scans")
    with op.batch_alter_table("commerce_returns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commerce_returns_profile_id"))
        batch_op.drop_index(batch_op.f("ix_commerce_returns_order_id"))

    op.drop_table("commerce_returns")
    with op.batch_alter_table("commerce_reservations", schema=None) as batch_op:
        batch_op.drop_index("ix_commerce_reservations_status_expires")
        batch_op.drop_index(batch_op.f("ix_commerce_reservations_profile_id"))
        batch_op.drop_index(batch_op.f("ix_commerce_reservations_order_id"))

    op.drop_table("commerce_reservations")
    with op.batch_alter_table("commerce_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commerce_orders_profile_id"))

    op.drop_table("commerce_orders")
    with op.batch_alter_table("commerce_order_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commerce_order_history_profile_id"))
        batch_op.drop_index(batch_op.f("ix_commerce_order_history_order_id"))

    op.drop_table("commerce_order_history")
    with op.batch_alter_table("commerce_notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_commerce_notifications_status_created")
        batch_op.drop_index(batch_op.f("ix_commerce_notifications_profile_id"))

    op.drop_table("commerce_notifications")
    op.drop_table("commerce_locations")
    with op.batch_alter_table("commerce_categories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commerce_categories_parent_id"))

    op.drop_table("commerce_categories")
    op.drop_table("commerce_cart_items")
