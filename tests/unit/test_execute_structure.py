"""The execute function's shape: thin, its tracer never captures a response, and only the
functions that must talk to the broker build one (alpaca-py brings pandas)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HANDLERS = sorted((REPO / "functions").rglob("handler.py"))
EXECUTE = REPO / "functions" / "execute" / "handler.py"
# The functions whose job needs the broker: orders (execute, killswitch, monitor, eod), its
# connectivity probe (health) and the start-of-day equity (premarket).
BROKER_FUNCTIONS = {"execute", "killswitch", "monitor", "eod", "health", "premarket"}


def calls(path: Path) -> list[ast.Call]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def name_of(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", HANDLERS, ids=lambda p: p.parent.name)
def test_only_broker_facing_functions_build_the_broker(path: Path) -> None:
    # alpaca-py (and pandas behind it) comes only through factory.broker's lazy import.
    assert not [m for m in imports(path) if m.split(".")[0] == "alpaca"]
    uses_broker = "factory.broker" in path.read_text()
    assert not uses_broker or path.parent.name in BROKER_FUNCTIONS


@pytest.mark.parametrize("path", HANDLERS, ids=lambda p: p.parent.name)
def test_no_tracer_decorator_captures_a_response(path: Path) -> None:
    for call in calls(path):
        if name_of(call) in ("capture_method", "capture_lambda_handler"):
            given = {k.arg: k.value for k in call.keywords}
            value = given.get("capture_response")
            assert isinstance(value, ast.Constant) and value.value is False, path


def test_execute_is_idempotent_on_the_signal_id_under_a_stable_prefix() -> None:
    [decorator] = [c for c in calls(EXECUTE) if name_of(c) == "idempotent_function"]
    given = {k.arg: k.value for k in decorator.keywords}
    assert isinstance(given["data_keyword_argument"], ast.Constant)
    assert given["data_keyword_argument"].value == "message"
    assert "key_prefix" in given
    [config] = [c for c in calls(EXECUTE) if name_of(c) == "IdempotencyConfig"]
    keys = {k.arg: k.value for k in config.keywords}
    assert isinstance(keys["event_key_jmespath"], ast.Constant)
    assert keys["event_key_jmespath"].value == "signal.id"
    assert "register_lambda_context" in EXECUTE.read_text()


def test_there_is_an_execute_handler() -> None:
    assert EXECUTE in HANDLERS
