"""Benchmarks of a real Omnikanal server: batch throughput, single-event latency, profile lookup.

Run with ``python -m bench --help`` (or ``./dev bench``). They print figures, they do not pass or fail.
"""
