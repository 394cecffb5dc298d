"""The commerce capability assembled: its services, its processor and its scheduled job."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from omnikanal.clock import Clock
from omnikanal.ingest.service import IngestService
from omnikanal.listeners import Listeners
from omnikanal.settings import Settings
from omnikanal.sources.service import SourceService

from .carts import Carts
from .catalogue import CatalogueService
from .facts import CommerceFacts
from .importer import CatalogueImporter
from .jobs import ReservationJobs, ShopEventsProcessor
from .orders import Orders
from .privacy import CommercePersonalData
from .reservations import Reservations
from .scan import ScanService
from .stock import Stock
from .touchpoints import Touchpoints


@dataclass
class Commerce:
    catalogue: CatalogueService
    importer: CatalogueImporter
    stock: Stock
    reservations: Reservations
    orders: Orders
    carts: Carts
    scan: ScanService
    touchpoints: Touchpoints
    processor: ShopEventsProcessor
    jobs: ReservationJobs
    personal_data: CommercePersonalData
    facts: CommerceFacts

    def start(self) -> None:
        self.jobs.start()

    def stop(self) -> None:
        self.jobs.stop()


def build_commerce(
    settings: Settings,
    engine: Engine,
    clock: Clock,
    ingest: IngestService,
    sources: SourceService,
    listeners: Listeners | None = None,
) -> Commerce:
    catalogue = CatalogueService(engine, clock)
    touchpoints = Touchpoints(ingest, sources, clock, settings.commerce_source_name)
    stock = Stock(engine, clock, catalogue)
    reservations = Reservations(
        engine,
        clock,
        catalogue,
        stock,
        touchpoints,
        settings.reservation_hold_hours,
        settings.reservation_reminder_hours,
    )
    carts = Carts(engine, clock, catalogue)
    return Commerce(
        catalogue=catalogue,
        importer=CatalogueImporter(engine, catalogue, settings.catalogue_import_chunk_rows),
        stock=stock,
        reservations=reservations,
        orders=Orders(engine, clock, catalogue, stock, reservations, touchpoints),
        carts=carts,
        scan=ScanService(
            engine,
            clock,
            catalogue,
            touchpoints,
            settings.scan_nearby_stores,
            settings.scan_suggestions,
            listeners,
        ),
        touchpoints=touchpoints,
        processor=ShopEventsProcessor(clock, carts),
        jobs=ReservationJobs(reservations, settings.commerce_job_seconds),
        personal_data=CommercePersonalData(clock),
        facts=CommerceFacts(engine),
    )
