"""``python -m bench NAME [...]``: one benchmark (``core``, ``filters``) or an older script."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = {
    "patterns": "bench_patterns.py",
    "metrics": "bench_metrics.py",
    "process": "bench_process.py",
}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("core", "filters", *SCRIPTS):
        names = ",".join(("core", "filters", *SCRIPTS))
        print(f"usage: python -m bench {{{names}}} [options]", file=sys.stderr)
        return 2
    name, rest = sys.argv[1], sys.argv[2:]
    if name == "core":
        from bench.core import main as core

        return core(rest)
    if name == "filters":
        from bench.filters import main as filters

        return filters(rest)
    sys.path.insert(0, str(HERE))  # the scripts import each other by bare name
    sys.argv = [str(HERE / SCRIPTS[name]), *rest]
    runpy.run_path(sys.argv[0], run_name="__main__")
    return 0


sys.exit(main())
