"""Moved to ``maxtrader.emulators.massive`` (``make demo`` runs it too). This alias keeps tests
written against the old path working while the branches merge; import the new path."""

from maxtrader.emulators.massive import MassiveEmulator, agg_from_bar

__all__ = ["MassiveEmulator", "agg_from_bar"]
