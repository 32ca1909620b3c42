"""The stage's CloudWatch dashboard: trading, safety, data and platform, top to bottom.

Custom metrics are drawn with SEARCH by name (one line per dimension set: rejections by check,
order errors by kind), so a new dimension value shows up without a deploy. The platform row is
AWS's own metrics: each function's errors, throttles and duration, each dead-letter queue's depth,
and the state of every alarm.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from maxtrader_infra import metric_names as m

PERIOD: Final = Duration.minutes(1)
WIDTH: Final = 8  # three graphs a row (the grid is 24 wide)

TRADING: Final = (
    ("Bars", (m.BARS_INGESTED, m.BARS_DUPLICATED, m.BARS_POLLED)),
    ("Signals", (m.SIGNALS_GENERATED,)),
    ("Entries: approved and rejected by check", (m.ENTRIES_APPROVED, m.ENTRIES_REJECTED)),
    ("Orders and order errors", (m.ORDERS_SUBMITTED, m.ORDER_ERRORS)),
    ("Order latency", (m.ORDER_LATENCY,)),
    ("P&L today", (m.DAILY_PNL,)),
    ("Drawdown", (m.DRAWDOWN,)),
)
SAFETY: Final = (
    ("Breakers", (m.BREAKER_TRIPPED,)),
    ("Kill switch and safe mode", (m.KILL_SWITCH_ENGAGED, m.SAFE_MODE_ON)),
    ("Daily loss stop", (m.DAILY_LOSS_STOP,)),
    ("Kill switch requests", (m.KILL_SWITCH_CHANGES,)),
    ("Live vs backtest differences (nightly parity)", (m.PARITY_DIFFERENCES,)),
)
DATA: Final = (
    ("Bar age", (m.DATA_AGE,)),
    ("VIX age", (m.VIX_AGE,)),
)


def _graph(title: str, metrics: tuple[m.MetricUse, ...]) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(
        title=title,
        width=WIDTH,
        left=[
            # No fixed label: CloudWatch names each line by its dimensions (check, kind, service).
            cloudwatch.SearchExpression(
                expression=m.search(metric, int(PERIOD.to_seconds())), period=PERIOD
            )
            for metric in metrics
        ],
    )


def _section(
    title: str, graphs: tuple[tuple[str, tuple[m.MetricUse, ...]], ...]
) -> list[cloudwatch.IWidget]:
    return [
        cloudwatch.TextWidget(markdown=f"## {title}", width=24, height=1),
        *(_graph(name, metrics) for name, metrics in graphs),
    ]


class Dashboard(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage_name: str,
        functions: dict[str, lambda_.Function],
        dead_letter_queues: dict[str, sqs.IQueue],
        alarms: list[cloudwatch.IAlarm],
    ) -> None:
        super().__init__(scope, construct_id)
        fns = list(functions.items())
        platform: list[cloudwatch.IWidget] = [
            cloudwatch.TextWidget(markdown="## Platform", width=24, height=1),
            cloudwatch.GraphWidget(
                title="Function errors",
                width=WIDTH,
                left=[f.metric_errors(period=PERIOD, label=name) for name, f in fns],
            ),
            cloudwatch.GraphWidget(
                title="Function throttles",
                width=WIDTH,
                left=[f.metric_throttles(period=PERIOD, label=name) for name, f in fns],
            ),
            cloudwatch.GraphWidget(
                title="Function duration (p99)",
                width=WIDTH,
                left=[
                    f.metric_duration(period=PERIOD, statistic="p99", label=name) for name, f in fns
                ],
            ),
            cloudwatch.GraphWidget(
                title="Dead-letter queue depth",
                width=WIDTH,
                left=[
                    q.metric_approximate_number_of_messages_visible(
                        period=PERIOD, statistic="Maximum", label=name
                    )
                    for name, q in dead_letter_queues.items()
                ],
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=alarms, width=16, height=6),
        ]
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"maxtrader-{stage_name}",
            default_interval=Duration.hours(8),
            widgets=[
                _section("Trading", TRADING),
                _section("Safety", SAFETY),
                _section("Data", DATA),
                platform,
            ],
        )
