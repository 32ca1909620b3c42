"""The DynamoDB state table's key design, defined once.

The CDK stack (infra/) builds the table from these names and the tests create their moto table
from the synthesized template, so code, infrastructure and tests cannot drift apart.
See docs/safety-layer.md for the item layout.
"""

from __future__ import annotations

from typing import Final

PARTITION_KEY: Final = "pk"
SORT_KEY: Final = "sk"
KEY_TYPE: Final = "S"  # both keys are strings
TTL_ATTRIBUTE: Final = "expires_at"  # epoch seconds; idempotency and short-lived items expire
TABLE_LOGICAL_ID: Final = "StateTable"
