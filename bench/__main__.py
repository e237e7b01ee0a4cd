"""``make bench``: run every benchmark module in this folder, one process each."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    failed = 0
    for module in sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_")):
        print(f"== bench.{module}", flush=True)
        failed += subprocess.call([sys.executable, "-m", f"bench.{module}"], cwd=HERE.parent) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
