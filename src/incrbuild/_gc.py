"""Full garbage collections deferred while a plan or a commit builds large structures.

A cold plan of a big site allocates millions of objects that all survive (records,
front matter, the site model, indexes).  CPython's collector runs a *full*
collection each time the long-lived heap grew by a quarter, and each one walks the
whole heap: on 100,000 pages, eight of them cost about 3 s of a 15 s cold build
(the growth is geometric, so their total is several walks of the final heap).
Young collections still run, so cycles made and dropped during the build are
freed as before; the threshold is put back afterwards, and the collector's own
rule schedules one full collection later.
"""

from __future__ import annotations

import gc
from types import TracebackType
from typing import Final, final

__all__ = ["DEFERRED_THRESHOLD", "full_collections_deferred"]

#: The oldest generation's threshold while deferred: never reached in practice.
DEFERRED_THRESHOLD: Final = 1 << 30


@final
class full_collections_deferred:  # a context manager, named as contextlib's are
    """Within the block, the collector runs no full (oldest-generation) collection.

    Nested and concurrent uses leave the threshold to the outermost one; a
    collector the host disabled, or tuned to the same value, is left alone.
    """

    __slots__ = ("_saved",)

    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None

    def __enter__(self) -> None:
        threshold = gc.get_threshold()
        if threshold[2] != DEFERRED_THRESHOLD and gc.isenabled():
            self._saved = threshold
            gc.set_threshold(threshold[0], threshold[1], DEFERRED_THRESHOLD)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        saved, self._saved = self._saved, None
        if saved is not None and gc.get_threshold() == (saved[0], saved[1], DEFERRED_THRESHOLD):
            gc.set_threshold(*saved)
