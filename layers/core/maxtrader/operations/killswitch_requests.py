"""What the kill-switch URL accepts: the caller's identity and the request bodies, validated.

Every refusal is a ``RequestRefused`` carrying its HTTP status and a one-line message naming the
problem (the field, the identity); it is raised before anything is read or written, so a refused
request changes nothing.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, ValidationError

from maxtrader.domain.errors import MaxTraderError

MAX_BODY_BYTES = 4096  # the largest valid body is a few hundred bytes
MAX_REASON_CHARS = 500
# An IAM user, role or assumed-role session, in any partition (what the URL's AWS_IAM auth puts
# in the request context). Anything else is not an identity this function acts for.
_IAM_ARN = re.compile(
    r"arn:aws(-cn|-us-gov)?:(iam|sts)::\d{12}:(root|(user|role|assumed-role)/[A-Za-z0-9+=,.@_/-]+)"
)
_MAX_ARN_CHARS = 2048


class RequestRefused(MaxTraderError):
    """A request the function will not act on; ``status`` is its HTTP answer (4xx)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _reason(value: str) -> str:
    # Printable as ``str.isprintable`` says, the very rule the safety engine applies to a reason
    # (domain/safety/operator.py): a reason accepted here and refused there would answer an
    # operator's engage with a 500 and leave the switch off (a pasted non-breaking space did).
    if not value.isprintable():
        raise ValueError(
            "must not contain control characters (newlines, tabs, non-breaking or zero-width "
            "spaces ...)"
        )
    if not value.strip():
        raise ValueError("must say why (not only spaces)")
    return value


Reason = Annotated[str, Field(min_length=1, max_length=MAX_REASON_CHARS), AfterValidator(_reason)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


M = TypeVar("M", bound=_Body)


class EngageRequest(_Body):
    reason: Reason
    flatten: StrictBool = False


class ReleaseRequest(_Body):
    reason: Reason


class SafeModeRequest(_Body):
    on: StrictBool
    reason: Reason


class FlattenRequest(_Body):
    reason: Reason


def caller_arn(request_context: Any) -> str:
    """The IAM ARN the Function URL authenticated, or ``RequestRefused(403)``."""
    arn: Any = None
    if isinstance(request_context, dict):
        authorizer = request_context.get("authorizer")
        iam = authorizer.get("iam") if isinstance(authorizer, dict) else None
        arn = iam.get("userArn") if isinstance(iam, dict) else None
    if not isinstance(arn, str) or len(arn) > _MAX_ARN_CHARS or not _IAM_ARN.fullmatch(arn):
        raise RequestRefused(403, "no IAM identity in the request (sign it with SigV4)")
    return arn


def parse_body(raw: str | bytes | None, model: type[M]) -> M:
    """The body as ``model``; ``RequestRefused(400)`` naming the first problem found."""
    if raw is None or raw in ("", b""):
        raise RequestRefused(400, "body: a JSON object is required")
    size = len(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)
    if size > MAX_BODY_BYTES:
        raise RequestRefused(400, f"body: {size} bytes is over {MAX_BODY_BYTES}")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than json can take
        raise RequestRefused(400, "body: not valid JSON") from None
    if not isinstance(data, dict):
        raise RequestRefused(400, "body: must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = f"unknown field (allowed: {', '.join(model.model_fields)})"
        raise RequestRefused(400, f"{field}: {message}") from None
