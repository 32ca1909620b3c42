"""Adapters built once per container (on first use, i.e. a cold start) and reused while warm.

    factory.session_store()     DynamoDBSessionStore on FunctionEnv.state_table
    factory.bar_queue()         SqsBarQueue on FunctionEnv.signal_queue_url
    factory.webhook_secrets()   WebhookKeys over the webhook secret (current + previous)
    factory.stage_config()      the stage's config (its symbols)
    factory.clear()             forget them all, and the environment (tests)

Everything derives from ``function_env()``: a missing or malformed variable is a ConfigError
naming it, raised on the first request rather than left to fail later.
"""

from __future__ import annotations

from functools import lru_cache

from maxtrader.adapters.dynamodb_session_store import DynamoDBSessionStore
from maxtrader.adapters.secrets import Secrets, WebhookSecret
from maxtrader.adapters.sqs_bar_queue import SqsBarQueue
from maxtrader.config.loader import load_stage
from maxtrader.config.stage import StageConfig
from maxtrader.function_env import function_env
from maxtrader.ingest.service import WebhookKeys


@lru_cache(maxsize=1)
def session_store() -> DynamoDBSessionStore:
    return DynamoDBSessionStore.create(function_env().state_table)


@lru_cache(maxsize=1)
def bar_queue() -> SqsBarQueue:
    return SqsBarQueue.create(function_env().signal_queue_url)


@lru_cache(maxsize=1)
def secrets() -> Secrets:
    return Secrets()


@lru_cache(maxsize=1)
def webhook_secrets() -> WebhookKeys:
    name = function_env().webhook_secret_name

    def fetch(force_fetch: bool) -> list[str]:
        return secrets().get(name, WebhookSecret, force_fetch=force_fetch).accepted()

    return WebhookKeys(fetch)


@lru_cache(maxsize=1)
def stage_config() -> StageConfig:
    env = function_env()
    return load_stage(env.stage, env.config_dir)


_CACHED = (session_store, bar_queue, secrets, webhook_secrets, stage_config, function_env)


def clear() -> None:
    """Forget every adapter built so far (the originals: a test may have patched the names)."""
    for cached in _CACHED:
        cached.cache_clear()
