"""The handlers' process as Lambda gives it: where their output goes, and the botocore hooks
(drills' faults, the usage meter, queue sends) on the session their clients come from."""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def handler_output(path: Path) -> Iterator[None]:
    """The handlers' output (Powertools log lines and EMF metrics, what Lambda sends to
    CloudWatch Logs) goes to ``path``; the terminal keeps the live log (which holds the real
    stdout from before)."""
    from maxtrader.runtime.observability import logger  # noqa: PLC0415

    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logger.registered_handler
    with (
        path.open("w", encoding="utf-8") as stream,
        contextlib.redirect_stdout(stream),
        warnings.catch_warnings(),
    ):
        # Powertools' own warnings (an empty metrics flush...) belong with its log lines.
        warnings.filterwarnings("ignore", module=r"aws_lambda_powertools(\.|$)")
        previous = handler.setStream(stream) if isinstance(handler, logging.StreamHandler) else None
        try:
            yield
        finally:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(previous or sys.__stdout__)


class botocore_hooks:
    """botocore event hooks on the default session (the handlers' clients) for the run."""

    def __init__(self, hooks: list[tuple[str, Callable[..., Any]]]) -> None:
        self.hooks = hooks

    def __enter__(self) -> None:
        import boto3  # noqa: PLC0415

        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
        for event, hook in self.hooks:
            session.events.register(event, hook)  # type: ignore[union-attr]

    def __exit__(self, *exc: object) -> None:
        import boto3  # noqa: PLC0415

        if boto3.DEFAULT_SESSION is not None:
            for event, hook in self.hooks:
                boto3.DEFAULT_SESSION.events.unregister(event, hook)
