"""The journeys capability's tables, on the one MetaData (omnikanal.db.schema)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from omnikanal.db.schema import ID, metadata
from omnikanal.db.types import UTCDateTime, json_type

journeys = Table(
    "journeys",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("status", String(10), nullable=False),  # draft, active, paused
    Column("version", Integer, nullable=False),  # the version new entries start on
    Column("created_by", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)


journey_versions = Table(
    "journey_versions",
    metadata,
    Column("journey_id", ID, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("document", json_type(), nullable=False),
    # names the document uses resolved at save time (segment name -> id), so a rename cannot change it
    Column("resolved", json_type(), nullable=False),
    Column("created_by", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)


journey_runs = Table(
    "journey_runs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("journey_id", ID, nullable=False),
    Column("version", Integer, nullable=False),
    Column("profile_id", ID, nullable=False),
    Column("run_key", String(200), nullable=False),  # the journey key's value ("" without a key)
    # what caused the entry (an event's seq, a date, an API call): the same cause never enters twice
    Column("origin", String(200), nullable=False),
    # "<profile>|<key>" while a run that excludes parallel runs is active; NULL otherwise
    Column("active_key", String(300), nullable=True),
    Column("status", String(10), nullable=False),  # active, ended
    Column("step", String(60), nullable=True),  # the step it is at (waiting in)
    Column("seq", Integer, nullable=False),  # steps run so far: the next step log's sequence number
    Column("wait_event", String(260), nullable=True),  # an event name or "segment:<id>" it waits for
    Column("variant", String(60), nullable=True),
    Column("data", json_type(), nullable=False),  # the trigger's properties, for templates
    Column("last_message_id", ID, nullable=True),
    Column("exit_reason", String(60), nullable=True),
    Column("entered_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("goal_until", UTCDateTime, nullable=True),
    Column("goal_at", UTCDateTime, nullable=True),
    Column("goal_message_id", ID, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("journey_id", "origin", "profile_id", name="uq_journey_runs_origin"),
    UniqueConstraint("journey_id", "active_key", name="uq_journey_runs_active"),
    Index("ix_journey_runs_profile", "profile_id", "status"),
    Index("ix_journey_runs_journey", "journey_id", "version", "status"),
)


journey_timers = Table(
    "journey_timers",
    metadata,
    Column("run_id", ID, primary_key=True),  # at most one timer per run
    Column("seq", Integer, nullable=False),  # the run's seq when it was set; stale once the run moved on
    Column("due_at", UTCDateTime, nullable=False),
    Column("profile_id", ID, nullable=False),
    Index("ix_journey_timers_due", "due_at"),
)


journey_steps = Table(
    "journey_steps",
    metadata,
    # the step log: one row per (run, sequence number), so no step can run twice
    Column("run_id", ID, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("profile_id", ID, nullable=False, index=True),
    Column("step", String(60), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("outcome", String(60), nullable=True),
    Column("message_id", ID, nullable=True, index=True),
    Column("at", UTCDateTime, nullable=False),
)
