"""The alarms, every one of them on the alerts topic, and the composite "trading unhealthy".

Safety and data alarms read custom metrics with Metrics Insights (one series whatever the
dimensions); platform alarms read AWS/Lambda and AWS/SQS. Missing data is never a breach: the
metrics exist only while their emitters run (the session), so a quiet night stays quiet. Each
alarm's description names its section in docs/runbook.md (tests check the sections exist).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from maxtrader.config.safety import SafetyConfig
from maxtrader_infra import metric_names as m
from maxtrader_infra.function_specs import FUNCTIONS

MINUTE: Final = Duration.minutes(1)
RUNBOOK: Final = "docs/runbook.md"
# The functions and queues whose failure stops trading (the composite's inputs beyond safety).
TRADING_PATH_FUNCTIONS: Final = ("ingest", "signals", "execute", "monitor")
TRADING_PATH_QUEUES: Final = ("bars-dlq", "signals-dlq")
_AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
_ABOVE = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD


@dataclass(frozen=True, slots=True)
class MetricAlarmSpec:
    key: str  # alarm name suffix and runbook anchor
    meaning: str
    metric: m.MetricUse
    threshold: float
    where: str = ""
    periods: int = 1  # consecutive one-minute periods in breach
    above: bool = False  # strictly above the threshold (ages); else at least (counts, gauges)


def metric_alarm_specs(safety: SafetyConfig) -> tuple[MetricAlarmSpec, ...]:
    health = safety.health
    return (
        MetricAlarmSpec(
            "breaker-tripped", "a circuit breaker paused entries", m.BREAKER_TRIPPED, 1
        ),
        MetricAlarmSpec(
            "kill-switch-engaged", "the kill switch is on: no entries", m.KILL_SWITCH_ENGAGED, 1
        ),
        MetricAlarmSpec(
            "kill-switch-requested",
            "an operator engaged the kill switch through its URL",
            m.KILL_SWITCH_CHANGES,
            1,
            where="action = 'engage'",
        ),
        MetricAlarmSpec(
            "daily-loss-stop", "today's loss reached the daily stop", m.DAILY_LOSS_STOP, 1
        ),
        MetricAlarmSpec("order-errors", "the broker refused or failed an order", m.ORDER_ERRORS, 1),
        MetricAlarmSpec(
            "parity-differences",
            "the nightly replay of the day through the backtester differs from the live audit log",
            m.PARITY_DIFFERENCES,
            1,
        ),
        MetricAlarmSpec(
            "stale-data",
            f"the newest bar is older than {health.max_staleness_seconds} s in the session",
            m.DATA_AGE,
            health.max_staleness_seconds,
            periods=3,
            above=True,
        ),
        MetricAlarmSpec(
            "stale-vix",
            f"VIX is older than {health.vix_max_age_seconds} s in the session",
            m.VIX_AGE,
            health.vix_max_age_seconds,
            periods=3,
            above=True,
        ),
    )


class Alarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage_name: str,
        topic: sns.ITopic,
        safety: SafetyConfig,
        functions: dict[str, lambda_.Function],
        dead_letter_queues: dict[str, sqs.IQueue],
    ) -> None:
        super().__init__(scope, construct_id)
        self._prefix = f"maxtrader-{stage_name}"
        self._action = actions.SnsAction(topic)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for spec in metric_alarm_specs(safety):
            query = cloudwatch.MathExpression(
                expression=m.insights(spec.metric, spec.where),
                period=MINUTE,
                label=spec.metric.label,
            )
            comparison = _ABOVE if spec.above else _AT_LEAST
            self._alarm(
                spec.key, spec.meaning, query, spec.threshold, comparison, periods=spec.periods
            )
        for function_spec in FUNCTIONS:
            name = function_spec.name
            function = functions[name]
            self._alarm(
                f"{name}-errors",
                f"the {name} function failed",
                function.metric_errors(period=MINUTE, statistic="Sum"),
                1,
                _AT_LEAST,
            )
            if function_spec.reserved_concurrency is not None:  # its own pool can run out
                self._alarm(
                    f"{name}-throttles",
                    f"the {name} function was throttled (its reserved concurrency is used up)",
                    function.metric_throttles(period=MINUTE, statistic="Sum"),
                    1,
                    _AT_LEAST,
                )
        # The other functions share the account's pool: one alarm on the account's throttles
        # (one account per stage) covers them all, and the dashboard names the function.
        self._alarm(
            "account-throttles",
            "a function of the account's shared concurrency pool was throttled",
            cloudwatch.Metric(
                namespace="AWS/Lambda", metric_name="Throttles", period=MINUTE, statistic="Sum"
            ),
            1,
            _AT_LEAST,
        )
        for name, queue in dead_letter_queues.items():
            self._alarm(
                f"{name}-depth",
                f"messages wait in {name}: something failed for good",
                queue.metric_approximate_number_of_messages_visible(
                    period=MINUTE, statistic="Maximum"
                ),
                0,
                _ABOVE,
            )
        unhealthy = [
            "breaker-tripped",
            "kill-switch-engaged",
            "daily-loss-stop",
            "order-errors",
            "stale-data",
            *(f"{name}-errors" for name in TRADING_PATH_FUNCTIONS),
            *(f"{name}-depth" for name in TRADING_PATH_QUEUES),
        ]
        self.trading_unhealthy = cloudwatch.CompositeAlarm(
            self,
            "TradingUnhealthy",
            composite_alarm_name=f"{self._prefix}-trading-unhealthy",
            alarm_description=_describe(
                "trading-unhealthy", "at least one trading-path alarm is in ALARM"
            ),
            alarm_rule=cloudwatch.AlarmRule.any_of(*(self.alarms[key] for key in unhealthy)),
        )
        self.trading_unhealthy.add_alarm_action(self._action)
        self.trading_unhealthy.add_ok_action(self._action)  # "healthy again" is news too

    def _alarm(
        self,
        key: str,
        meaning: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        comparison: cloudwatch.ComparisonOperator,
        *,
        periods: int = 1,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            key,
            alarm_name=f"{self._prefix}-{key}",
            alarm_description=_describe(key, meaning),
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self._action)
        self.alarms[key] = alarm


def runbook_anchor(key: str) -> str:
    """The runbook section of an alarm (function alarms share one section per kind)."""
    for suffix in ("-errors", "-throttles", "-depth"):
        if key.endswith(suffix) and key not in {"order-errors"}:
            return f"function{suffix}" if suffix != "-depth" else "dlq-depth"
    return key


def _describe(key: str, meaning: str) -> str:
    return f"{meaning}. What to do: {RUNBOOK}#{runbook_anchor(key)}"
