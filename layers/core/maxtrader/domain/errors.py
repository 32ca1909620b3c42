"""Domain errors. Adapters translate vendor exceptions into these."""

from __future__ import annotations


class MaxTraderError(Exception):
    """Base class of every error the core raises on purpose."""


class ConfigError(MaxTraderError):
    """Configuration could not be loaded; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class CalendarError(MaxTraderError):
    """A date outside the calendar's range, or a question about a non-session."""


class StateUnavailableError(MaxTraderError):
    """The state store could not be read or written consistently: fail closed."""


class BrokerError(MaxTraderError):
    """The broker rejected a request, timed out or answered with an unexpected shape."""


class DataError(MaxTraderError):
    """Market data could not be loaded or parsed."""
