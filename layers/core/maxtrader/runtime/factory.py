"""Adapters built once per container (on first use, i.e. a cold start) and reused while warm.

Every function builds what it needs from here, and nothing else builds clients:

    factory.clock()             the runtime clock (wall clock; ``use_clock`` swaps it in tests
                                and in ``maxtrader simulate``)
    factory.stage_config()      the stage's config (its symbols, schedules)
    factory.safety_config()     configs/safety.yaml;  factory.strategies_config(): strategies.yaml
    factory.calendar()          the XNYS calendar (compiled table: no pandas)
    factory.state_store()       DynamoDBStateStore on FunctionEnv.state_table (safety state)
    factory.session_store()     DynamoDBSessionStore on the same table (bars, strategy states)
    factory.bar_queue()         SqsBarQueue on FunctionEnv.bars_queue_url (ingest -> signals)
    factory.signal_queue()      SqsSignalQueue on FunctionEnv.signal_queue_url (signals -> execute)
    factory.alerts()            SnsAlerts on FunctionEnv.alerts_topic_arn, deduplicated
    factory.secrets()           Powertools SecretsProvider, cached stage.secrets_max_age_seconds
    factory.webhook_secrets()   WebhookKeys over the webhook secret (current + previous)
    factory.market_data()       MassiveMarketData over the Massive secret (re-read after max_age,
                                and at once after a refusal; emulator: base URL)
    factory.broker()            AlpacaBroker over the Alpaca secret (re-read after max_age, and
                                at once after a refused key), paper unless the stage is live
                                (emulator: url override). Imports alpaca-py (and pandas):
                                only broker-facing functions may call it.
    factory.safety_engine()     SafetyEngine on the state store and the runtime clock
    factory.parity_ports()      the nightly parity's stores, alerts and configs
    factory.monitor_service()   the monitor's MonitorService on all of the above
    factory.idempotency_store() Powertools' DynamoDB persistence layer (execute)
    factory.clear()             forget them all, and the environment (tests)

Everything derives from ``function_env()``: a missing or malformed variable is a ConfigError
naming it, raised on the first request rather than left to fail later.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from maxtrader.adapters.alert_cooldown import Cooldown
from maxtrader.adapters.dynamodb_session_store import DynamoDBSessionStore
from maxtrader.adapters.dynamodb_store import DynamoDBStateStore
from maxtrader.adapters.secrets import MassiveSecret, Secrets, WebhookSecret
from maxtrader.adapters.sns_alerts import SnsAlerts
from maxtrader.adapters.sqs_bar_queue import SqsBarQueue
from maxtrader.adapters.sqs_signal_queue import SqsSignalQueue
from maxtrader.config.loader import load_safety, load_stage, load_strategies
from maxtrader.config.safety import SafetyConfig
from maxtrader.config.stage import StageConfig
from maxtrader.config.strategies import StrategiesConfig
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.function_env import function_env
from maxtrader.ingest.service import WebhookKeys
from maxtrader.runtime.clock import SwitchableClock, runtime_clock

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from maxtrader.adapters.alpaca_broker import AlpacaBroker
    from maxtrader.adapters.massive_market_data import MassiveMarketData
    from maxtrader.operations.monitor import MonitorService
    from maxtrader.parity import ParityPorts


def clock() -> SwitchableClock:
    return runtime_clock()


@lru_cache(maxsize=1)
def stage_config() -> StageConfig:
    env = function_env()
    return load_stage(env.stage, env.config_dir)


@lru_cache(maxsize=1)
def safety_config() -> SafetyConfig:
    return load_safety(function_env().config_dir)


@lru_cache(maxsize=1)
def strategies_config() -> StrategiesConfig:
    return load_strategies(function_env().config_dir)


@lru_cache(maxsize=1)
def calendar() -> MarketCalendar:
    return MarketCalendar.xnys()


@lru_cache(maxsize=1)
def state_store() -> DynamoDBStateStore:
    return DynamoDBStateStore.create(function_env().state_table)


@lru_cache(maxsize=1)
def session_store() -> DynamoDBSessionStore:
    return DynamoDBSessionStore.create(function_env().state_table)


@lru_cache(maxsize=1)
def bar_queue() -> SqsBarQueue:
    return SqsBarQueue.create(function_env().bars_queue_url)


@lru_cache(maxsize=1)
def signal_queue() -> SqsSignalQueue:
    return SqsSignalQueue.create(function_env().signal_queue_url)


@lru_cache(maxsize=1)
def alerts() -> SnsAlerts:
    env = function_env()
    return SnsAlerts.create(
        env.alerts_topic_arn,
        env.state_table,
        clock=clock(),
        cooldown=Cooldown.from_config(safety_config().alerts),
    )


@lru_cache(maxsize=1)
def secrets() -> Secrets:
    return Secrets(max_age_seconds=stage_config().secrets_max_age_seconds)


@lru_cache(maxsize=1)
def webhook_secrets() -> WebhookKeys:
    name = function_env().webhook_secret_name

    def fetch(force_fetch: bool) -> list[str]:
        return secrets().get(name, WebhookSecret, force_fetch=force_fetch).accepted()

    return WebhookKeys(fetch)


@lru_cache(maxsize=1)
def market_data() -> MassiveMarketData:
    from maxtrader.adapters.massive_market_data import (  # noqa: PLC0415 - not every function
        DEFAULT_BASE_URL,
        MassiveMarketData,
    )

    env = function_env()

    def key(force_fetch: bool) -> str:
        # Asked before each request (cached for max_age) and, forced, after a refusal: a warm
        # container picks up a rotated key without a cold start (adapters/massive_market_data).
        secret = secrets().get(env.massive_secret_name, MassiveSecret, force_fetch=force_fetch)
        return secret.api_key.get_secret_value()

    return MassiveMarketData(key, base_url=env.massive_base_url or DEFAULT_BASE_URL)


@lru_cache(maxsize=1)
def broker() -> AlpacaBroker:
    # Imported here: alpaca-py brings pandas (~0.5-0.9 s of cold start); only the functions
    # that talk to the broker pay for it.
    from maxtrader.adapters.alpaca_broker import (  # noqa: PLC0415 - broker functions only
        FUNCTION_READ_RETRY_ALLOWANCE_SECONDS,
        FUNCTION_TIMEOUT,
        AlpacaBroker,
        request_seconds,
    )
    from maxtrader.adapters.alpaca_keys import secret_key_source  # noqa: PLC0415

    env = function_env()
    read = env.emulator_broker_read_timeout_seconds
    timeout = FUNCTION_TIMEOUT if read is None else (FUNCTION_TIMEOUT[0], read)
    # A key source, not the values: asked before each request (cached for max_age) and, forced,
    # after Alpaca refuses the key, so a warm container survives a rotation (alpaca_keys.py).
    # The timeouts and the read budget bound execute's worst case (execution/budget.py).
    return AlpacaBroker(
        secret_key_source(secrets(), env.alpaca_secret_name),
        paper=not env.live,
        clock=clock(),
        url_override=env.alpaca_url_override,
        timeout=timeout,
        read_budget_seconds=request_seconds(timeout) + FUNCTION_READ_RETRY_ALLOWANCE_SECONDS,
    )


@lru_cache(maxsize=1)
def safety_engine() -> SafetyEngine:
    # With the calendar: health's market-hours check and the breakers' session logic need it.
    return SafetyEngine(safety_config(), state_store(), clock(), calendar=calendar())


# --- the parity function ---
@lru_cache(maxsize=1)
def parity_ports() -> ParityPorts:
    """The nightly parity's ports: the stores, the alerts, the configs; Massive only when a prior
    session's bars have expired from the store (``market_data`` is passed, not called).
    Imported here: the parity brings the backtester, which no other function needs."""
    from maxtrader.parity import DaySources, ParityPorts  # noqa: PLC0415

    sources = DaySources(
        state_store=state_store(),
        session_store=session_store(),
        calendar=calendar(),
        strategies=strategies_config(),
        symbols=tuple(stage_config().symbols),
        market_data=market_data,
    )
    return ParityPorts(sources=sources, alerts=alerts(), safety=safety_config())


# --- the monitor function ---
@lru_cache(maxsize=1)
def monitor_service() -> MonitorService:
    """The monitor's logic on this container's adapters (the broker: alpaca-py, on first use)."""
    from maxtrader.operations.monitor import MonitorService  # noqa: PLC0415 - monitor only

    return MonitorService(
        engine=safety_engine(),
        broker=broker(),
        sessions=session_store(),
        alerts=alerts(),
        calendar=calendar(),
        strategies=strategies_config(),
        config=safety_config().monitor,
        clock=clock(),
    )


# --- the execute function ---
@lru_cache(maxsize=1)
def idempotency_store() -> DynamoDBPersistenceLayer:
    """Powertools' idempotency records on FunctionEnv.idempotency_table (the execute function
    keys them on the signal id); the client fails fast like the state store's."""
    from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415 - execute only
        DynamoDBPersistenceLayer,
    )

    from maxtrader.adapters.dynamodb_calls import new_client  # noqa: PLC0415

    return DynamoDBPersistenceLayer(
        table_name=function_env().idempotency_table, boto3_client=new_client("dynamodb")
    )


_CACHED: tuple[Any, ...] = (
    stage_config,
    safety_config,
    strategies_config,
    calendar,
    state_store,
    session_store,
    bar_queue,
    alerts,
    secrets,
    webhook_secrets,
    market_data,
    broker,
    safety_engine,
    function_env,
    signal_queue,
    parity_ports,
    monitor_service,
    idempotency_store,
)


def clear() -> None:
    """Forget every adapter built so far (the originals: a test may have patched the names)."""
    for cached in _CACHED:
        cached.cache_clear()
