"""The ingest's EMF metrics (namespace ``MaxTrader``, dimension ``service`` = the function's).

BarsIngested      Count    bars stored anew
BarsDuplicated    Count    bars already held (a retry, the relay and the poll overlapping)
BarsIgnored       Count    bars of symbols the stage does not trade
DataAgeSeconds    Seconds  now - end of the newest bar in the request (feed freshness)
IngestRejected    Count    one per refused request, dimension ``reason`` (docs/ingest.md)
"""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from maxtrader.ingest.contract import IngestRejectedError
from maxtrader.ingest.service import IngestResult


def record_result(metrics: Metrics, result: IngestResult) -> None:
    metrics.add_metric(name="BarsIngested", unit=MetricUnit.Count, value=result.accepted)
    metrics.add_metric(name="BarsDuplicated", unit=MetricUnit.Count, value=result.duplicated)
    metrics.add_metric(name="BarsIgnored", unit=MetricUnit.Count, value=result.ignored)
    if result.data_age_seconds is not None:
        metrics.add_metric(
            name="DataAgeSeconds", unit=MetricUnit.Seconds, value=result.data_age_seconds
        )


def record_rejection(metrics: Metrics, rejection: IngestRejectedError) -> None:
    # The only metric of a refused request, so the dimension applies to it alone.
    metrics.add_dimension(name="reason", value=rejection.reason)
    metrics.add_metric(name="IngestRejected", unit=MetricUnit.Count, value=1)
