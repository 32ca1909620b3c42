"""Measure a Lambda layer directory unzipped and hold it to Lambda's limit.

    python layers/deps/layer_size.py DIR [--limit-mb 200]

Prints ``<DIR>: 129.4 MB unzipped (limit 200 MB)`` and exits 1 when the directory is over the
limit. Lambda caps a function and all its layers at 250 MB unzipped; the dependency layer keeps
200 MB of that so the core layer and the handlers fit beside it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

LIMIT_MB = 200
MB = 1_000_000  # Lambda's quotas are decimal megabytes


def unzipped_bytes(directory: Path) -> int:
    """The total size of the regular files under ``directory`` (symlinks not followed)."""
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: not a directory")
    total = 0
    for root, _dirs, files in os.walk(directory):
        for name in files:
            path = Path(root, name)
            if not path.is_symlink():
                total += path.stat().st_size
    return total


def check(directory: Path, limit_mb: int = LIMIT_MB) -> tuple[bool, str]:
    """(within the limit, the line to print)."""
    size = unzipped_bytes(directory)
    line = f"{directory}: {size / MB:.1f} MB unzipped (limit {limit_mb} MB)"
    if size > limit_mb * MB:
        return False, line + f": OVER by {(size - limit_mb * MB) / MB:.1f} MB"
    return True, line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--limit-mb", type=int, default=LIMIT_MB)
    args = parser.parse_args(argv)
    try:
        ok, line = check(args.directory, args.limit_mb)
    except FileNotFoundError as exc:
        print(f"layer-size: {exc} (build it with `make layer`)", file=sys.stderr)
        return 2
    print(line, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
