"""The synth cache key follows every input of the synth and nothing else."""

from __future__ import annotations

from pathlib import Path

from maxtrader.simulate.stack_template import template_key


def _checkout(root: Path) -> Path:
    for path, text in {
        "infra/app.py": "app",
        "infra/maxtrader_infra/stack.py": "stack",
        "layers/core/maxtrader/configs/safety.yaml": "limits: {}",
        "layers/core/maxtrader/config/stage.py": "models",
        "layers/core/maxtrader/state_schema.py": "keys",
        "layers/core/maxtrader/domain/models.py": "not read by the synth",
        "cdk.json": "{}",
    }.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def test_the_key_changes_with_each_input_and_only_with_them(tmp_path: Path) -> None:
    repo = _checkout(tmp_path)
    base = template_key(repo, "staging")
    assert template_key(repo, "production") != base
    (repo / "layers/core/maxtrader/domain/models.py").write_text("changed")
    (repo / "infra/maxtrader_infra/__pycache__").mkdir()
    (repo / "infra/maxtrader_infra/__pycache__/stack.cpython-311.pyc").write_bytes(b"\0")
    assert template_key(repo, "staging") == base
    for path in ("infra/maxtrader_infra/stack.py", "layers/core/maxtrader/configs/safety.yaml",
                 "layers/core/maxtrader/state_schema.py", "cdk.json"):  # fmt: skip
        before = template_key(repo, "staging")
        (repo / path).write_text("changed " + path)
        assert template_key(repo, "staging") != before, path
