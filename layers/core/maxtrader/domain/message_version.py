"""The version field of the queue messages (bar message, signal message).

Pydantic's ``Literal[1]`` accepts JSON ``true`` even in strict mode (``True == 1``): a message
saying ``"version": true`` is not version 1 and must be refused, naming the field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator


def _not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a version is a number, not a boolean")
    return value


VersionOne = Annotated[Literal[1], BeforeValidator(_not_a_boolean)]
