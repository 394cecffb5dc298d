"""The staff console at /console: server-rendered pages, one module per page, listed in ``nav``."""
