"""The one place the Powertools logger, tracer and metrics are built.

Every handler imports these three objects; the service name is the function's own
(``POWERTOOLS_SERVICE_NAME``, set per function by the stack) and the metrics namespace is the
project's, so dashboards and alarms find every metric under ``MaxTrader``.

Tracer response capture is off everywhere: a handler's response may carry broker answers, and
nothing that could hold a secret or an account figure belongs in a trace.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

METRICS_NAMESPACE = "MaxTrader"

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "maxtrader"))
tracer = Tracer(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "maxtrader"))
metrics = Metrics(namespace=METRICS_NAMESPACE)
