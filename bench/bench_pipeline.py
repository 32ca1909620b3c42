"""``make bench``'s entry for bench/pipeline.py (the bar path: ingest -> signals)."""

from bench.pipeline import main

__all__ = ["main"]
