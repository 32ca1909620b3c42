"""The audit records written since the last look, for the live log (the summary reads them all).

    tail = AuditTail(client, table, day)
    tail.new(now)        # records of the day with a time within ``LOOKBACK`` of the last look

Reading the whole day's audit partition every simulated minute costs moto a query that grows
with the day; this reads only the recent end of the partition (its sort key starts with the
record's time) and remembers the keys it has shown, and it asks only after a request that
wrote to the partition (``hook``: a botocore hook on the handlers' DynamoDB requests). A record
stamped more than ``LOOKBACK`` before it was written is not shown live; it still counts in the
summary.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from maxtrader import state_schema as schema
from maxtrader.adapters.dynamodb_items import audit_record
from maxtrader.domain.models import AuditRecord

LOOKBACK = timedelta(minutes=5)


class AuditTail:
    def __init__(self, client: Any, table: str, day: str) -> None:
        self.client = client
        self.table = table
        self.pk = schema.audit_pk(day)
        self._seen: set[str] = set()
        self._since: datetime | None = None
        self._written = True  # unknown at the start: the first look asks
        self._marker = json.dumps(self.pk).encode()  # how the key appears in a request body

    def hook(self, params: dict[str, Any], **_: Any) -> None:
        """``before-call.dynamodb``: a request naming the partition may write a record."""
        body = params.get("body") or b""
        if self._marker in (body if isinstance(body, bytes) else str(body).encode()):
            self._written = True

    def new(self, now: datetime) -> list[AuditRecord]:
        if not self._written:
            return []  # nothing can have been written since the last look
        self._written = False
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": self.pk}},
            "ConsistentRead": True,
        }
        if self._since is not None:
            kwargs["KeyConditionExpression"] += " AND sk >= :from"
            kwargs["ExpressionAttributeValues"][":from"] = {
                "S": (self._since - LOOKBACK).isoformat()
            }
        items: list[dict[str, Any]] = []
        while True:
            response = self.client.query(**kwargs)
            items += response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        self._since = now
        fresh = [i for i in items if i["sk"]["S"] not in self._seen]
        self._seen.update(i["sk"]["S"] for i in fresh)
        return [audit_record(i) for i in fresh]
