"""Writable copies of configs/ with a stage file edited as an operator would edit it."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# The shipped production placeholders -> values an operator could have filled in.
FILLED_PRODUCTION = {
    "emails: [oncall@example.com]": "emails: [oncall@maxtrader-ops.net]",
    '"+15555550100"': '"+14155550199"',
    '"222222222222"': '"480326190245"',
}


def edited_configs(tmp_path: Path, stage: str, replacements: dict[str, str]) -> Path:
    """A copy of configs/ under ``tmp_path`` whose ``stage`` file has ``replacements`` applied
    (each must occur: a test must not pass on an edit that silently did nothing)."""
    configs = tmp_path / "configs"
    shutil.copytree(REPO / "configs", configs)
    stage_file = configs / "stages" / f"{stage}.yaml"
    text = stage_file.read_text()
    for old, new in replacements.items():
        assert old in text, f"{old!r} not in {stage_file}"
        text = text.replace(old, new)
    stage_file.write_text(text)
    return configs
