"""One stack per stage. Functions, schedules, alerts and dashboards join it as they are built."""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, CfnOutput, Stack, Tags
from constructs import Construct

from maxtrader.config.loader import AppConfig
from maxtrader_infra.state_table import StateTable


class MaxTraderStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: AppConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        stage = config.stage
        if stage is None:
            raise ValueError("a stack needs a stage config")
        production = stage.name == "production"

        self.state = StateTable(self, "State", retain=production)

        Tags.of(self).add("project", "maxtrader")
        Tags.of(self).add("stage", stage.name)
        Tags.of(self).add("trading-mode", stage.trading_mode)
        CfnOutput(self, "StateTableName", value=self.state.table.table_name)
        CfnOutput(self, "TradingMode", value=stage.trading_mode)

        placeholders = stage.placeholder_contacts()
        if placeholders:
            Annotations.of(self).add_warning_v2(
                "maxtrader:placeholder-contacts",
                f"stage {stage.name} alerts go to placeholder contacts: {', '.join(placeholders)}; "
                "edit configs/stages/" + stage.name + ".yaml before deploying",
            )
