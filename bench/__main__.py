"""``python -m bench NAME [...]``: one benchmark (``core``, ``filters``, ``daemon``,
``memory``) or an older script by name."""

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
    commands = ("core", "filters", "daemon", "memory")
    if len(sys.argv) < 2 or sys.argv[1] not in (*commands, *SCRIPTS):
        names = ",".join((*commands, *SCRIPTS))
        print(f"usage: python -m bench {{{names}}} [options]", file=sys.stderr)
        return 2
    name, rest = sys.argv[1], sys.argv[2:]
    if name == "core":
        from bench.core import main as core

        return core(rest)
    if name == "filters":
        from bench.filters import main as filters

        return filters(rest)
    if name == "daemon":
        from bench.daemon import main as daemon

        return daemon(rest)
    if name == "memory":
        from bench.memory import main as memory

        return memory(rest)
    sys.path.insert(0, str(HERE))  # the scripts import each other by bare name
    sys.argv = [str(HERE / SCRIPTS[name]), *rest]
    runpy.run_path(sys.argv[0], run_name="__main__")
    return 0


sys.exit(main())
