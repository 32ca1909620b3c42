"""The operator functions' adapters, built once per container (a warm invocation reuses them).

    killswitch_operations() -> KillSwitchOperations   # cached; .cache_clear() for tests
    build_killswitch_operations(env, clock=..., broker=...)  # the same, uncached, injectable

The broker is built on first use, from the Alpaca secret: a kill switch must engage even when
Secrets Manager or Alpaca is down, so neither is touched unless a flatten is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from maxtrader.adapters.alert_cooldown import Cooldown
from maxtrader.adapters.dynamodb_store import DynamoDBStateStore
from maxtrader.adapters.secrets import AlpacaSecret, Secrets
from maxtrader.adapters.sns_alerts import SnsAlerts
from maxtrader.config.loader import load_safety
from maxtrader.domain.clock import Clock
from maxtrader.domain.ports import Broker
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.function_env import FunctionEnv, function_env
from maxtrader.operations.killswitch import KillSwitchOperations
from maxtrader.runtime.clock import runtime_clock


def alpaca_broker_from_secret(env: FunctionEnv, clock: Clock) -> Callable[[], Broker]:
    """A builder of the Alpaca broker that reads the secret on its first call only."""

    @lru_cache(maxsize=1)
    def build() -> Broker:
        # Imported here: alpaca-py (and pandas under it) loads only when a flatten needs it,
        # so a cold start that only engages the switch stays small.
        from maxtrader.adapters.alpaca_broker import AlpacaBroker  # noqa: PLC0415

        secret = Secrets().get(env.alpaca_secret_name, AlpacaSecret)
        return AlpacaBroker(
            secret.key_id.get_secret_value(),
            secret.secret_key.get_secret_value(),
            paper=not env.live,
            clock=clock,
            url_override=env.alpaca_url_override,
        )

    return build


def build_killswitch_operations(
    env: FunctionEnv,
    *,
    clock: Clock | None = None,
    broker: Callable[[], Broker] | None = None,
) -> KillSwitchOperations:
    clock = clock or runtime_clock()
    safety = load_safety(env.config_dir)
    store = DynamoDBStateStore.create(env.state_table)
    alerts = SnsAlerts.create(
        env.alerts_topic_arn,
        env.state_table,
        clock=clock,
        cooldown=Cooldown.from_config(safety.alerts),
    )
    return KillSwitchOperations(
        SafetyEngine(safety, store, clock),
        alerts,
        broker=broker or alpaca_broker_from_secret(env, clock),
        clock=clock,
    )


@lru_cache(maxsize=1)
def killswitch_operations() -> KillSwitchOperations:
    return build_killswitch_operations(function_env())


__all__ = ["alpaca_broker_from_secret", "build_killswitch_operations", "killswitch_operations"]
