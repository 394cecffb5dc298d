"""Every table of the hub: imports each capability's tables onto the one MetaData.

The migrations and the schema check read ``metadata`` from here, so a capability's tables are
known to them as soon as its module is listed below.
"""

from __future__ import annotations

import omnikanal.db.tables  # noqa: F401  (the core hub's tables, until each capability holds its own)
from omnikanal.db.schema import metadata

__all__ = ["metadata"]
