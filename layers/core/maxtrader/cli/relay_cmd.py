"""``maxtrader relay``: hold the Massive stream and POST its minute bars, signed, to the ingest URL.

    maxtrader relay --ingest-url https://<id>.lambda-url.us-east-1.on.aws/ --symbols SPY,QQQ

Settings come from the flags or the environment (flags win); docs/relay.md has the whole list:

    MAXTRADER_INGEST_URL            the ingest Function URL
    MAXTRADER_RELAY_SYMBOLS         SPY,QQQ
    MASSIVE_API_KEY                 the vendor key (or POLYGON_API_KEY), else
    MAXTRADER_MASSIVE_SECRET_NAME   a Secrets Manager secret {"api_key": "..."}
    MAXTRADER_WEBHOOK_SECRET        the signing secret, else
    MAXTRADER_WEBHOOK_SECRET_NAME   a Secrets Manager secret {"secret": "..."}
    MAXTRADER_SECRETS_MAX_AGE       seconds a Secrets Manager value is cached (default 300)
    MASSIVE_FEED                    host[:port] of the stream (default socket.massive.com)

It runs until SIGTERM or SIGINT, then hands on what it holds and exits 0. Exit 2 for a usage
error (no URL, no symbols, no key or secret, a plain-http URL to a non-loopback host).
Values read from the environment or Secrets Manager are never printed or logged.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from maxtrader.domain.errors import MaxTraderError

EXIT_USAGE = 2
KEY_VARIABLES = ("MASSIVE_API_KEY", "POLYGON_API_KEY")
DEFAULT_FEED = "socket.massive.com"
DEFAULT_SECRETS_MAX_AGE = 300
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def register(commands: Any) -> None:
    relay = commands.add_parser("relay", help="stream Massive minute bars to the ingest URL")
    relay.add_argument("--ingest-url", default=os.environ.get("MAXTRADER_INGEST_URL"))
    relay.add_argument(
        "--symbols",
        default=os.environ.get("MAXTRADER_RELAY_SYMBOLS"),
        help="comma-separated tickers, e.g. SPY,QQQ",
    )
    relay.add_argument("--feed", default=os.environ.get("MASSIVE_FEED", DEFAULT_FEED))
    relay.add_argument("--market", default="stocks")
    relay.add_argument("--insecure-feed", action="store_true", help=argparse.SUPPRESS)  # emulator
    relay.add_argument("--batch-size", type=int, default=100)
    relay.add_argument("--max-buffer", type=int, default=10_000)
    relay.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING"))
    relay.set_defaults(handler=relay_command)


class _UsageError(Exception):
    pass


def relay_command(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from maxtrader.relay import Relay, RelaySettings  # noqa: PLC0415 - only this command needs it

    # The massive client gives its logger a stdout handler of its own: every line would print
    # twice beside the root handler above.
    logging.getLogger("WebSocketClient").handlers.clear()

    try:
        if not args.ingest_url:
            raise _UsageError("no ingest URL: give --ingest-url or set MAXTRADER_INGEST_URL")
        symbols = tuple(s.strip() for s in (args.symbols or "").split(",") if s.strip())
        if not symbols:
            raise _UsageError("no symbols: give --symbols SPY,QQQ or set MAXTRADER_RELAY_SYMBOLS")
        settings = RelaySettings(
            symbols=symbols,
            ingest_url=args.ingest_url,
            feed=args.feed,
            market=args.market,
            secure=not args.insecure_feed,
            batch_size=args.batch_size,
            max_buffer=args.max_buffer,
        )
        api_key = _source(KEY_VARIABLES, "MAXTRADER_MASSIVE_SECRET_NAME", "api_key", "Massive key")
        secret = _source(
            ("MAXTRADER_WEBHOOK_SECRET",),
            "MAXTRADER_WEBHOOK_SECRET_NAME",
            "secret",
            "webhook secret",
        )
        api_key(False), secret(False)  # fail now, not at the first bar
    except (_UsageError, MaxTraderError, ValueError) as exc:
        print(f"maxtrader relay: {exc}", file=sys.stderr)
        return EXIT_USAGE
    asyncio.run(_run(Relay(settings, api_key=api_key, ingest_secret=secret)))
    return 0


async def _run(relay: Any) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await relay.run(stop)


def _source(
    variables: tuple[str, ...], name_variable: str, field: str, what: str
) -> Callable[[bool], str]:
    """A value from the first set variable (fixed), else from Secrets Manager (refetchable)."""
    fixed = next((os.environ[v] for v in variables if os.environ.get(v)), None)
    if fixed is not None:
        return lambda force_refresh: fixed
    secret_name = os.environ.get(name_variable)
    if not secret_name:
        raise _UsageError(f"no {what}: set {' or '.join(variables)}, or {name_variable}")
    from maxtrader.adapters.secrets import MassiveSecret, Secrets, WebhookSecret  # noqa: PLC0415

    secrets = Secrets(
        max_age_seconds=int(os.environ.get("MAXTRADER_SECRETS_MAX_AGE", DEFAULT_SECRETS_MAX_AGE))
    )
    model = MassiveSecret if field == "api_key" else WebhookSecret

    def read(force_refresh: bool) -> str:
        value = getattr(secrets.get(secret_name, model, force_fetch=force_refresh), field)
        return str(value.get_secret_value())

    return read
