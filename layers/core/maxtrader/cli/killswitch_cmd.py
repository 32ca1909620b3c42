"""``maxtrader kill-switch``: call the kill-switch Function URL, signed with your AWS credentials.

    maxtrader kill-switch status    --stage production
    maxtrader kill-switch engage    --stage production --reason "runaway fills" [--flatten]
    maxtrader kill-switch release   --stage production --reason "fixed, checked"
    maxtrader kill-switch safe-mode --stage production --on|--off --reason "broker flaky"
    maxtrader kill-switch flatten   --stage production --reason "get out"

The URL is the stack's ``KillSwitchUrl`` output (stack ``MaxTrader-<stage>``) unless ``--url``
gives it. The request is signed with SigV4 (service ``lambda``) by botocore's ``SigV4Auth`` with
the credentials of the default botocore session (environment, profile, SSO, instance role).
The answer is printed as JSON. Exit 0: done; 1: the function answered with a failure (a flatten
that failed, a 4xx/5xx); 2: the request could not be made (no credentials, a 403, an unreachable
or non-https URL), with one line on stderr. docs/runbook.md says what to do then.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

EXIT_FAILED, EXIT_USAGE = 1, 2
STACK_OUTPUT = "KillSwitchUrl"
NO_CREDENTIALS = "no AWS credentials found (set AWS_PROFILE, run 'aws sso login' or export keys)"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_URL_REGION = re.compile(r"\.lambda-url\.([a-z]{2}(?:-gov)?-[a-z]+-\d)\.on\.aws$")
_ACTIONS = {  # command -> (method, path)
    "status": ("GET", "/status"),
    "engage": ("POST", "/engage"),
    "release": ("POST", "/release"),
    "safe-mode": ("POST", "/safe-mode"),
    "flatten": ("POST", "/flatten"),
}


class CommandError(Exception):
    """A one-line reason the request could not be made (exit 2)."""


def register(commands: Any) -> None:
    cmd = commands.add_parser(
        "kill-switch",
        help="engage/release the kill switch (signed)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("action", choices=list(_ACTIONS))
    cmd.add_argument("--stage", required=True, help="staging or production")
    cmd.add_argument("--url", help="the Function URL (default: the stack's KillSwitchUrl)")
    cmd.add_argument("--reason", help="why (required for every change; kept in the audit)")
    cmd.add_argument("--flatten", action="store_true", help="engage: also close everything")
    cmd.add_argument("--on", dest="on", action="store_true", default=None, help="safe mode on")
    cmd.add_argument("--off", dest="on", action="store_false", help="safe mode off")
    cmd.add_argument("--region", help="AWS region (default: from the URL, else your session)")
    cmd.add_argument("--timeout", type=float, default=15.0, help="seconds (default 15)")
    cmd.set_defaults(handler=kill_switch_command)


def kill_switch_command(args: argparse.Namespace) -> int:
    try:
        body = _body(args)
        url = args.url or stack_output_url(args.stage, args.region)
        signed = sign(args.action, url, body, args.region)
        status, answer = send(signed, args.timeout)
    except CommandError as exc:
        print(f"maxtrader kill-switch: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(answer, indent=2, sort_keys=True))
    if status >= 400 or answer.get("ok") is False:
        return EXIT_FAILED
    return 0


def _body(args: argparse.Namespace) -> dict[str, Any] | None:
    if args.action == "status":
        return None
    # Whitespace of any kind (a non-breaking space or a line break pasted from a chat) becomes
    # one plain space: the URL refuses what is not printable, and this is the operator's path
    # when everything else is failing.
    reason = " ".join((args.reason or "").split())
    if not reason:
        raise CommandError(f"{args.action} needs --reason TEXT (it is audited and alerted)")
    body: dict[str, Any] = {"reason": reason}
    if args.action == "engage" and args.flatten:
        body["flatten"] = True
    if args.action == "safe-mode":
        if args.on is None:
            raise CommandError("safe-mode needs --on or --off")
        body["on"] = args.on
    return body


@dataclass(frozen=True)
class SignedRequest:
    method: str
    url: str
    headers: dict[str, str]
    data: bytes | None


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "http" and parts.hostname in _LOOPBACK:
        return url.rstrip("/")
    if parts.scheme != "https" or not parts.hostname:
        raise CommandError(f"{url!r} is not an https URL (plain http only on 127.0.0.1)")
    return url.rstrip("/")


def sign(action: str, url: str, body: dict[str, Any] | None, region: str | None) -> SignedRequest:
    """The request to ``action`` on ``url``, signed with SigV4 for service ``lambda``."""
    from botocore.auth import SigV4Auth  # noqa: PLC0415 - botocore loads only for this command
    from botocore.awsrequest import AWSRequest  # noqa: PLC0415
    from botocore.exceptions import BotoCoreError  # noqa: PLC0415
    from botocore.session import get_session  # noqa: PLC0415

    base = check_url(url)
    session = get_session()
    try:
        credentials = session.get_credentials()
    except BotoCoreError as exc:
        raise CommandError(f"AWS credentials could not be loaded: {exc}") from None
    if credentials is None:
        raise CommandError(NO_CREDENTIALS)
    match = _URL_REGION.search(urlsplit(base).hostname or "")
    region = region or (match.group(1) if match else None) or session.get_config_variable("region")
    if not region:
        raise CommandError("no AWS region: give --region (the URL does not name one)")
    method, path = _ACTIONS[action]
    data = None if body is None else json.dumps(body).encode("utf-8")
    headers = {"Content-Type": "application/json"} if data is not None else {}
    request = AWSRequest(method=method, url=base + path, data=data, headers=headers)
    SigV4Auth(credentials.get_frozen_credentials(), "lambda", region).add_auth(request)
    return SignedRequest(method, base + path, dict(request.headers.items()), data)


def send(request: SignedRequest, timeout: float) -> tuple[int, dict[str, Any]]:
    http = urllib.request.Request(  # noqa: S310 - the scheme was checked (https, or loopback)
        request.url, data=request.data, headers=request.headers, method=request.method
    )
    try:
        with urllib.request.urlopen(http, timeout=timeout) as response:  # noqa: S310
            return response.status, _answer(response.read())
    except urllib.error.HTTPError as exc:
        answer = _answer(exc.read())
        if exc.code == 403:
            raise CommandError(
                "403 Forbidden: your credentials may not call this URL "
                "(they need lambda:InvokeFunctionUrl on the kill-switch function)"
            ) from None
        return exc.code, answer
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CommandError(
            f"{request.url} is unreachable ({reason}); see docs/runbook.md for the manual switch"
        ) from None


def _answer(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        return {"error": raw.decode("utf-8", "replace")[:500]}
    return data if isinstance(data, dict) else {"answer": data}


def stack_output_url(stage: str, region: str | None) -> str:
    """The ``KillSwitchUrl`` output of stack ``MaxTrader-<stage>``."""
    import boto3  # noqa: PLC0415
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError  # noqa: PLC0415

    from maxtrader.config.loader import load_stage  # noqa: PLC0415
    from maxtrader.domain.errors import ConfigError  # noqa: PLC0415

    try:
        region = region or load_stage(stage).aws.region
    except ConfigError as exc:
        raise CommandError(f"stage {stage!r}: {exc.problems[0]}") from None
    stack = f"MaxTrader-{stage}"
    try:
        described = boto3.client("cloudformation", region_name=region).describe_stacks(
            StackName=stack
        )
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", str(exc))
        raise CommandError(f"stack {stack} in {region}: {message}; give --url") from None
    except NoCredentialsError:  # --url would not help: the request is signed with them too
        raise CommandError(NO_CREDENTIALS) from None
    except BotoCoreError as exc:
        raise CommandError(f"stack {stack} in {region}: {exc}; give --url") from None
    for output in described["Stacks"][0].get("Outputs", []):
        if output.get("OutputKey") == STACK_OUTPUT and output.get("OutputValue"):
            return str(output["OutputValue"])
    raise CommandError(f"stack {stack} has no {STACK_OUTPUT} output; give --url")
