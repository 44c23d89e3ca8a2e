"""The state directory's layout on disk, as plain constants (no msgspec, no attrs).

Shared by :mod:`incrbuild._state`, which writes and reads the store, and
:mod:`incrbuild._noop`, which reads just enough of it to prove a fresh
``incrbuild plan`` has nothing to do without importing the full machinery.
See :mod:`incrbuild._state` for what each part holds.
"""

from __future__ import annotations

import struct

TYPE_CHECKING = False  # not typing's: a fresh no-op plan does not import typing
if TYPE_CHECKING:
    from typing import Final

__all__ = [
    "DEFAULT_RACY_WINDOW_NS",
    "DEFAULT_STATE_DIR_NAME",
    "ENTRY_HEADER",
    "ESCAPED",
    "HAS_DIGEST",
    "HEADER",
    "ID_SIZE",
    "INT_FORMATS",
    "IS_PAGE",
    "JOURNAL_FILE_NAME",
    "JOURNAL_HEADER",
    "JOURNAL_MAGIC",
    "LOCK_FILE_NAME",
    "MAGIC",
    "NUMBER_COLUMNS",
    "PAGE_BYTES",
    "SCHEMA_VERSION",
    "SNAPSHOT_FIELDS",
    "STATE_FILE_NAME",
    "TRAILER",
]

#: The state directory's name under the content root when none is given.
DEFAULT_STATE_DIR_NAME: Final = ".incrbuild"
STATE_FILE_NAME: Final = "state.bin"
JOURNAL_FILE_NAME: Final = "journal.bin"
LOCK_FILE_NAME: Final = "lock"

SCHEMA_VERSION: Final = 7  # 6: file records column-wise; 7: rows found by directory runs
MAGIC: Final = b"INCRBLD\x00"
JOURNAL_MAGIC: Final = b"INCRJNL\x00"
ID_SIZE: Final = 32
#: Snapshot header: magic, schema version, flags, commit id (NUL-padded), token.
HEADER: Final = struct.Struct(f"<8sII{ID_SIZE}s8s")
#: Snapshot trailer: CRC-32 of everything after the magic.
TRAILER: Final = struct.Struct("<I")
#: Journal header: magic, schema version, token of the snapshot it extends.
JOURNAL_HEADER: Final = struct.Struct("<8sI8s")
#: Journal entry header: payload length, CRC-32 (of what follows it), flags, commit id.
ENTRY_HEADER: Final = struct.Struct(f"<III{ID_SIZE}s")
ESCAPED: Final = 1  # header or entry flag: some strings are stored escaped

#: A snapshot payload's fields, in order (msgpack array; ``_state._Snapshot``).
SNAPSHOT_FIELDS: Final = (
    "root",
    "snapshot_ns",
    "commit_id",
    "count",
    "keys",
    "widths",
    "numbers",
    "flags",
    "digests",
    "front_matter",
    "dirs",
    "dependencies",
    "dependents",
    "outputs",
    "reads",
    "readers",
    "runs",
    "strays",
)
#: The integer file columns of a snapshot, one after the other in ``numbers``.
NUMBER_COLUMNS: Final = ("mtime", "size", "ino", "ctime", "mode", "digest_lengths", "fm_lengths")
#: Widths an integer column may have, and their ``struct``/``memoryview`` formats.
INT_FORMATS: Final = {1: "b", 2: "h", 4: "i", 8: "q"}
HAS_DIGEST: Final = 1  # row flag: the record has a digest (b"" is one; None is not)
IS_PAGE: Final = 2  # row flag: the record carries front matter
#: Translation table turning a column of row flags into a 0/1 "is a page" byte per row.
PAGE_BYTES: Final = bytes(1 if flags & IS_PAGE else 0 for flags in range(256))

#: Files whose mtime or ctime lie within this long before the last snapshot are
#: content-checked.  Two seconds covers FAT's 2 s mtimes, HFS+'s 1 s, and the
#: coarse kernel clock that stamps files (a tick behind ``time.time_ns()``).
DEFAULT_RACY_WINDOW_NS: Final = 2_000_000_000
