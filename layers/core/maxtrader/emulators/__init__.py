"""Local stand-ins of the vendors (Alpaca, Massive) on 127.0.0.1, for tests and ``make demo``."""
