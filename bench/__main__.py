"""``make bench``: run every ``bench/bench_*.py`` module's ``main()`` in turn."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def main() -> int:
    names = sys.argv[1:] or sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"\n== {name} ==")
        module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
