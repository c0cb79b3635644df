"""``python -m bench [name ...]``: run every benchmark module (or the named ones).

A benchmark is any module in this package with a ``main() -> dict`` returning its figures;
each runs in turn and its figures are printed as it finishes, then all of them as one
JSON object (also written to ``bench/out/results.json``).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path
from typing import Any

import bench

# Modules of this package that are tools, not benchmarks.
NOT_BENCHMARKS = frozenset({"__main__", "generate", "fakes"})


def discover() -> list[str]:
    """Names of the benchmark modules, sorted."""
    return sorted(
        m.name
        for m in pkgutil.iter_modules(bench.__path__)
        if m.name not in NOT_BENCHMARKS and not m.name.startswith("_")
    )


def run(names: list[str]) -> dict[str, Any]:
    """Import and run each named module's ``main()``; failures are reported, not fatal."""
    results: dict[str, Any] = {}
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        main = getattr(module, "main", None)
        if not callable(main):
            continue
        print(f"== bench.{name}", flush=True)
        started = time.perf_counter()
        # Modules may parse sys.argv when main() gets no arguments: show them none.
        saved, sys.argv = sys.argv, [f"bench.{name}"]
        try:
            figures = main()
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            figures = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            sys.argv = saved
        results[name] = figures
        print(json.dumps(figures, indent=2, default=str), flush=True)
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    return results


def cli(argv: list[str]) -> int:
    """Run the benchmarks named in ``argv`` (all when empty); exit 1 if any failed."""
    names = argv or discover()
    unknown = [n for n in names if n not in discover()]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have {', '.join(discover())}")
        return 2
    results = run(names)
    out = Path(bench.__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(json.dumps(results, default=str))
    return 1 if any(isinstance(r, dict) and "error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
