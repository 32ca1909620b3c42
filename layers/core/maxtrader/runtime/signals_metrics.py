"""The signals function's EMF metrics (namespace ``MaxTrader``).

Dimensions: ``service`` (the function's, set by Powertools) and ``trigger``: ``bars`` (a bars
queue batch) or ``poll`` (the ``signals-poll`` schedule), so a dead relay shows as BarsPolled
rising under ``poll`` while ``bars`` goes quiet.

SignalsGenerated  Count    signals handed on to execute (sent and saved; a lost race not counted)
BarsPolled        Count    bars fetched over REST (a gap, or the poll) and stepped
BarsStepped       Count    bars stepped, whatever their source
BarsDuplicated    Count    bars already stepped (redelivered, late, or a concurrent delivery won)
DataAgeSeconds    Seconds  processing time (injected clock) - close of the newest bar stepped
SignalsFailed     Count    a record or a poll that failed (retried by SQS / Scheduler), dimension
                           ``trigger`` only (the alarm's: a rising count is a stuck symbol group)
"""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from maxtrader.signals import SignalsOutcome

Trigger = Literal["bars", "poll"]


def set_trigger(metrics: Metrics, trigger: Trigger) -> None:
    metrics.add_dimension(name="trigger", value=trigger)


def record_outcome(metrics: Metrics, outcome: SignalsOutcome) -> None:
    metrics.add_metric(name="SignalsGenerated", unit=MetricUnit.Count, value=outcome.signals)
    metrics.add_metric(name="BarsPolled", unit=MetricUnit.Count, value=outcome.polled)
    metrics.add_metric(name="BarsStepped", unit=MetricUnit.Count, value=outcome.stepped)
    metrics.add_metric(name="BarsDuplicated", unit=MetricUnit.Count, value=outcome.duplicates)
    if outcome.data_age_seconds is not None:
        metrics.add_metric(
            name="DataAgeSeconds", unit=MetricUnit.Seconds, value=outcome.data_age_seconds
        )


def record_failure(metrics: Metrics) -> None:
    metrics.add_metric(name="SignalsFailed", unit=MetricUnit.Count, value=1)


__all__ = ["Trigger", "record_failure", "record_outcome", "set_trigger"]
