"""The persisted state: fingerprints, directory listings and page facts, as msgspec on disk.

Like git's split index, the store is a base snapshot plus an append-only journal,
so a commit costs what it changed, not what the site holds:

- ``state.bin``: an 8-byte magic, little-endian u32 schema version and flags,
  the commit id (32 bytes, NUL-padded, so a writer checks for a concurrent
  commit without decoding), an 8-byte token naming this snapshot, the msgpack
  payload, and a CRC-32 of everything after the magic.  The payload holds the
  file records column-wise (:class:`_Snapshot`): a load builds no object per
  file, and a plan builds records only for files whose stat differs
  (:class:`FileTable`).
- ``journal.bin``: a magic, the version, the token of the snapshot it extends,
  then one entry per later commit: u32 length, u32 CRC-32, u32 flags, the
  commit id, and the msgpack of the records that commit set or dropped.

A commit whose state was loaded (or saved) by this store appends one entry and
fsyncs it; a commit that rebuilt the whole state, or a journal grown past a
quarter of the snapshot, writes a new snapshot to a temporary file that is
fsynced and renamed over the old one (which orphans the old journal: its token
no longer matches).  All writes happen under an inter-process lock.  A reader
sees the old state or the new one, never a torn one: an entry cut short by a
killed writer fails its checksum and is ignored, and the next append writes over
it.  A snapshot or entry that is missing, empty, truncated, garbage, of another
version, or well-checksummed but undecodable is reported with a
:class:`StateWarning` and read as the empty state, which makes every file count
as added: the safe direction.

Keys are POSIX paths relative to the content root as ``os`` gives them: a name
that is not UTF-8 holds lone surrogates (``surrogateescape``), which msgpack
cannot carry, so such strings are stored escaped (a NUL, which no path holds,
then their bytes as Latin-1) and restored exactly on load.
"""

from __future__ import annotations

import bisect
import contextlib
import operator
import os
import struct
import sys
import time
import warnings
import zlib
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar, final

import msgspec

from incrbuild._errors import StateLockedError, StateWarning, StateWriteError
from incrbuild._layout import ENTRY_HEADER as _ENTRY_HEADER
from incrbuild._layout import ESCAPED as _ESCAPED
from incrbuild._layout import HAS_DIGEST as _HAS_DIGEST
from incrbuild._layout import HEADER as _HEADER
from incrbuild._layout import ID_SIZE as _ID_SIZE
from incrbuild._layout import INT_FORMATS as _INT_FORMATS
from incrbuild._layout import IS_PAGE as _IS_PAGE
from incrbuild._layout import (
    JOURNAL_FILE_NAME,
    LOCK_FILE_NAME,
    SCHEMA_VERSION,
    STATE_FILE_NAME,
)
from incrbuild._layout import JOURNAL_HEADER as _JOURNAL_HEADER
from incrbuild._layout import JOURNAL_MAGIC as _JOURNAL_MAGIC
from incrbuild._layout import MAGIC as _MAGIC
from incrbuild._layout import NUMBER_COLUMNS as _NUMBER_COLUMNS
from incrbuild._layout import PAGE_BYTES as _PAGE_BYTES
from incrbuild._layout import TRAILER as _TRAILER

if TYPE_CHECKING:
    import array

__all__ = [
    "SCHEMA_VERSION",
    "CorruptRecordError",
    "DirRecord",
    "FileRecord",
    "FileTable",
    "PageRecords",
    "StatTuple",
    "State",
    "StateStore",
    "copy_files",
    "records_not_in",
]

_ESCAPE: Final = "\x00"  # starts a string stored escaped (no path holds a NUL)
#: A journal is compacted into a new snapshot once it outgrows this and a quarter of the snapshot.
_MIN_JOURNAL_BYTES: Final = 64 * 1024
_TEMP_PREFIX: Final = ".state-"
_TEMP_SUFFIX: Final = ".tmp"

#: ``(mtime_ns, size, inode, ctime_ns, mode)`` as ``os.stat`` reports them.
StatTuple = tuple[int, int, int, int, int]


class CorruptRecordError(ValueError):
    """A stored record passed its checksum but cannot be decoded: the store is unusable."""


class FileRecord(msgspec.Struct, array_like=True, frozen=True, gc=False, omit_defaults=True):
    """What was known of one tracked file: stat fields, content digest, and a page's front matter.

    The stat fields are flat rather than a tuple (at 100,000 files a tuple each
    is 10 MB).  ``front_matter`` is set for pages: their JSON-like front matter,
    kept encoded until a plan asks for it, which it does only for pages that
    changed (100,000 pages cost bytes, not dictionaries).  It lets a warm build plan, and
    rebuild its site model, without re-reading pages that did not change.
    """

    mtime_ns: int
    size: int
    ino: int
    ctime_ns: int
    mode: int
    digest: bytes | None = None
    front_matter: bytes = b""  # msgpack of the front matter; empty: not a page

    @classmethod
    def of(cls, stat: StatTuple, digest: bytes | None = None) -> FileRecord:
        """Return the record of stat tuple *stat* and *digest*."""
        return cls(stat[0], stat[1], stat[2], stat[3], stat[4], digest)

    def with_metadata(self, metadata: dict[str, Any] | None) -> FileRecord:
        """Return this record carrying *metadata* as its page's front matter (``None``: no page)."""
        encoded = b"" if metadata is None else _ENCODER.encode(metadata)
        return msgspec.structs.replace(self, front_matter=encoded)

    @property
    def metadata(self) -> dict[str, Any]:
        """The page's front matter, decoded afresh on each access (``{}`` if not a page)."""
        if not self.front_matter:
            return {}
        try:
            return _METADATA_DECODER.decode(self.front_matter)
        except msgspec.DecodeError as error:
            raise CorruptRecordError(f"a stored page record cannot be decoded: {error}") from None

    @property
    def stat(self) -> StatTuple:
        """The stat tuple ``(mtime_ns, size, inode, ctime_ns, mode)``."""
        return (self.mtime_ns, self.size, self.ino, self.ctime_ns, self.mode)


class DirRecord(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One listed directory: its stat tuple and its tracked files' and subdirectories' names."""

    stat: StatTuple
    files: tuple[str, ...]
    dirs: tuple[str, ...]


class PageRecords(Mapping[str, FileRecord]):
    """The file records that belong to pages (those with front matter): a view, not a copy."""

    __slots__ = ("_files",)

    def __init__(self, files: Mapping[str, FileRecord]) -> None:
        self._files = files

    def __getitem__(self, key: str) -> FileRecord:
        record = self._files[key]
        if not record.front_matter:
            raise KeyError(key)
        return record

    def __contains__(self, key: object) -> bool:
        record = self._files.get(key) if isinstance(key, str) else None
        return record is not None and bool(record.front_matter)

    def __iter__(self) -> Iterator[str]:
        if isinstance(self._files, FileTable):
            return self._files.page_keys()
        return (key for key, record in self._files.items() if record.front_matter)

    def __len__(self) -> int:
        if isinstance(self._files, FileTable):
            return self._files.page_count()
        return sum(1 for _ in self)


class State(msgspec.Struct, kw_only=True):
    """Everything one commit recorded; keys are POSIX paths relative to ``root``."""

    root: str = ""
    snapshot_ns: int = 0
    commit_id: str = ""
    files: MutableMapping[str, FileRecord] = msgspec.field(default_factory=dict)
    """A dict, or (as loaded by a store) a :class:`FileTable` building records on demand."""
    dirs: dict[str, DirRecord] = msgspec.field(default_factory=dict)
    dependencies: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    dependents: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    outputs: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    reads: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    """What each page's render showed of other pages and collections (see ``_reads``)."""
    readers: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    """The inverse of ``reads``: page or collection -> the pages that showed it."""

    @property
    def facts(self) -> PageRecords:
        """The records of pages (files with stored front matter), keyed like ``files``."""
        return PageRecords(self.files)


# -- file records, column-wise ------------------------------------------------------------------

_LITTLE: Final = sys.byteorder == "little"
_RECORD_FIELDS: Final = tuple(
    operator.attrgetter(name)
    for name in ("mtime_ns", "size", "ino", "ctime_ns", "mode", "digest", "front_matter")
)
#: Translation table from a 0/1 "is a page" byte to the row flags of a record with a digest.
_DIGEST_FLAGS: Final = bytes([_HAS_DIGEST, _HAS_DIGEST | _IS_PAGE]) + bytes(254)


def _ints(data: memoryview, width: int) -> memoryview:
    """A read-only view of little-endian signed integers of *width* bytes in *data*."""
    fmt = _INT_FORMATS[width]
    if _LITTLE:
        view: memoryview = data.cast("B").cast(fmt)  # type: ignore[call-overload]
        return view
    import array  # pragma: no cover - big-endian hosts only

    values = array.array(fmt)  # pragma: no cover
    values.frombytes(bytes(data))  # pragma: no cover
    values.byteswap()  # pragma: no cover
    return memoryview(values)  # pragma: no cover


def _packed(values: list[int], width: int) -> array.array[int]:
    """*values* as signed integers of the narrowest of 1, 2, 4, 8 bytes, at least *width*.

    Each narrower width is tried at C speed and given up at the first value that
    overflows it (a column of timestamps fails at its first row), cheaper than a
    ``min`` and a ``max`` over Python integers.
    """
    import array  # only writers need it: a no-op plan does not pay its import

    for size in (1, 2, 4):
        if size >= width:
            with contextlib.suppress(OverflowError):
                return array.array(_INT_FORMATS[size], values)
    return array.array(_INT_FORMATS[8], values)


def _int_bytes(values: array.array[int] | memoryview, width: int) -> bytes | memoryview:
    """*values* (integers of at most *width* bytes) as little-endian signed of *width* bytes."""
    if values.itemsize == width and _LITTLE:
        return values.cast("B") if isinstance(values, memoryview) else values.tobytes()
    import array

    packed = array.array(_INT_FORMATS[width], values)
    if not _LITTLE:  # pragma: no cover - big-endian hosts only
        packed.byteswap()
    return packed.tobytes()


def _set_rows(mask: bytes | bytearray) -> Iterator[int]:
    """The rows whose byte in *mask* is not zero (each search runs at C speed)."""
    if not any(mask):
        return
    find = mask.find
    row = find(1)
    while row >= 0:
        yield row
        row = find(1, row + 1)


def _xor_mask(a: bytes | bytearray, b: bytes | bytearray) -> bytes:
    """Per-row XOR of two 0/1 masks of equal length."""
    size = len(a)
    return (int.from_bytes(a, "little") ^ int.from_bytes(b, "little")).to_bytes(size, "little")


@final
class _Columns:
    """A snapshot's file records column-wise: read-only, shared by the tables made from it.

    Nothing per record is built at load: keys are one blob split on first lookup,
    stat fields are int64 columns, digests and encoded front matter are blobs
    with per-row lengths (their offsets are summed on the first record built).
    """

    __slots__ = (
        "_digest_ends",
        "_fm_ends",
        "_keys",
        "_stray_rows",
        "_strays",
        "count",
        "ctime",
        "digest_lengths",
        "digests",
        "flags",
        "fm_lengths",
        "front_matter",
        "ino",
        "key_blob",
        "mode",
        "mtime",
        "pages",
        "runs",
        "size",
    )

    def __init__(self, snapshot: _Snapshot) -> None:
        count = snapshot.count
        if count < 0:
            raise ValueError("the state file cannot be decoded: a negative count")
        numbers = snapshot.numbers
        columns: list[memoryview] = []
        offset = 0
        for width in snapshot.widths:
            if width not in _INT_FORMATS or offset + width * count > len(numbers):
                raise ValueError("the state file cannot be decoded: bad file columns")
            columns.append(_ints(numbers[offset : offset + width * count], width))
            offset += width * count
        if len(columns) != len(_NUMBER_COLUMNS) or offset != len(numbers):
            raise ValueError("the state file cannot be decoded: bad file columns")
        self.count = count
        self.key_blob = bytes(snapshot.keys)
        self.mtime, self.size, self.ino, self.ctime, self.mode = columns[:5]
        self.digest_lengths, self.fm_lengths = columns[5:]
        self.flags = bytes(snapshot.flags)
        self.pages = self.flags.translate(_PAGE_BYTES)
        self.digests = snapshot.digests
        self.front_matter = snapshot.front_matter
        self.runs = snapshot.runs
        self._stray_rows = snapshot.strays
        self._keys: list[str] | None = None
        self._strays: dict[str, int] | None = None
        self._digest_ends: list[int] | None = None
        self._fm_ends: list[int] | None = None

    def check(self) -> None:
        """Raise ``ValueError`` unless the columns agree in size (cheap: no per-row work)."""
        count = self.count
        if (
            len(self.flags) != count
            or not all(0 <= start <= end <= count for start, end in self.runs.values())
            or (self.key_blob.count(0) + 1 if count else len(self.key_blob)) != count
        ):
            raise ValueError("the state file cannot be decoded: file columns disagree in size")

    def keys(self) -> list[str]:
        keys = self._keys
        if keys is None:
            try:
                keys = self.key_blob.decode("utf-8", "surrogatepass").split("\0")
            except UnicodeDecodeError:
                raise CorruptRecordError("a stored file key cannot be decoded") from None
            if not self.count:
                keys = []
            self._keys = keys
        return keys

    def strays(self) -> dict[str, int]:
        """Rows outside their directory's run, by key (few: records written since a rebuild)."""
        strays = self._strays
        if strays is None:
            keys = self.keys()
            try:
                strays = self._strays = {keys[row]: row for row in self._stray_rows}
            except IndexError:
                raise CorruptRecordError("a stored file row is out of range") from None
        return strays

    def row(self, key: str) -> int | None:
        """The row of *key*: a search in its directory's run of sorted keys, else a stray."""
        run = self.runs.get(key.rpartition("/")[0])
        if run is not None:
            keys = self.keys()
            start, end = run
            row = bisect.bisect_left(keys, key, start, end)
            if row < end and keys[row] == key:
                return row
        return self.strays().get(key)

    def _ends(self) -> tuple[list[int], list[int]]:
        if self._digest_ends is None or self._fm_ends is None:
            from itertools import accumulate

            self._digest_ends = [0, *accumulate(self.digest_lengths)]
            self._fm_ends = [0, *accumulate(self.fm_lengths)]
            if self._digest_ends[-1] != len(self.digests) or self._fm_ends[-1] != len(
                self.front_matter
            ):
                raise CorruptRecordError("a stored file record cannot be decoded: bad lengths")
        return self._digest_ends, self._fm_ends

    def record(self, row: int) -> FileRecord:
        digest_ends, fm_ends = self._ends()
        flags = self.flags[row]
        digest = bytes(self.digests[digest_ends[row] : digest_ends[row + 1]])
        return FileRecord(
            self.mtime[row],
            self.size[row],
            self.ino[row],
            self.ctime[row],
            self.mode[row],
            digest if flags & _HAS_DIGEST else None,
            bytes(self.front_matter[fm_ends[row] : fm_ends[row + 1]]) if flags & _IS_PAGE else b"",
        )


@final
class FileTable(MutableMapping[str, FileRecord]):
    """The file records of a state: a mapping from key to :class:`FileRecord`.

    A table loaded from a snapshot keeps its records column-wise (see
    :class:`_Columns`) and builds a record object only when one is asked for, so
    a million records load in the time of a few reads.  Records set since live in
    a plain dict beside the columns and shadow their row.  ``present`` has one byte
    per row: 1 while the row is the key's live record.  The table remembers the
    keys set or removed (``changed``) so the store can journal just those.
    """

    __slots__ = ("_cols", "_extra", "_live", "changed", "cleared", "present")

    def __init__(self, items: Mapping[str, FileRecord] | None = None) -> None:
        self._cols: _Columns | None = None
        self.present = bytearray()
        self._live = 0
        self._extra: dict[str, FileRecord] = {}
        self.changed: set[str] = set()
        self.cleared = False
        if isinstance(items, FileTable):
            self._cols, self.present, self._live = (
                items._cols,
                bytearray(items.present),
                items._live,
            )
            self._extra.update(items._extra)
        elif items:
            self._extra.update(items)

    @classmethod
    def _of_columns(cls, cols: _Columns) -> FileTable:
        table = cls()
        table._cols = cols
        table.present = bytearray(b"\x01") * cols.count
        table._live = cols.count
        return table

    # -- the mapping --------------------------------------------------------------------

    def _row(self, key: str) -> int:
        """The row holding *key*'s live record, or -1."""
        cols = self._cols
        if cols is None:
            return -1
        row = cols.row(key)
        if row is None or not self.present[row]:
            return -1
        return row

    def __getitem__(self, key: str) -> FileRecord:
        record = self._extra.get(key)
        if record is not None:
            return record
        row = self._row(key)
        if row < 0:
            raise KeyError(key)
        assert self._cols is not None
        return self._cols.record(row)

    def get(self, key: str, default: Any = None) -> Any:
        record = self._extra.get(key)
        if record is not None:
            return record
        row = self._row(key)
        if row < 0:
            return default
        assert self._cols is not None
        return self._cols.record(row)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        return key in self._extra or self._row(key) >= 0

    def __setitem__(self, key: str, value: FileRecord) -> None:
        self.changed.add(key)
        row = self._row(key)
        if row >= 0:
            self.present[row] = 0
            self._live -= 1
        self._extra[key] = value

    def __delitem__(self, key: str) -> None:
        self.changed.add(key)
        if key in self._extra:
            del self._extra[key]
            return
        row = self._row(key)
        if row < 0:
            raise KeyError(key)
        self.present[row] = 0
        self._live -= 1

    def __iter__(self) -> Iterator[str]:
        if self._cols is not None and self._live:
            from itertools import compress

            yield from compress(self._cols.keys(), self.present)
        yield from self._extra

    def __len__(self) -> int:
        return self._live + len(self._extra)

    def clear(self) -> None:
        self.cleared = True
        self._cols = None
        self.present = bytearray()
        self._live = 0
        self._extra.clear()

    def copy(self) -> FileTable:
        """A table with the same records (sharing the columns, which nobody writes)."""
        return FileTable(self)

    def __repr__(self) -> str:
        return f"FileTable({len(self)} records, {len(self._extra)} outside the columns)"

    # -- what the engine and the detector use --------------------------------------------

    def page_keys(self) -> Iterator[str]:
        """Keys of records carrying front matter (pages), without building the records."""
        if self._cols is not None and self._live:
            from itertools import compress

            pages = int.from_bytes(self._cols.pages, "little")
            live = int.from_bytes(self.present, "little") & pages
            mask = live.to_bytes(self._cols.count, "little")
            yield from compress(self._cols.keys(), mask)
        yield from (key for key, record in self._extra.items() if record.front_matter)

    def page_count(self) -> int:
        """How many records carry front matter, without building them."""
        count = sum(1 for record in self._extra.values() if record.front_matter)
        if self._cols is not None and self._live:
            pages = int.from_bytes(self._cols.pages, "little")
            count += (int.from_bytes(self.present, "little") & pages).bit_count()
        return count

    @property
    def columns(self) -> _Columns | None:
        """The snapshot columns rows are read from (``None``: every record is an object)."""
        return self._cols

    def derive(self) -> FileTable:
        """An empty table over the same columns: a scan marks rows it found unchanged."""
        table = FileTable()
        if self._cols is not None:
            table._cols = self._cols
            table.present = bytearray(self._cols.count)
        return table

    def sibling(self) -> FileTable:
        """An empty table marking rows on this table's own ``present`` (one scan's threads)."""
        table = FileTable()
        table._cols = self._cols
        table.present = self.present
        return table

    def recount(self) -> None:
        """Count the live rows again, after ``present`` was marked directly."""
        self._live = self.present.count(1)

    def absorb(self, other: FileTable) -> None:
        """Take *other*'s records (a table derived from the same columns, disjoint keys)."""
        if other.present is self.present:
            pass  # its marks are ours already (counted by the caller's recount)
        elif other._cols is not None and other._live:
            assert other._cols is self._cols
            merged = int.from_bytes(self.present, "little") | int.from_bytes(
                other.present, "little"
            )
            self.present[:] = merged.to_bytes(len(self.present), "little")
            self.recount()
        for key, record in other._extra.items():
            self[key] = record

    def shares_rows(self, other: object) -> bool:
        """Whether *other* is a table over the same columns (rows live in both are equal)."""
        return isinstance(other, FileTable) and self._cols is not None and self._cols is other._cols

    def keys_differing(self, other: FileTable) -> set[str]:
        """Keys whose record may differ between this table and *other* (sharing the columns).

        A row live in both is the same record; everything else (records outside
        the columns, rows live in one only) is a candidate, to compare.
        """
        assert self.shares_rows(other)
        assert self._cols is not None
        found = set(self._extra)
        found.update(other._extra)
        keys = self._cols.keys()
        found.update(keys[row] for row in _set_rows(_xor_mask(self.present, other.present)))
        return found

    def items_not_in(self, other: FileTable) -> Iterator[tuple[str, FileRecord]]:
        """This table's items except rows that are live in *other* too (same columns)."""
        assert self.shares_rows(other)
        assert self._cols is not None
        yield from self._extra.items()
        own = int.from_bytes(self.present, "little")
        if not own:
            return
        only = own & ~int.from_bytes(other.present, "little")
        if only:
            cols = self._cols
            keys = cols.keys()
            for row in _set_rows(only.to_bytes(cols.count, "little")):
                yield keys[row], cols.record(row)


def copy_files(files: Mapping[str, FileRecord]) -> MutableMapping[str, FileRecord]:
    """A copy of *files* that can be changed alone (a table shares its read-only columns)."""
    return files.copy() if isinstance(files, FileTable) else dict(files)


def records_not_in(
    scanned: Mapping[str, FileRecord], files: Mapping[str, FileRecord]
) -> Iterator[tuple[str, FileRecord]]:
    """*scanned*'s items, less rows live in *files* too when both share columns (equal there)."""
    if (
        isinstance(scanned, FileTable)
        and isinstance(files, FileTable)
        and scanned.shares_rows(files)
    ):
        return scanned.items_not_in(files)
    return iter(scanned.items())


class _Snapshot(msgspec.Struct, array_like=True, gc=False):
    """A snapshot's payload: the scalars, the file records column-wise, the other tables.

    File columns (``count`` rows): ``keys`` joined by NUL (UTF-8, surrogates passed
    through); ``numbers`` seven integer columns one after the other (mtime, size,
    inode, ctime, mode, digest length, front matter length), each little-endian
    signed of the width ``widths`` gives (1, 2, 4 or 8 bytes: the narrowest that
    holds the column); ``flags`` a byte per row; digests and encoded front matter
    as blobs cut by those lengths.
    """

    root: str
    snapshot_ns: int
    commit_id: str
    count: int
    keys: memoryview
    widths: bytes
    numbers: memoryview
    flags: memoryview
    digests: memoryview
    front_matter: memoryview
    dirs: dict[str, DirRecord]
    dependencies: dict[str, tuple[str, ...]]
    dependents: dict[str, tuple[str, ...]]
    outputs: dict[str, tuple[str, ...]]
    reads: dict[str, tuple[str, ...]]
    readers: dict[str, tuple[str, ...]]
    runs: dict[str, tuple[int, int]]
    """Directory key -> ``(start, end)``: rows of its files, keys increasing (bisected)."""
    strays: list[int]
    """Rows outside their directory's run (records written after the rows around them)."""


_TABLES: Final = ("files", "dirs", "dependencies", "dependents", "outputs", "reads", "readers")


class _Delta(msgspec.Struct, array_like=True, gc=False):
    """One journal entry: a commit's scalars and the records it set (or dropped: ``None``)."""

    root: str
    snapshot_ns: int
    commit_id: str
    files: dict[str, FileRecord | None]
    dirs: dict[str, DirRecord | None]
    dependencies: dict[str, tuple[str, ...] | None]
    dependents: dict[str, tuple[str, ...] | None]
    outputs: dict[str, tuple[str, ...] | None]
    reads: dict[str, tuple[str, ...] | None]
    readers: dict[str, tuple[str, ...] | None]


_K = TypeVar("_K")
_V = TypeVar("_V")


class _TrackedDict(dict[_K, _V]):
    """A dict that remembers the keys set or removed since the store last wrote it.

    The store hands these out in the states it loads and saves, so the next save
    can journal just those keys.  Reads run at C speed; only writes pay.
    """

    __slots__ = ("changed", "cleared")

    def __init__(self, items: Mapping[_K, _V]) -> None:
        super().__init__(items)
        self.changed: set[_K] = set()
        self.cleared = False

    def __setitem__(self, key: _K, value: _V) -> None:
        self.changed.add(key)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: _K) -> None:
        self.changed.add(key)
        dict.__delitem__(self, key)

    def pop(self, key: _K, *default: Any) -> Any:
        self.changed.add(key)
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[_K, _V]:
        item = dict.popitem(self)
        self.changed.add(item[0])
        return item

    def setdefault(self, key: _K, default: Any = None) -> Any:
        self.changed.add(key)
        return dict.setdefault(self, key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        items: dict[_K, _V] = dict(*args, **kwargs)
        self.changed.update(items)
        dict.update(self, items)

    def __ior__(self, other: Any) -> _TrackedDict[_K, _V]:  # type: ignore[override,misc]
        self.update(other)
        return self

    def clear(self) -> None:
        self.cleared = True
        dict.clear(self)


_ENCODER = msgspec.msgpack.Encoder()
_SNAPSHOT_DECODER = msgspec.msgpack.Decoder(_Snapshot)
_DELTA_DECODER = msgspec.msgpack.Decoder(_Delta)
_METADATA_DECODER = msgspec.msgpack.Decoder(dict[str, Any])


# -- strings that msgpack cannot carry ------------------------------------------------------


def _escape(text: str) -> str:
    """*text* if UTF-8 can encode it (and it does not start like an escape), else escaped."""
    if not text.startswith(_ESCAPE):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            pass
        else:
            return text
    return _ESCAPE + text.encode("utf-8", "surrogatepass").decode("latin-1")


def _unescape(text: str) -> str:
    if text.startswith(_ESCAPE):
        return text[1:].encode("latin-1").decode("utf-8", "surrogatepass")
    return text


def _convert_strings(tables: _Snapshot | _Delta, convert: Callable[[str], str]) -> None:
    """Apply *convert* to every path-like string of *tables* (keys, listings, dependencies).

    A snapshot's file keys are a UTF-8 blob with surrogates passed through: not converted.
    """
    tables.root = convert(tables.root)
    tables.commit_id = convert(tables.commit_id)

    def names(values: Any) -> Any:
        return None if values is None else tuple(map(convert, values))

    def listing(record: DirRecord | None) -> DirRecord | None:
        if record is None:
            return None
        return DirRecord(record.stat, names(record.files), names(record.dirs))

    if isinstance(tables, _Delta):
        tables.files = {convert(k): v for k, v in tables.files.items()}
    else:
        tables.runs = {convert(k): v for k, v in tables.runs.items()}
    setattr(tables, "dirs", {convert(k): listing(v) for k, v in tables.dirs.items()})  # noqa: B010
    for name in ("dependencies", "dependents", "outputs", "reads", "readers"):
        table = getattr(tables, name)
        setattr(tables, name, {convert(k): names(v) for k, v in table.items()})


def _encode_tables(tables: _Snapshot | _Delta) -> tuple[bytes, int]:
    """msgpack of *tables* and its flags; strings msgpack cannot carry are escaped (rare)."""
    try:
        return _ENCODER.encode(tables), 0
    except UnicodeEncodeError:
        pass
    copy = msgspec.structs.replace(tables)
    _convert_strings(copy, _escape)
    return _ENCODER.encode(copy), _ESCAPED


# -- the snapshot -----------------------------------------------------------------------------


def _id_bytes(commit_id: str) -> bytes:
    raw = commit_id.encode("utf-8", "surrogatepass")
    return raw if len(raw) <= _ID_SIZE else b""  # too long for the header: read from the payload


def _runs(keys: list[str]) -> tuple[dict[str, tuple[int, int]], list[int]]:
    """Each directory's first run of rows with increasing keys, and the rows outside them.

    A scan writes a directory's files together, in listing order, so nearly every row
    is in its directory's run; records changed later follow the rows and are strays.
    """
    from itertools import groupby

    runs: dict[str, tuple[int, int]] = {}
    strays: list[int] = []
    start = 0
    # Consecutive rows of one directory at C speed; a segment already sorted (the usual
    # case) is one run, another is walked key by key.
    for directory, group in groupby([key.rpartition("/")[0] for key in keys]):
        end = start + len(list(group))
        segment = keys[start:end]
        if directory in runs:
            strays.extend(range(start, end))
        elif all(map(operator.lt, segment, segment[1:])):  # strictly increasing
            runs[directory] = (start, end)
        else:
            last = segment[0]
            row = start + 1
            while row < end and keys[row] > last:
                last = keys[row]
                row += 1
            runs[directory] = (start, row)
            strays.extend(range(row, end))
        start = end
    return runs, strays


def _file_columns(
    files: Mapping[str, FileRecord],
) -> tuple[int, tuple[dict[str, tuple[int, int]], list[int]], bytes, list[memoryview]]:
    """The file records as columns: ``(count, widths, [keys, numbers, flags, digests,
    front matter])`` (see :class:`_Snapshot`), copying runs of snapshot rows wholesale."""
    keys: list[str] = []
    number_parts: list[list[memoryview]] = [[] for _ in _NUMBER_COLUMNS]
    flag_parts: list[bytes | bytearray | memoryview] = []
    digest_parts: list[bytes | memoryview] = []
    fm_parts: list[bytes | memoryview] = []
    if isinstance(files, FileTable) and files.columns is not None:
        cols = files.columns
        present = files.present
        all_keys = cols.keys()
        digest_ends, fm_ends = cols._ends()
        columns = [getattr(cols, name) for name in _NUMBER_COLUMNS]
        start = present.find(1)
        while start >= 0:
            end = present.find(0, start)
            if end < 0:
                end = cols.count
            keys.extend(all_keys[start:end])
            for parts, column in zip(number_parts, columns, strict=True):
                parts.append(column[start:end])
            flag_parts.append(cols.flags[start:end])
            digest_parts.append(cols.digests[digest_ends[start] : digest_ends[end]])
            fm_parts.append(cols.front_matter[fm_ends[start] : fm_ends[end]])
            start = present.find(1, end)
    # The loose records, field by field at C speed (a loop with a dozen appends per
    # record made a 100,000-record snapshot several times slower than msgpack).
    loose_map: Mapping[str, FileRecord] = files._extra if isinstance(files, FileTable) else files
    keys.extend(loose_map)
    records = list(loose_map.values())
    fields: list[list[Any]] = [list(map(getter, records)) for getter in _RECORD_FIELDS]
    mtimes, sizes, inodes, ctimes, modes, record_digests, record_fms = fields
    fm_lengths = list(map(len, record_fms))
    digest_parts.extend(filter(None, record_digests))
    fm_parts.extend(record_fms)
    # Row flags from a byte per record (is it a page?) at C speed; the loop only when
    # some record has no digest (b"" is a digest, None is not).
    if None in record_digests:
        digest_lengths = [0 if digest is None else len(digest) for digest in record_digests]
        flags = bytes(
            [
                (digest is not None) + _IS_PAGE * bool(fm)
                for digest, fm in zip(record_digests, record_fms, strict=True)
            ]
        )
    else:
        digest_lengths = list(map(len, record_digests))
        flags = bytes(map(bool, record_fms)).translate(_DIGEST_FLAGS)
    numbers: list[list[int]] = [mtimes, sizes, inodes, ctimes, modes, digest_lengths, fm_lengths]
    flag_parts.append(flags)
    widths = bytearray()
    packed: list[bytes | memoryview] = []
    for parts, values in zip(number_parts, numbers, strict=True):
        loose = _packed(values, max((part.itemsize for part in parts), default=1))
        width = max([loose.itemsize, *(part.itemsize for part in parts)])
        widths.append(width)
        packed.extend(_int_bytes(part, width) for part in parts)
        packed.append(_int_bytes(loose, width))
    runs, strays = _runs(keys)
    key_blob = "\0".join(keys).encode("utf-8", "surrogatepass")
    if key_blob.count(0) != max(len(keys) - 1, 0):
        raise ValueError("a file key holds a NUL character")  # no path can
    return (
        len(keys),
        (runs, strays),
        bytes(widths),
        [
            memoryview(part)
            for part in (
                key_blob,
                b"".join(packed),
                b"".join(flag_parts),
                b"".join(digest_parts),
                b"".join(fm_parts),
            )
        ],
    )


def encode_state(state: State, token: bytes = b"\x00" * 8) -> bytes:
    """Serialise *state* as a snapshot with header and checksum."""
    count, (runs, strays), widths, columns = _file_columns(state.files)
    keys, numbers, row_flags, digests, front_matter = columns
    snapshot = _Snapshot(
        state.root,
        state.snapshot_ns,
        state.commit_id,
        count,
        keys,
        widths,
        numbers,
        row_flags,
        digests,
        front_matter,
        state.dirs,
        state.dependencies,
        state.dependents,
        state.outputs,
        state.reads,
        state.readers,
        runs,
        strays,
    )
    payload, flags = _encode_tables(snapshot)
    header = _HEADER.pack(_MAGIC, SCHEMA_VERSION, flags, _id_bytes(state.commit_id), token)
    checksum = zlib.crc32(payload, zlib.crc32(header[8:]))  # everything after the magic
    return b"".join((header, payload, _TRAILER.pack(checksum)))  # one copy of the payload


def _check_header(data: bytes, magic: bytes, what: str, minimum: int) -> None:
    if not data:
        raise ValueError(f"the {what} is empty")
    if len(data) < minimum:
        raise ValueError(f"the {what} is truncated")
    if data[:8] != magic:
        raise ValueError(f"the {what} is not an incrbuild state (bad magic bytes)")
    (version,) = struct.unpack_from("<I", data, 8)
    if version != SCHEMA_VERSION:
        raise ValueError(f"the {what} has schema version {version}, expected {SCHEMA_VERSION}")


def _decode_snapshot(data: bytes) -> tuple[State, bytes]:
    """Parse a snapshot: ``(state, token)``; raise ``ValueError`` saying what is wrong."""
    _check_header(data, _MAGIC, "state file", _HEADER.size + _TRAILER.size)
    _, _, flags, _, token = _HEADER.unpack_from(data)
    body = memoryview(data)[8 : len(data) - _TRAILER.size]
    (checksum,) = _TRAILER.unpack_from(data, len(data) - _TRAILER.size)
    if zlib.crc32(body) != checksum:
        raise ValueError("the state file is truncated or corrupt (checksum mismatch)")
    try:
        snapshot = _SNAPSHOT_DECODER.decode(
            memoryview(data)[_HEADER.size : len(data) - _TRAILER.size]
        )
    except msgspec.DecodeError as error:
        raise ValueError(f"the state file cannot be decoded: {error}") from None
    if flags & _ESCAPED:
        _convert_strings(snapshot, _unescape)
    columns = _Columns(snapshot)
    columns.check()
    state = State(
        root=snapshot.root,
        snapshot_ns=snapshot.snapshot_ns,
        commit_id=snapshot.commit_id,
        files=FileTable._of_columns(columns),
        dirs=snapshot.dirs,
        dependencies=snapshot.dependencies,
        dependents=snapshot.dependents,
        outputs=snapshot.outputs,
        reads=snapshot.reads,
        readers=snapshot.readers,
    )
    return state, token


def decode_state(data: bytes) -> State:
    """Parse bytes written by :func:`encode_state`; raise ``ValueError`` saying what is wrong."""
    return _decode_snapshot(data)[0]


# -- the journal ------------------------------------------------------------------------------


@final
class _Journal(msgspec.Struct, frozen=True):
    """What a read of ``journal.bin`` found for one snapshot token."""

    entries: tuple[tuple[int, bytes], ...]  # (flags, payload) of each valid entry, in order
    end: int  # offset just past the last valid entry (0: no valid header for this token)
    last_id: str | None  # commit id of the last valid entry


def _scan_journal(header: bytes, data: bytes, token: bytes, start: int = 0) -> _Journal:
    """The valid entries of a journal extending snapshot *token*.

    *header* is the journal's first bytes; *data* its bytes from offset *start*
    on (0: the whole file).  A short or mis-checksummed entry ends the scan: it
    is the torn tail of a killed append, never a commit.
    """
    if len(header) < _JOURNAL_HEADER.size or _JOURNAL_HEADER.unpack_from(header) != (
        _JOURNAL_MAGIC,
        SCHEMA_VERSION,
        token,
    ):
        return _Journal((), 0, None)
    offset = _JOURNAL_HEADER.size - start if start < _JOURNAL_HEADER.size else 0
    entries: list[tuple[int, bytes]] = []
    last_id: str | None = None
    view = memoryview(data)
    while offset + _ENTRY_HEADER.size <= len(data):
        length, checksum, flags, raw_id = _ENTRY_HEADER.unpack_from(data, offset)
        begin = offset + _ENTRY_HEADER.size
        payload = view[begin : begin + length]
        if len(payload) < length or zlib.crc32(view[offset + 8 : begin + length]) != checksum:
            break
        entries.append((flags, bytes(payload)))
        last_id = raw_id.rstrip(b"\x00").decode("utf-8", "surrogatepass")
        offset = begin + length
    return _Journal(tuple(entries), start + offset, last_id)


def _entry_bytes(delta: _Delta) -> bytes:
    payload, flags = _encode_tables(delta)
    rest = _ENTRY_HEADER.pack(len(payload), 0, flags, _id_bytes(delta.commit_id))[8:] + payload
    return struct.pack("<II", len(payload), zlib.crc32(rest)) + rest


def _apply_entry(state: State, flags: int, payload: bytes) -> None:
    try:
        delta = _DELTA_DECODER.decode(payload)
    except msgspec.DecodeError as error:
        raise ValueError(f"the state journal cannot be decoded: {error}") from None
    if flags & _ESCAPED:
        _convert_strings(delta, _unescape)
    state.root = delta.root
    state.snapshot_ns = delta.snapshot_ns
    state.commit_id = delta.commit_id
    for name in _TABLES:
        table: dict[str, Any] = getattr(state, name)
        for key, value in getattr(delta, name).items():
            if value is None:
                table.pop(key, None)
            else:
                table[key] = value


def _stat_key(path: Path) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)


@final
class _Mark(msgspec.Struct, frozen=True):
    """Where the store's files stood after this store last read or wrote them."""

    token: bytes
    snapshot_bytes: int
    journal_end: int
    commit_id: str


@final
class StateStore:
    """Loads the :class:`State` kept in one state directory and saves it atomically.

    A state this store loaded or saved is *live*: its tables remember what was
    changed since, so saving it again appends just that to the journal.
    """

    def __init__(self, state_dir: Path | str, *, lock_timeout: float = 30.0) -> None:
        self.state_dir = Path(state_dir)
        self.lock_timeout = lock_timeout
        self.path = self.state_dir / STATE_FILE_NAME
        self.journal_path = self.state_dir / JOURNAL_FILE_NAME
        self._live: State | None = None
        self._mark: _Mark | None = None
        self._unusable: bytes | None = None  # token of a snapshot found unusable

    # -- reading ------------------------------------------------------------------------

    def load(self) -> State:
        """Return the stored state, or an empty one (with a :class:`StateWarning`) if unusable."""
        self._live = self._mark = None
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return State()
        except OSError as error:
            self._warn(f"cannot read {self.path}: {error.strerror}")
            return State()
        try:
            state, token = _decode_snapshot(data)
            journal = _scan_journal(*self._read_journal(), token)
            for flags, payload in journal.entries:
                _apply_entry(state, flags, payload)
        except ValueError as error:
            self.mark_unusable(data)
            self._warn(f"{self.path}: {error}")
            return State()
        self._make_live(state, _Mark(token, len(data), journal.end, state.commit_id))
        return state

    def mark_unusable(self, data: bytes | None = None) -> None:
        """Remember that the stored state (snapshot bytes *data*, else the file's) is unusable.

        Its commit id then reads as "" (no commit), as a state read as empty has,
        so the next commit replaces it instead of merging with it.
        """
        if data is None:
            try:
                with open(self.path, "rb") as handle:
                    data = handle.read(_HEADER.size)
            except OSError:
                return
        self._live = self._mark = None
        if len(data) >= _HEADER.size:
            self._unusable = _HEADER.unpack_from(data)[4]

    def _read_journal(self, start: int = 0) -> tuple[bytes, bytes]:
        """The journal's header bytes and its bytes from *start* on (empty if unreadable)."""
        try:
            with open(self.journal_path, "rb") as handle:
                if not start:
                    data = handle.read()
                    return data[: _JOURNAL_HEADER.size], data
                header = handle.read(_JOURNAL_HEADER.size)
                handle.seek(start)
                return header, handle.read()
        except OSError:
            return b"", b""

    def current_commit_id(self) -> str:
        """Return the commit id on disk ("" if none or unusable), reading headers, not records."""
        try:
            with open(self.path, "rb") as handle:
                header = handle.read(_HEADER.size)
        except OSError:
            return ""
        if len(header) < _HEADER.size:
            return ""
        magic, version, _, raw_id, token = _HEADER.unpack(header)
        if magic != _MAGIC or version != SCHEMA_VERSION or token == self._unusable:
            return ""
        mark = self._mark
        # Entries before our mark cannot change (the journal of one token is append-only),
        # so only what others appended since is read.
        start = mark.journal_end if mark is not None and mark.token == token else 0
        journal = _scan_journal(*self._read_journal(start), token, start)
        if journal.last_id is not None:
            return journal.last_id
        if start and mark is not None:
            return mark.commit_id
        if not raw_id.rstrip(b"\x00"):
            try:
                commit_id: str = decode_state(self.path.read_bytes()).commit_id
            except (OSError, ValueError):
                return ""
            return commit_id
        return bytes(raw_id).rstrip(b"\x00").decode("utf-8", "surrogatepass")

    def stamp(self) -> tuple[tuple[int, int, int] | None, tuple[int, int, int] | None]:
        """Identify the stored state's current version cheaply (changes with every write)."""
        return (_stat_key(self.path), _stat_key(self.journal_path))

    @staticmethod
    def _warn(message: str) -> None:
        warnings.warn(
            f"{message}; treating every file as changed (a full rebuild)",
            StateWarning,
            stacklevel=3,
        )

    # -- writing ------------------------------------------------------------------------

    def save(self, state: State, *, only_if_ours: bool = False) -> bool:
        """Write *state* atomically; return whether it was written.

        If this store loaded or saved the state *state* follows (the same object,
        changed in place, or a new one built from it) and nobody else wrote since,
        what differs is appended to the journal (or, when the journal is due for
        compaction, written as a new snapshot); anything else is written as a new
        snapshot, unless *only_if_ours*, in which case nothing is written: a caller
        refreshing records must never replace another writer's commit.
        """
        delta = self._delta(state)
        if delta is not None and self._append(delta):
            assert self._mark is not None
            self._make_live(state, self._mark)
            return True
        if only_if_ours and (
            delta is None
            or self._mark is None
            or self.current_commit_id() != self._mark.commit_id
            or self._mark.commit_id != state.commit_id
        ):
            return False
        self._write_snapshot(state)
        return True

    def _delta(self, state: State) -> _Delta | None:
        """What *state* changed since the live state was last read or written here."""
        live = self._live
        if live is None:
            return None
        changes: list[dict[str, Any]] = []
        for name in _TABLES:
            old = getattr(live, name)
            if not isinstance(old, _TrackedDict | FileTable) or old.cleared:
                return None
            new: Mapping[str, Any] = getattr(state, name)
            # Keys changed in place since the last write: their disk value is not ``old``'s.
            found = {key: new.get(key) for key in old.changed}
            if isinstance(old, FileTable) and old.shares_rows(new) and new is not old:
                # Rows live in both tables are the same records: compare only the rest.
                assert isinstance(new, FileTable)
                for key in old.keys_differing(new):
                    value = new.get(key)
                    if value != old.get(key):
                        found[key] = value
            elif new is not old:
                # A state built anew from the live one: records carried over are the same
                # objects, so identity settles nearly all of them without a comparison.
                get = old.get
                for key, value in new.items():
                    known = get(key)
                    if known is not value and known != value:
                        found[key] = value
                found.update(dict.fromkeys(old.keys() - new.keys()))
            changes.append(found)
        return _Delta(state.root, state.snapshot_ns, state.commit_id, *changes)

    def _append(self, delta: _Delta) -> bool:
        """Append *delta* to the journal if the files are still as this store left them."""
        mark = self._mark
        if mark is None:
            return False
        entry = _entry_bytes(delta)
        if mark.journal_end + len(entry) > max(_MIN_JOURNAL_BYTES, mark.snapshot_bytes // 4):
            return False  # time to compact
        if self.current_commit_id() != mark.commit_id or _stat_key(self.path) is None:
            return False  # someone else wrote: not ours to extend
        # Check the snapshot is still the one we extend (its header token).
        try:
            with open(self.path, "rb") as handle:
                header = handle.read(_HEADER.size)
        except OSError:
            return False
        if len(header) < _HEADER.size or _HEADER.unpack(header)[4] != mark.token:
            return False
        created = not self.journal_path.exists()
        try:
            fd = os.open(self.journal_path, os.O_RDWR | os.O_CREAT | _CLOEXEC, 0o644)
        except OSError as error:
            raise StateWriteError(f"cannot write {self.journal_path}: {error.strerror}") from None
        try:
            if mark.journal_end:
                offset, data = mark.journal_end, entry
            else:  # a journal of an older snapshot (or none): start it afresh
                offset = 0
                data = _JOURNAL_HEADER.pack(_JOURNAL_MAGIC, SCHEMA_VERSION, mark.token) + entry
            os.lseek(fd, offset, os.SEEK_SET)  # not pwrite: Windows has none
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            os.ftruncate(fd, offset + len(data))  # drop a torn tail past the new entry
            os.fsync(fd)
        except OSError as error:
            raise StateWriteError(f"cannot write {self.journal_path}: {error.strerror}") from None
        finally:
            os.close(fd)
        if created:
            _fsync_directory(self.state_dir)
        self._mark = _Mark(mark.token, mark.snapshot_bytes, offset + len(data), delta.commit_id)
        return True

    def _write_snapshot(self, state: State) -> None:
        """Write *state* as a new snapshot: temp file, fsync, rename, fsync of the directory."""
        token = os.urandom(8)
        data = encode_state(state, token)
        import tempfile  # only writers need it: a no-op plan does not pay its import

        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            fd, temp_name = tempfile.mkstemp(
                prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX, dir=self.state_dir
            )
        except OSError as error:
            raise StateWriteError(
                f"cannot write state in {self.state_dir}: {error.strerror}"
            ) from None
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, self.path)
        except OSError as error:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)
            raise StateWriteError(f"cannot write {self.path}: {error.strerror}") from None
        _fsync_directory(self.state_dir)
        self._make_live(state, _Mark(token, len(data), 0, state.commit_id))

    def _make_live(self, state: State, mark: _Mark) -> None:
        """Make *state*'s tables track changes from here on (a copy unless they already do)."""
        for name in _TABLES:
            table = getattr(state, name)
            if isinstance(table, _TrackedDict | FileTable) and not table.cleared:
                table.changed.clear()
            elif name == "files":
                state.files = FileTable(table)
            else:
                setattr(state, name, _TrackedDict(table))
        self._live = state
        self._mark = mark

    @contextlib.contextmanager
    def locked(self, *, wait: bool = True) -> Iterator[None]:
        """Hold the state directory's inter-process lock for the duration of the block.

        Without *wait*, raise :class:`StateLockedError` at once if another holds it.
        Temporary files found under the lock were left by a writer killed before
        its rename (writers hold the lock), so they are deleted.
        """
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            handle = open(self.state_dir / LOCK_FILE_NAME, "a+b")  # noqa: SIM115
        except OSError as error:
            raise StateWriteError(
                f"cannot lock state in {self.state_dir}: {error.strerror}"
            ) from None
        with handle:
            _acquire(handle.fileno(), self.lock_timeout if wait else 0.0, self.state_dir)
            try:
                remove_stale_temporaries(self.state_dir)
                yield
            finally:
                _release(handle.fileno())


_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0)


def remove_stale_temporaries(state_dir: Path) -> int:
    """Delete the temporary snapshots killed writers left in *state_dir*; return how many.

    Call it only with the lock held: writers write temporaries under the lock,
    so any found then belongs to a writer that died before its rename.
    """
    removed = 0
    with contextlib.suppress(OSError), os.scandir(state_dir) as entries:
        for entry in entries:
            if entry.name.startswith(_TEMP_PREFIX) and entry.name.endswith(_TEMP_SUFFIX):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed += 1
    return removed


def new_commit_id() -> str:
    """Return a fresh random token identifying one commit."""
    return os.urandom(8).hex()  # what secrets.token_hex does, without its import


def _fsync_directory(directory: Path) -> None:
    if sys.platform == "win32":  # pragma: no cover - directories cannot be opened there
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _release(fd: int) -> None:
        with contextlib.suppress(OSError):
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _release(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _acquire(fd: int, timeout: float, where: Path) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.001
    while not _try_lock(fd):
        if time.monotonic() >= deadline:
            raise StateLockedError(
                f"another incrbuild process holds the lock on {where} (waited {timeout:g} s)"
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
