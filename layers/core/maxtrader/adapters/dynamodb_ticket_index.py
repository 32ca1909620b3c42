"""A ticket's full item, as every ticket write stores it: open tickets in the sparse index.

``open_tickets`` must be strongly consistent (reduce-only exits and reconciliation decide on it)
and must not read the closed history. A local secondary index does both: DynamoDB updates it in
the same write as the ticket (inside the same transaction), answers ``ConsistentRead`` on it,
and indexes only items that carry its sort key. So a ticket holding a slot carries
``open_ticket``; the write that closes or releases it replaces the item without it (and with
its expiry), which drops it from the index at once. (A GSI would be eventually consistent: a
just-reserved ticket could be missing from it.)
"""

from __future__ import annotations

from maxtrader import state_schema as schema
from maxtrader.adapters.dynamodb_items import Item, s, ticket_item, ttl
from maxtrader.domain.safety.state import Ticket


def ticket_record(ticket: Ticket) -> Item:
    item = ticket_item(ticket)
    if ticket.status.holds_slot:
        item[schema.OPEN_TICKET_ATTRIBUTE] = s(ticket.client_order_id)
    else:
        when = ticket.closed_at or ticket.reserved_at
        item[schema.TTL_ATTRIBUTE] = ttl(when, schema.CLOSED_TICKET_TTL_DAYS)
    return item
