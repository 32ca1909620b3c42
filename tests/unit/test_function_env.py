"""The Lambda functions' environment: typed, validated once, derived from the stage config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maxtrader.config import load_stage
from maxtrader.config.stage import StageConfig
from maxtrader.domain.errors import ConfigError
from maxtrader.function_env import (
    VARIABLES,
    FunctionEnv,
    function_env,
    parse_function_env,
)

REQUIRED = {
    "MAXTRADER_STAGE": "staging",
    "MAXTRADER_STATE_TABLE": "maxtrader-staging-state",
    "MAXTRADER_IDEMPOTENCY_TABLE": "maxtrader-staging-idempotency",
    "MAXTRADER_ALERTS_TOPIC_ARN": "arn:aws:sns:us-east-1:111111111111:maxtrader-staging-alerts",
    "MAXTRADER_BARS_QUEUE_URL": (
        "https://sqs.us-east-1.amazonaws.com/111111111111/maxtrader-staging-bars.fifo"
    ),
    "MAXTRADER_SIGNAL_QUEUE_URL": (
        "https://sqs.us-east-1.amazonaws.com/111111111111/maxtrader-staging-signals.fifo"
    ),
    "MAXTRADER_ALPACA_SECRET_NAME": "maxtrader/staging/alpaca",
    "MAXTRADER_MASSIVE_SECRET_NAME": "maxtrader/staging/massive",
    "MAXTRADER_WEBHOOK_SECRET_NAME": "maxtrader/staging/webhook",
}


def stage(
    name: str = "production", *, region: str = "us-east-1", live: bool = False
) -> StageConfig:
    return StageConfig.model_validate(
        {
            "name": name,
            "aws": {"account": "222222222222", "region": region},
            "alpaca": {"live": live, "secret_name": f"maxtrader/{name}/alpaca"},
            "massive": {"secret_name": f"maxtrader/{name}/massive"},
            "symbols": ["SPY"],
        }
    )


class TestTheContract:
    def test_the_variable_names_infra_sets(self) -> None:
        """Renaming one breaks every deployed function: the list is pinned."""
        assert set(VARIABLES) == {
            *REQUIRED,
            "MAXTRADER_CONFIG_DIR",
            "MAXTRADER_LOG_LEVEL",
            "MAXTRADER_TRADING_MODE",
            "MAXTRADER_AWS_READ_TIMEOUT_SECONDS",
            "MAXTRADER_ALPACA_URL_OVERRIDE",
            "MAXTRADER_MASSIVE_BASE_URL",
            "MAXTRADER_EMULATOR_BROKER_READ_TIMEOUT_SECONDS",
        }

    def test_a_complete_environment_loads_with_paper_and_info_by_default(self) -> None:
        env = parse_function_env({**REQUIRED, "PATH": "/usr/bin", "AWS_REGION": "us-east-1"})
        assert env.stage == "staging" and env.state_table == "maxtrader-staging-state"
        assert (env.trading_mode, env.live, env.log_level, env.config_dir) == (
            "paper",
            False,
            "INFO",
            None,
        )
        with pytest.raises(ValueError, match="frozen"):
            env.stage = "production"  # type: ignore[misc]

    @pytest.mark.parametrize("name", ["staging", "production"])
    def test_the_shipped_stages_round_trip_through_the_environment(
        self, name: str, config_dir: Path
    ) -> None:
        config = load_stage(name, config_dir)
        env = FunctionEnv.for_stage(config)
        assert parse_function_env(env.to_environ()) == env
        assert env.state_table == f"maxtrader-{name}-state"
        assert env.log_level == config.log_level and env.trading_mode == "paper"
        assert env.alpaca_secret_name == config.alpaca.secret_name

    def test_the_config_dir_and_live_mode_round_trip(self, config_dir: Path) -> None:
        env = FunctionEnv.for_stage(stage(live=True), config_dir=config_dir)
        assert env.live and env.to_environ()["MAXTRADER_TRADING_MODE"] == "live"
        assert parse_function_env(env.to_environ()).config_dir == config_dir


class TestRejections:
    @pytest.mark.parametrize("missing", sorted(REQUIRED))
    def test_each_missing_variable_is_named(self, missing: str) -> None:
        environ = {k: v for k, v in REQUIRED.items() if k != missing}
        with pytest.raises(ConfigError) as caught:
            parse_function_env(environ)
        assert caught.value.problems == [f"{missing}: missing (required)"]

    def test_every_problem_is_reported_at_once(self) -> None:
        with pytest.raises(ConfigError) as caught:
            parse_function_env({"MAXTRADER_LOG_LEVEL": "LOUD", "MAXTRADER_STATE_TABEL": "x"})
        problems = caught.value.problems
        assert problems[0].startswith("MAXTRADER_STATE_TABEL: unknown variable (known: ")
        assert sum(p.endswith("missing (required)") for p in problems) == len(REQUIRED)
        assert any(p.startswith("MAXTRADER_LOG_LEVEL: ") and "'LOUD'" in p for p in problems)

    def test_an_unknown_maxtrader_variable_is_a_typo_not_ignored(self) -> None:
        with pytest.raises(ConfigError, match=r"^MAXTRADER_TRADINGMODE: unknown variable"):
            parse_function_env({**REQUIRED, "MAXTRADER_TRADINGMODE": "live"})

    @pytest.mark.parametrize(
        ("name", "value", "says"),
        [
            ("MAXTRADER_STAGE", "Production", "should match pattern"),
            ("MAXTRADER_STAGE", "", "should match pattern"),
            ("MAXTRADER_STAGE", "staging\n", "should match pattern"),
            ("MAXTRADER_STATE_TABLE", "my table", "should match pattern"),
            ("MAXTRADER_STATE_TABLE", "ab", "should match pattern"),
            ("MAXTRADER_ALERTS_TOPIC_ARN", "maxtrader-staging-alerts", "should match pattern"),
            ("MAXTRADER_ALERTS_TOPIC_ARN", "arn:aws:sqs:us-east-1:111111111111:q", "pattern"),
            ("MAXTRADER_SIGNAL_QUEUE_URL", "http://sqs.us-east-1.amazonaws.com/1/q", "https"),
            ("MAXTRADER_SIGNAL_QUEUE_URL", "https://evil.example.com/111111111111/q", "not an SQS"),
            ("MAXTRADER_SIGNAL_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/q", "path must"),
            ("MAXTRADER_SIGNAL_QUEUE_URL", "http://10.0.0.5:5000/123456789012/q", "loopback"),
            ("MAXTRADER_ALPACA_SECRET_NAME", "has space", "should match pattern"),
            ("MAXTRADER_WEBHOOK_SECRET_NAME", "", "should match pattern"),
            ("MAXTRADER_LOG_LEVEL", "info", "'DEBUG', 'INFO', 'WARNING' or 'ERROR'"),
            ("MAXTRADER_TRADING_MODE", "LIVE", "'paper' or 'live'"),
            ("MAXTRADER_TRADING_MODE", "true", "'paper' or 'live'"),
            ("MAXTRADER_CONFIG_DIR", "/nonexistent/configs", "is not a directory"),
            ("MAXTRADER_CONFIG_DIR", "", "must name a directory"),  # Path("") is the cwd
            ("MAXTRADER_CONFIG_DIR", "configs", "not an absolute path"),
            ("MAXTRADER_AWS_READ_TIMEOUT_SECONDS", "soon", "not a number of seconds"),
            ("MAXTRADER_AWS_READ_TIMEOUT_SECONDS", "0", "greater than 0"),
            ("MAXTRADER_AWS_READ_TIMEOUT_SECONDS", "nan", "greater than 0"),
        ],
    )
    def test_a_malformed_value_names_its_variable_and_value(
        self, name: str, value: str, says: str
    ) -> None:
        with pytest.raises(ConfigError) as caught:
            parse_function_env({**REQUIRED, name: value})
        (problem,) = caught.value.problems
        assert problem.startswith(f"{name}: ") and says in problem
        assert problem.endswith(f"(got {value!r})")

    def test_a_short_broker_timeout_applies_to_the_emulator_only(self) -> None:
        timeout = {"MAXTRADER_EMULATOR_BROKER_READ_TIMEOUT_SECONDS": "1.0"}
        with pytest.raises(ConfigError, match="Alpaca emulator only"):
            parse_function_env({**REQUIRED, **timeout})
        local = {"MAXTRADER_ALPACA_URL_OVERRIDE": "http://127.0.0.1:8123"}
        env = parse_function_env({**REQUIRED, **timeout, **local})
        assert env.emulator_broker_read_timeout_seconds == 1.0

    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1:5000/123456789012/maxtrader-test-signals.fifo",  # moto server
            "https://sqs.us-gov-west-1.amazonaws.com/111111111111/q",
            "https://sqs.cn-north-1.amazonaws.com.cn/111111111111/q.fifo",
        ],
    )
    def test_queue_urls_of_every_partition_and_of_a_local_emulator_load(self, url: str) -> None:
        assert (
            parse_function_env({**REQUIRED, "MAXTRADER_SIGNAL_QUEUE_URL": url}).signal_queue_url
            == url
        )


class TestStageResourceNames:
    def test_names_follow_the_stage(self) -> None:
        names = stage("production").resources
        assert (names.state_table, names.idempotency_table) == (
            "maxtrader-production-state",
            "maxtrader-production-idempotency",
        )
        assert names.alerts_topic_arn == (
            "arn:aws:sns:us-east-1:222222222222:maxtrader-production-alerts"
        )
        assert names.signal_queue_url == (
            "https://sqs.us-east-1.amazonaws.com/222222222222/maxtrader-production-signals.fifo"
        )
        assert names.webhook_secret == "maxtrader/production/webhook"
        assert names.alpaca_secret == "maxtrader/production/alpaca"

    @pytest.mark.parametrize(
        ("region", "arn_prefix", "host"),
        [
            ("us-gov-west-1", "arn:aws-us-gov:sns:", "sqs.us-gov-west-1.amazonaws.com"),
            ("cn-north-1", "arn:aws-cn:sns:", "sqs.cn-north-1.amazonaws.com.cn"),
            ("eu-west-2", "arn:aws:sns:", "sqs.eu-west-2.amazonaws.com"),
        ],
    )
    def test_partitions(self, region: str, arn_prefix: str, host: str) -> None:
        names = stage(region=region).resources
        assert names.alerts_topic_arn.startswith(arn_prefix + region + ":")
        assert names.signal_queue_url.startswith(f"https://{host}/")
        parse_function_env(FunctionEnv.for_stage(stage(region=region)).to_environ())

    @pytest.mark.property
    @settings(max_examples=150, deadline=None)
    @given(name=st.from_regex(r"\A[a-z][a-z0-9-]{1,20}\Z"))
    def test_every_valid_stage_name_gives_names_aws_accepts(self, name: str) -> None:
        """The longest stage name still fits SQS's 80 characters; FunctionEnv validates them."""
        env = FunctionEnv.for_stage(stage(name))
        assert len(stage(name).resources.signal_queue) <= 80
        assert parse_function_env(env.to_environ()) == env


class TestLoadedOnce:
    @pytest.fixture(autouse=True)
    def only_this_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in [n for n in os.environ if n.startswith("MAXTRADER_")]:
            monkeypatch.delenv(name)

    def test_read_on_first_use_then_reused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name, value in REQUIRED.items():
            monkeypatch.setenv(name, value)
        function_env.cache_clear()
        try:
            first = function_env()
            monkeypatch.setenv("MAXTRADER_STAGE", "production")
            assert function_env() is first and first.stage == "staging"
            function_env.cache_clear()
            assert function_env().stage == "production"
        finally:
            function_env.cache_clear()

    def test_a_bad_environment_fails_every_time_not_once(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        function_env.cache_clear()
        for _ in range(2):
            with pytest.raises(ConfigError, match="MAXTRADER_STAGE: missing"):
                function_env()


@pytest.mark.fuzz
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(VARIABLES)),
    value=st.text(st.characters(codec="utf-8"), max_size=300),
)
def test_any_value_loads_or_fails_naming_its_variable(name: str, value: str) -> None:
    try:
        env = parse_function_env({**REQUIRED, name: value})
    except ConfigError as exc:
        assert len(exc.problems) == 1 and exc.problems[0].startswith(f"{name}: ")
    else:
        # What the stack writes reads back as the same model (a number or a URL may be written
        # in its normal form: "1" as "1.0", a trailing slash dropped).
        assert parse_function_env(env.to_environ()) == env
