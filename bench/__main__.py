"""Run every benchmark module in this package, one after the other."""

from __future__ import annotations

import importlib
import pkgutil

import bench


def main() -> None:
    for module_info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        print(f"== bench.{module_info.name}")
        importlib.import_module(f"bench.{module_info.name}").main()
        print()


if __name__ == "__main__":
    main()
