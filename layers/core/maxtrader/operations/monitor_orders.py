"""The broker's orders of one stored ticket, read by ``client_order_id`` (the Broker port).

    orders_of(broker, ticket, max_exit_attempts) -> TicketOrders

A ticket's orders are its entry (``mt-<signal>-entry``, with a bracket's stop-loss and
take-profit legs nested under it) and the monitor's own exits (``mt-<signal>-exit``,
``-exit-2`` ...), looked up attempt by attempt until the broker has none. The port has no
"fills" call: the fills are derived from these orders (monitor_fills.py), so every order the
system sent is read from the one place that cannot lose it, the broker's order book.
"""

from __future__ import annotations

from dataclasses import dataclass

from maxtrader.domain.broker import BrokerOrder
from maxtrader.domain.models import OrderPurpose, client_order_id
from maxtrader.domain.ports import Broker
from maxtrader.domain.safety.state import Ticket, TicketStatus

__all__ = ["TicketOrders", "orders_of"]


@dataclass(frozen=True, slots=True)
class TicketOrders:
    """What the broker holds for one ticket. ``entry`` None: the broker has no such order."""

    ticket: Ticket
    entry: BrokerOrder | None
    exits: tuple[BrokerOrder, ...] = ()  # the monitor's exit orders, attempt 1 first

    @property
    def legs(self) -> tuple[BrokerOrder, ...]:
        return self.entry.legs if self.entry is not None else ()

    @property
    def closing_orders(self) -> tuple[BrokerOrder, ...]:
        """Every order that reduces the position: the bracket's legs, then the exits."""
        return (*self.legs, *self.exits)

    @property
    def working_exit(self) -> bool:
        """A broker-side order is still working to close the position (do not double-exit)."""
        return any(not o.status.terminal for o in self.closing_orders)

    @property
    def entry_working(self) -> bool:
        return self.entry is not None and not self.entry.status.terminal


def orders_of(broker: Broker, ticket: Ticket, max_exit_attempts: int) -> TicketOrders:
    """Read the ticket's orders. A BrokerError propagates: the caller marks the ticket
    uncertain for this run (nothing is decided on a half-read)."""
    entry = broker.order_by_client_id(ticket.client_order_id)
    exits: list[BrokerOrder] = []
    if ticket.status is TicketStatus.OPEN:  # only an open position was ever exited by us
        for attempt in range(1, max_exit_attempts + 1):
            found = broker.order_by_client_id(
                client_order_id(ticket.signal_id, OrderPurpose.EXIT, attempt)
            )
            if found is None:
                break
            exits.append(found)
    return TicketOrders(ticket, entry, tuple(exits))
