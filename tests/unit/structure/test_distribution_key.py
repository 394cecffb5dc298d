"""Every per-customer table carries the profile id, so the schema can be distributed by it.

The design notes promise that the tables can be sharded by profile id later (Citus) without a
redesign. A table without a ``profile_id`` column must be named below with what it holds instead:
definitions, catalogue, staff, or rows that belong to no single profile.
"""

from __future__ import annotations

from omnikanal.tables import metadata

NOT_PER_CUSTOMER: dict[str, str] = {
    "profiles": "the profile itself: its id is the distribution key",
    "matching_pairs": "a pair of two profiles (profile_a, profile_b), as merge_blocks",
    "merge_blocks": "a pair of two profiles that must not be merged",
    "quarantine": "events refused before any profile was resolved",
    "suppressions": "hashes of erased identifiers, kept without any profile on purpose",
    "event_keys": "dedupe keys of events (source, message id), no person",
    "consumer_cursors": "positions of the event-log processors",
    "hub_meta": "the hub's own settings",
    "analytics_costs": "media spend per day and channel",
    "api_token_stores": "staff tokens",
    "api_tokens": "staff tokens",
    "staff_login_failures": "staff",
    "staff_sessions": "staff",
    "staff_users": "staff",
    "sources": "channels",
    "commerce_categories": "catalogue",
    "commerce_locations": "stores and warehouses",
    "commerce_products": "catalogue",
    "commerce_variants": "catalogue",
    "commerce_prices": "catalogue",
    "commerce_stock": "stock per location",
    "commerce_stock_movements": "stock per location",
    "computed_trait_defs": "definitions",
    "segments": "definitions",
    "journeys": "definitions",
    "journey_versions": "definitions",
    "message_templates": "definitions",
    "matching_models": "trained models",
    "recommend_models": "trained models",
    "recommend_item_factors": "a model's factors per product",
    "recommend_popular": "a model's popular products per store, category and season",
    "recommend_channel_rates": "each channel's population rate (no customer's row)",
    "service_macros": "definitions (canned replies)",
    "service_mailboxes": "the IMAP poller's position per support mailbox",
}


def test_every_table_without_a_profile_id_is_one_that_holds_no_customers_rows() -> None:
    missing = sorted(t.name for t in metadata.sorted_tables if "profile_id" not in t.c)
    assert [name for name in missing if name not in NOT_PER_CUSTOMER] == []


def test_the_list_names_only_tables_that_exist_without_a_profile_id() -> None:
    without = {t.name for t in metadata.sorted_tables if "profile_id" not in t.c}
    assert sorted(set(NOT_PER_CUSTOMER) - without) == []
