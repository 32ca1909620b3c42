"""Stands in for a function whose handler is not in this checkout, so the stack synthesizes.

The synth warns about it and ``make deploy`` refuses to deploy it (infra/deploy_preflight.py);
should it ever run, it fails loudly rather than pretend to have done its job.
"""

from typing import Any


def lambda_handler(event: Any, context: Any) -> None:
    raise RuntimeError("this function's handler was not deployed (infra/stubs/handler-NOT-WRITTEN)")
