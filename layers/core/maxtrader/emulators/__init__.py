"""Local emulators of the vendors' HTTP APIs (tests and ``make demo``), on 127.0.0.1 only."""
