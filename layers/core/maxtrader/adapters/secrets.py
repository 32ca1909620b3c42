"""Secrets from AWS Secrets Manager through Powertools Parameters, as small typed models.

    secrets = Secrets(max_age_seconds=300)                  # one per container, built lazily
    massive = secrets.get("maxtrader/staging/massive", MassiveSecret)
    massive.api_key.get_secret_value()                      # only where the value is used
    secrets.get(name, MassiveSecret, force_fetch=True)      # after the vendor refused the key

Each secret is a JSON object (``SecretString``), parsed into a frozen pydantic model whose
values are ``SecretStr``: their ``repr``/``str`` print ``**********``, so a model that ends up in
a log line, a trace or an exception shows no value. Extra keys are ignored (the operator may
keep notes beside the value); a missing or empty required key is an error naming the key.

Values are cached per container for ``max_age_seconds`` (the stage config's value; 0 turns
caching off) by Powertools' ``SecretsProvider``. After an authentication failure the caller asks
again with ``force_fetch=True``, which reads through the cache: a rotated secret is then picked up
at once instead of after ``max_age``.

Every failure is a ``SecretUnavailableError`` naming the secret and the reason (not found, access
denied, not JSON, a missing key), never carrying the value or the raw vendor message body.
Building a ``Secrets`` holds botocore's response-body logger at INFO (see below).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, TypeVar

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import (
    GetParameterError,
    TransformParameterError,
)
from botocore.exceptions import BotoCoreError
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from maxtrader.domain.errors import SecretUnavailableError

DEFAULT_MAX_AGE_SECONDS = 300
# botocore logs every response body at DEBUG, a GetSecretValue's SecretString included: with a
# DEBUG root logger (a staging stage) the value would reach CloudWatch. Held at INFO.
_BOTOCORE_BODY_LOGGER = "botocore.parsers"
NonEmptySecret = Annotated[SecretStr, Field(min_length=1)]
_REASONS = (
    ("ResourceNotFoundException", "no such secret"),
    ("AccessDeniedException", "access denied"),
    ("DecryptionFailure", "cannot be decrypted"),
    ("InvalidRequestException", "not readable now (deleted or being rotated?)"),
)


class SecretModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class MassiveSecret(SecretModel):
    api_key: NonEmptySecret


class AlpacaSecret(SecretModel):
    key_id: NonEmptySecret
    secret_key: NonEmptySecret


class WebhookSecret(SecretModel):
    """The relay -> ingest signing secret; ``previous`` is still accepted during a rotation."""

    secret: NonEmptySecret
    previous: SecretStr | None = None

    def accepted(self) -> list[str]:
        values = [self.secret.get_secret_value()]
        if self.previous is not None and self.previous.get_secret_value():
            values.append(self.previous.get_secret_value())
        return values


M = TypeVar("M", bound=SecretModel)


class Secrets:
    def __init__(
        self,
        *,
        max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS,
        provider: SecretsProvider | None = None,
    ) -> None:
        if max_age_seconds < 0:
            raise ValueError(f"max_age_seconds must be >= 0, not {max_age_seconds}")
        self.max_age_seconds = max_age_seconds
        body_log = logging.getLogger(_BOTOCORE_BODY_LOGGER)
        body_log.setLevel(max(body_log.getEffectiveLevel(), logging.INFO))
        try:
            self._provider = provider or SecretsProvider()
        except BotoCoreError as exc:  # e.g. no region configured: say so, not a traceback
            raise SecretUnavailableError(f"Secrets Manager client: {exc}") from None

    def get(self, name: str, model: type[M], *, force_fetch: bool = False) -> M:
        try:
            raw: Any = self._provider.get(
                name, max_age=self.max_age_seconds, transform="json", force_fetch=force_fetch
            )
        except TransformParameterError:
            raise SecretUnavailableError(f"secret {name!r} is not a JSON object") from None
        except GetParameterError as exc:
            raise SecretUnavailableError(f"secret {name!r}: {_reason(str(exc))}") from None
        if not isinstance(raw, dict):
            raise SecretUnavailableError(f"secret {name!r} is not a JSON object")
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            # Only the locations and the messages: a ValidationError's text would quote the input.
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                for e in exc.errors(include_url=False, include_input=False)
            )
            raise SecretUnavailableError(f"secret {name!r}: {problems}") from None


def _reason(message: str) -> str:
    for code, reason in _REASONS:
        if code in message:
            return reason
    return f"Secrets Manager could not be read: {message[:200]}"
