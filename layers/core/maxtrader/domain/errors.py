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
    """The broker rejected a request, timed out or answered with an unexpected shape.

    ``may_have_reached_broker`` is what the caller decides on: True means an order request may
    have been accepted (look it up by ``client_order_id`` before any retry); False means it
    certainly was not (release the reservation). ``status`` is the HTTP status when there was one,
    ``code`` the broker's own error code when its body carried one (Alpaca: 40310000 is
    "insufficient buying power" or "insufficient qty available").
    """

    may_have_reached_broker: bool = True

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class BrokerUnavailableError(BrokerError):
    """A timeout, a dropped connection, a 5xx or a 429: the request may have been acted on."""

    may_have_reached_broker = True


class BrokerRejectedError(BrokerError):
    """A 4xx answer: the broker refused the request; nothing was done."""

    may_have_reached_broker = False


class DuplicateClientOrderIdError(BrokerError):
    """The broker already holds an order under this ``client_order_id`` (Alpaca answers 422).

    Not a new reject: the order exists, so the caller looks it up instead of counting an error.
    """

    may_have_reached_broker = True


class BrokerResponseError(BrokerError):
    """The broker answered with a body of unexpected shape: nothing in it is trusted."""

    may_have_reached_broker = True


class DataError(MaxTraderError):
    """Market data could not be loaded or parsed."""


class AlertDeliveryError(MaxTraderError):
    """An alert could not be handed to the notification service; it is not recorded as sent."""


class InvalidInputError(MaxTraderError, ValueError):
    """A caller handed the core a value it cannot act on (a naive time, a foreign bar, ...).

    A ``ValueError`` too, so code written against the plain builtin keeps working.
    """


class SecretUnavailableError(MaxTraderError):
    """A secret could not be read or has the wrong shape. The message names the secret and the
    reason, never the value."""
