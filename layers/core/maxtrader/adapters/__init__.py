"""Adapters: implementations of the ports in ``maxtrader.domain.ports`` over vendor SDKs or memory.

Each adapter turns its vendor's errors into domain errors (``maxtrader.domain.errors``).
"""
