"""Commerce across channels: catalogue, locations, stock, reservations, orders, returns, carts, scan.

Where to look:

* ``model.py``: request bodies, the order state machine (``TRANSITIONS``) and the timeline event of
  each status (``STATUS_EVENTS``); ``gtin.py``: GS1 check digits and the 14-digit normal form;
  ``hours.py``: opening hours in a store's time zone.
* ``catalogue.py`` / ``catalogue_store.py``: products with variants (the sellable unit: SKU, GTIN,
  colour, size, prices per channel in cents), categories, locations; ``importer.py``: CSV and JSON
  Lines with a per-row report (``omnikanal catalogue import``).
* ``stock.py`` / ``stock_store.py``: counters per (variant, location) and the append-only ledger;
  every change is one conditional UPDATE, so nothing is oversold under concurrency.
* ``reservations.py``, ``orders.py`` / ``orders_store.py``, ``carts.py``, ``scan.py``: the use cases.
* ``touchpoints.py``: commerce facts on the customer's timeline (through ingest, in the same
  transaction, marked ``context.omnikanal.origin = "commerce"``) and the notification outbox
  (``commerce_notifications``) that messaging will send from.
* ``jobs.py``: the event-log processor that records orders and carts from shops' Segment events, and
  the reservation expiry and reminder job; ``tx.py``: write transactions (group commit on SQLite).
* ``export.py``: orders as JSON Lines and stock as CSV; ``privacy.py``: the person's commerce data
  for access and erasure requests; ``api.py``: the HTTP routes (``/api/commerce/*``, ``/api/scan``).
"""
