"""One stack per stage: tables, topic, secrets, queues, layers, the functions with their URLs,
schedules and async failure queue, the alarms and the dashboard.

Every resource a handler reads is named from ``StageConfig.resources``, the same derivation
``maxtrader.function_env`` uses, so the stack and the handlers' environment agree by
construction (tests/infra checks the synthesized names against it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from aws_cdk import Annotations, CfnOutput, Stack, Tags
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from maxtrader.config.loader import AppConfig
from maxtrader_infra.alarms import Alarms
from maxtrader_infra.alerts import AlertsTopic
from maxtrader_infra.app_secrets import AppSecrets
from maxtrader_infra.dashboard import Dashboard
from maxtrader_infra.function_specs import missing_handlers
from maxtrader_infra.function_urls import FunctionUrls
from maxtrader_infra.functions import Functions, Shared
from maxtrader_infra.idempotency_table import IdempotencyTable
from maxtrader_infra.layers import STUB_DEPS_DIR, Layers
from maxtrader_infra.nag_acknowledgements import acknowledge
from maxtrader_infra.queues import TradingQueues
from maxtrader_infra.schedules import FunctionSchedules
from maxtrader_infra.state_table import StateTable


class MaxTraderStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        deps_layer_dir: Path | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        stage = config.stage
        if stage is None:
            raise ValueError("a stack needs a stage config")
        production = stage.name == "production"
        names = stage.resources
        prefix = f"maxtrader-{stage.name}"

        self.state = StateTable(self, "State", retain=production)
        # The handlers find the table by the name the stage derives (FunctionEnv.state_table).
        cast(dynamodb.CfnTable, self.state.table.node.default_child).table_name = names.state_table
        self.idempotency = IdempotencyTable(
            self, "Idempotency", table_name=names.idempotency_table, retain=production
        )
        self.alerts = AlertsTopic(
            self,
            "Alerts",
            topic_name=names.alerts_topic,
            contacts=stage.alerts,
            retain=production,
        )
        self.secrets = AppSecrets(self, "Secrets", names=names, retain=production)
        self.queues = TradingQueues(
            self,
            "Queues",
            bars_queue_name=names.bars_queue,
            signal_queue_name=names.signal_queue,
            schedules_dlq_name=f"{prefix}-schedules-dlq",
        )
        self.layers = Layers(
            self, "Layers", prefix=prefix, deps_dir=deps_layer_dir or STUB_DEPS_DIR
        )
        self.functions = Functions(
            self,
            "Functions",
            stage=stage,
            shared=Shared(
                state=self.state,
                idempotency=self.idempotency,
                alerts=self.alerts,
                secrets=self.secrets,
                queues=self.queues,
                layers=self.layers,
            ),
        )
        functions = self.functions.by_name
        self.urls = FunctionUrls(self, "Urls", stage_name=stage.name, functions=functions)
        self.schedules = FunctionSchedules(
            self,
            "Schedules",
            stage_name=stage.name,
            config=stage.schedules,
            functions=functions,
            dead_letter_queue=self.queues.schedules_dlq,
        )
        self.alarms = Alarms(
            self,
            "Alarms",
            stage_name=stage.name,
            topic=self.alerts.topic,
            safety=config.safety,
            functions=functions,
            dead_letter_queues=self.dead_letter_queues(),
        )
        self.dashboard = Dashboard(
            self,
            "Dashboard",
            stage_name=stage.name,
            functions=functions,
            dead_letter_queues=self.dead_letter_queues(),
            alarms=[*self.alarms.alarms.values(), self.alarms.trading_unhealthy],
        )
        acknowledge(self)

        Tags.of(self).add("project", "maxtrader")
        Tags.of(self).add("stage", stage.name)
        Tags.of(self).add("trading-mode", stage.trading_mode)
        self._outputs(stage.trading_mode)
        self._warnings(
            stage.name,
            stage.placeholder_contacts(),
            stage.placeholder_account(),
            stub_layer=deps_layer_dir is None,
        )

    def dead_letter_queues(self) -> dict[str, sqs.IQueue]:
        """Every queue where failures wait for an operator, by the name its alarm carries."""
        return {
            "bars-dlq": self.queues.bars_dlq,
            "signals-dlq": self.queues.signal_dlq,
            "schedules-dlq": self.queues.schedules_dlq,
            "async-failures": self.functions.async_failures,
            "alerts-delivery-dlq": self.alerts.delivery_dlq,
        }

    def _outputs(self, trading_mode: str) -> None:
        queues, secrets = self.queues, self.secrets
        for name, value in {
            "TradingMode": trading_mode,
            "StateTableName": self.state.table.table_name,
            "IdempotencyTableName": self.idempotency.table.table_name,
            "AlertsTopicArn": self.alerts.topic.topic_arn,
            "AlertsDeliveryDlqUrl": self.alerts.delivery_dlq.queue_url,
            "BarsQueueUrl": queues.bars.queue_url,
            "BarsDlqUrl": queues.bars_dlq.queue_url,
            "SignalQueueUrl": queues.signals.queue_url,
            "SignalQueueArn": queues.signals.queue_arn,
            "SignalDlqUrl": queues.signal_dlq.queue_url,
            "SchedulesDlqUrl": queues.schedules_dlq.queue_url,
            "SchedulesDlqArn": queues.schedules_dlq.queue_arn,
            "AlpacaSecretArn": secrets.alpaca.secret_arn,
            "MassiveSecretArn": secrets.massive.secret_arn,
            "WebhookSecretArn": secrets.webhook.secret_arn,
            "DepsLayerArn": self.layers.deps.layer_version_arn,
            "CoreLayerArn": self.layers.core.layer_version_arn,
            "IngestUrl": self.urls.urls["ingest"].url,
            "KillSwitchUrl": self.urls.urls["killswitch"].url,
            "KillSwitchOperatorPolicyArn": self.urls.operator_policy.managed_policy_arn,
            "AsyncFailuresQueueUrl": self.functions.async_failures.queue_url,
            "DashboardName": self.dashboard.dashboard.dashboard_name,
        }.items():
            CfnOutput(self, name, value=value)

    def _warnings(
        self,
        stage_name: str,
        contacts: list[str],
        account: str | None,
        *,
        stub_layer: bool,
    ) -> None:
        stage_file = f"configs/stages/{stage_name}.yaml"
        annotations = Annotations.of(self)
        if contacts:
            annotations.add_warning_v2(
                "maxtrader:placeholder-contacts",
                f"stage {stage_name} alerts go to placeholder contacts: {', '.join(contacts)}; "
                f"edit {stage_file} before deploying",
            )
        if account:
            annotations.add_warning_v2(
                "maxtrader:placeholder-account",
                f"stage {stage_name} targets the placeholder AWS account {account}; "
                f"edit {stage_file} before deploying",
            )
        for name in missing_handlers():
            annotations.add_warning_v2(
                f"maxtrader:handler-missing:{name}",
                f"functions/{name}/handler.py with a lambda_handler is not in this checkout: "
                f"the {name} function gets a stub that fails every call; `make deploy` refuses",
            )
        if stub_layer:
            annotations.add_warning_v2(
                "maxtrader:deps-layer-stub",
                "the dependency layer is the empty stub (no built layer was given): this "
                "assembly is for checks only; `make deploy` builds and passes the real one",
            )
