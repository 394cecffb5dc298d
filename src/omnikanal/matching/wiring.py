"""Builds the matching capability from the settings (called by the composition root only)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from omnikanal.clock import Clock
from omnikanal.listeners import Listeners
from omnikanal.matching.jobs import MatchingProcessor, MatchJob
from omnikanal.matching.service import MatchingData, MatchingService, Thresholds
from omnikanal.profiles.identity.model import IdentityRules
from omnikanal.profiles.merge import ProfileMerger
from omnikanal.profiles.model import TraitRules
from omnikanal.settings import Settings


@dataclass
class MatchingParts:
    service: MatchingService
    processor: MatchingProcessor
    job: MatchJob
    personal_data: MatchingData


def build_matching(
    settings: Settings,
    engine: Engine,
    clock: Clock,
    identity_rules: IdentityRules,
    trait_rules: TraitRules,
    listeners: Listeners,
) -> MatchingParts:
    """Probabilistic matching: its merges go through the profiles' own merge, with its listeners."""
    merger = ProfileMerger(engine, clock, identity_rules, trait_rules, listeners)
    service = MatchingService(
        engine,
        clock,
        merger,
        Thresholds(merge=settings.matching_merge_threshold, review=settings.matching_review_threshold),
        settings.default_phone_region,
        training_pairs=settings.matching_training_pairs,
        backend=settings.matching_backend,
        spark=(settings.spark_master, settings.spark_driver_memory),
    )
    # Merges by stitching and unmerges change who holds which traits: those profiles are matched
    # again (a row each in matching_dirty; merges and unmerges are rare next to events).
    listeners.profiles_merged.append(service.mark_changed)
    listeners.profiles_changed.append(service.mark_changed)
    return MatchingParts(
        service=service,
        processor=MatchingProcessor(service, clock),
        job=MatchJob(service, settings.matching_interval_seconds, settings.matching_batch),
        personal_data=MatchingData(),
    )
