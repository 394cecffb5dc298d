"""Omnikanal: the omnichannel customer hub."""

__version__ = "0.1.0"
