"""Keep the cyclic garbage collector from stopping a busy server's event loop for long.

Two measured causes of long stops (`python -m bench.api_load`, 100 concurrent jobs):

- A server holds about half a million objects from start-up on (provider SDK types,
  pydantic models, SQLAlchemy and DBOS internals). Every full collection walked them all,
  about 270 ms each. Once start-up is over they are moved out of the collector's sight
  (`gc.freeze`), so a full collection walks only what was created since.
- With the default young-generation threshold (700 allocations) the collector ran so often
  that the objects of every call in flight (futures, frames, SQL statements) survived two
  collections and reached the old generation, which then filled up and was collected in
  full every few seconds (70-100 ms each with 100 running jobs). Collecting the young
  generation every 10,000 allocations lets those objects die young: during the benchmark
  no full collection runs, and a young one takes 20-50 ms.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000


def freeze_startup_objects() -> None:
    """Call once, when a long-running process has finished starting."""
    gc.collect()  # leave no start-up garbage behind in the frozen set
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
