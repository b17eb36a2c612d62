"""The cyclic garbage collector, set for a batch workload.

Processing allocates a few dozen short-lived objects per event, nearly all
freed by reference counting; with the default thresholds the collector still
runs every 700 allocations and rescans everything start-up built (modules,
the compiled config, patterns). Freezing that once start-up is done and
collecting the young generation less often is what the profile of issue 9
measured at about +8%; ``python -m bench core --gc`` measures it again.
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_THRESHOLD", "tune_for_batches"]

#: allocations between young collections (CPython's default is 700)
YOUNG_THRESHOLD = 50_000


def tune_for_batches(young: int = YOUNG_THRESHOLD) -> None:
    """Freeze what exists now (call once start-up is done) and collect less often."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(young, older, oldest)
