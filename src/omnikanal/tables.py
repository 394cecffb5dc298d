"""Every table of the hub: imports each capability's tables onto the one MetaData.

The migrations and the schema check read ``metadata`` from here, so a capability's tables are
known to them as soon as its module is listed below. Nothing else imports this module: a
capability uses only its own tables.
"""

from __future__ import annotations

from omnikanal.analytics import tables as analytics_tables
from omnikanal.audit import tables as audit_tables
from omnikanal.auth import tables as auth_tables
from omnikanal.commerce import tables as commerce_tables
from omnikanal.consent import tables as consent_tables
from omnikanal.db.schema import metadata
from omnikanal.eventlog import tables as eventlog_tables
from omnikanal.ingest import tables as ingest_tables
from omnikanal.journeys import tables as journeys_tables
from omnikanal.matching import tables as matching_tables
from omnikanal.messaging import tables as messaging_tables
from omnikanal.privacy import tables as privacy_tables
from omnikanal.profiles import tables as profiles_tables
from omnikanal.profiles.identity import tables as identity_tables
from omnikanal.recommend import tables as recommend_tables
from omnikanal.segments import tables as segments_tables
from omnikanal.service import tables as service_tables
from omnikanal.sources import tables as sources_tables
from omnikanal.staff import tables as staff_tables

CAPABILITY_TABLES = (
    sources_tables,
    auth_tables,
    identity_tables,
    profiles_tables,
    ingest_tables,
    eventlog_tables,
    audit_tables,
    consent_tables,
    privacy_tables,
    commerce_tables,
    segments_tables,
    messaging_tables,
    staff_tables,
    journeys_tables,
    analytics_tables,
    matching_tables,
    service_tables,
    recommend_tables,
)

__all__ = ["CAPABILITY_TABLES", "metadata"]
