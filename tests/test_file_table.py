"""FileTable: the column-wise file records a store loads, against a plain dict.

A loaded table keeps records as columns and builds them on demand; whatever is
done to it must read back as the same mapping a dict would hold, survive a
save and load (snapshot and journal), and let a scan on threads find what a
scan on one thread finds.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incrbuild._detect import ChangeDetector
from incrbuild._state import (
    SCHEMA_VERSION,
    FileRecord,
    FileTable,
    State,
    StateStore,
    decode_state,
    encode_state,
)

from .helpers import SECONDS

OLD = 1_600_000_000 * SECONDS

keys = st.sampled_from(
    ["a.md", "s/b.md", "s/t/c.md", "caf\udce9.md", "\ud800x", "/abs/tpl.html", "z", "é/ü.md"]
)
records = st.builds(
    FileRecord,
    st.integers(-(2**63), 2**63 - 1),
    st.integers(-1, 2**40),
    st.integers(0, 2**64 // 2 - 1),
    st.integers(-(2**63), 2**63 - 1),
    st.integers(0, 0o177777),
    st.one_of(st.none(), st.binary(max_size=20)),
    st.binary(max_size=12),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("set"), keys, records),
        st.tuples(st.just("del"), keys, st.none()),
        st.tuples(st.just("save"), st.none(), st.none()),
        st.tuples(st.just("reload"), st.none(), st.none()),
    ),
    max_size=25,
)


def loaded(files: dict[str, FileRecord]) -> FileTable:
    table = decode_state(encode_state(State(files=files))).files
    assert isinstance(table, FileTable)
    return table


def assert_same(table: FileTable, model: dict[str, FileRecord]) -> None:
    assert len(table) == len(model)
    assert dict(table.items()) == model
    assert sorted(table) == sorted(model)
    for key in ["a.md", "s/b.md", "nope", "\ud800x"]:
        assert (key in table) == (key in model)
        assert table.get(key) == model.get(key)
    assert table.page_count() == sum(1 for r in model.values() if r.front_matter)
    assert sorted(table.page_keys()) == sorted(k for k, r in model.items() if r.front_matter)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(keys, records, max_size=8), operations)
def test_table_reads_as_the_dict_it_models(
    initial: dict[str, FileRecord], ops: list[tuple[str, str | None, FileRecord | None]]
) -> None:
    """Set, delete, copy and round trips through a snapshot leave the table equal to a dict."""
    table, model = loaded(initial), dict(initial)
    assert_same(table, model)
    for op, key, record in ops:
        if op == "set":
            assert key is not None
            assert record is not None
            table[key] = record
            model[key] = record
        elif op == "del":
            assert key is not None
            if key in model:
                del table[key]
                del model[key]
            else:
                with pytest.raises(KeyError):
                    del table[key]
        elif op == "save":
            copy = table.copy()
            table = loaded(dict(table.items())) if len(table) % 2 else table
            assert dict(copy.items()) == model
        else:
            table = decode_state(encode_state(State(files=table))).files  # type: ignore[assignment]
        assert_same(table, model)


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(keys, records, max_size=8), operations)
def test_store_journals_a_loaded_table(
    tmp_path_factory: pytest.TempPathFactory,
    initial: dict[str, FileRecord],
    ops: list[tuple[str, str | None, FileRecord | None]],
) -> None:
    """Changes made to a loaded table (in place or in a copy) are journaled and load back."""
    directory = tmp_path_factory.mktemp("store")
    store = StateStore(directory)
    store.save(State(commit_id="c0", files=dict(initial)))
    state = store.load()
    model = dict(initial)
    for number, (op, key, record) in enumerate(ops):
        if op == "set":
            assert key is not None
            assert record is not None
            state.files[key] = record
            model[key] = record
        elif op == "del" and key in model:
            assert key is not None
            del state.files[key]
            del model[key]
        elif op == "save":
            state.commit_id = f"c{number}"
            store.save(state)
        elif op == "reload":
            copied = State(commit_id=f"c{number}", files=FileTable(state.files))
            for gone in sorted(model)[:1]:  # changed in the copy only: found by comparison
                del copied.files[gone]
                del model[gone]
            store.save(copied)  # a state built anew from the live one: a delta too
            state = store.load()
    state.commit_id = "last"
    store.save(state)
    assert dict(StateStore(directory).load().files.items()) == model


def test_keys_differing_names_every_difference() -> None:
    """Two tables over the same columns: every key whose record differs is a candidate."""
    base = loaded({f"k{i}": FileRecord(i, i, i, i, 0o100644, b"d" * 16) for i in range(50)})
    other = base.copy()
    other["k3"] = FileRecord(0, 0, 0, 0, 0)
    del other["k7"]
    other["new"] = FileRecord(1, 1, 1, 1, 1)
    assert {"k3", "k7", "new"} <= base.keys_differing(other)
    assert {k for k in base.keys_differing(other) if base.get(k) != other.get(k)} == {
        "k3",
        "k7",
        "new",
    }
    assert dict(other.items_not_in(base)) == {"k3": other["k3"], "new": other["new"]}


def test_an_older_schema_is_a_full_rebuild_with_a_clear_message(tmp_path: Path) -> None:
    """A store written by the previous schema (5, one msgpack record per file) is unusable."""
    import msgspec

    payload = msgspec.msgpack.encode(
        {"root": "/r", "snapshot_ns": 1, "commit_id": "x", "files": {"a.md": [1, 2, 3, 4, 5]}}
    )
    body = struct.pack("<II32s8s", 5, 0, b"x", b"token-05") + payload
    (tmp_path / "state.bin").write_bytes(
        b"INCRBLD\x00" + body + struct.pack("<I", zlib.crc32(body))
    )
    assert SCHEMA_VERSION > 5
    with pytest.warns(Warning, match="schema version 5.*full rebuild"):
        state = StateStore(tmp_path).load()
    assert state == State()


def make_tree(root: Path, directories: int, files: int) -> list[Path]:
    made = []
    for d in range(directories):
        for f in range(files):
            path = root / f"d{d}" / f"p{f}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"page {d} {f}\n")
            made.append(path)
    for path in [*made, *(root / f"d{d}" for d in range(directories)), root]:
        os.utime(path, ns=(OLD, OLD))
    return made


@pytest.mark.parametrize("threads", [2, 3])
def test_a_scan_on_threads_finds_what_one_thread_finds(tmp_path: Path, threads: int) -> None:
    """Rows marked, records added, edits, removals and errors from every thread are kept."""
    root = tmp_path / "c"
    made = make_tree(root, 6, 40)
    store = StateStore(tmp_path / "st")
    first = ChangeDetector(root, racy_window_ns=0).detect(State())
    store.save(
        State(
            root=str(root),
            snapshot_ns=first.snapshot_ns,
            commit_id="c",
            files=dict(first.files),
            dirs=first.dirs,
        )
    )
    made[3].write_text("edited, longer than before\n")
    made[50].unlink()
    (root / "d2" / "new.md").write_text("new\n")
    made[100].chmod(0)
    made[7].touch()
    results = []
    for count in (1, threads):
        state = store.load()
        detector = ChangeDetector(root, stat_threads=count, stat_chunk_size=7, racy_window_ns=0)
        detector._threads_for = lambda files, count=count: count  # type: ignore[method-assign]
        results.append(detector.detect(state))
    one, many = results
    assert many.changes == one.changes
    assert dict(many.files.items()) == dict(one.files.items())
    assert len(many.files) == len(one.files) == len(made)
    assert isinstance(many.files, FileTable)
    # Unchanged files were marked on the stored columns, not built as records.
    assert len(list(many.files.items_not_in(state.files))) < 10
    assert many.stats.files_stat == one.stats.files_stat


def test_records_written_after_a_rebuild_are_found_outside_their_run(tmp_path: Path) -> None:
    """A record changed after the rows were written lands out of its directory's run (a stray
    row once compacted); a no-op scan still matches it on the columns and finds no change."""
    root = tmp_path / "c"
    made = make_tree(root, 3, 30)
    store = StateStore(tmp_path / "st")
    first = ChangeDetector(root, racy_window_ns=0).detect(State())
    store.save(
        State(
            root=str(root),
            snapshot_ns=first.snapshot_ns,
            commit_id="c",
            files=dict(first.files),
            dirs=first.dirs,
        )
    )
    made[40].write_text("edited\n")
    os.utime(made[40], ns=(OLD, OLD))
    state = store.load()
    scan = ChangeDetector(root, racy_window_ns=0).detect(state)
    assert {p.name for p in scan.changes.modified} == {made[40].name}
    state.files.update(dict(scan.files.items_not_in(state.files)))  # type: ignore[arg-type]
    state.snapshot_ns, state.commit_id = scan.snapshot_ns, "d"
    StateStore(tmp_path / "st2").save(state)  # a whole snapshot: the edited row comes last
    again = StateStore(tmp_path / "st2").load()
    assert isinstance(again.files, FileTable)
    columns = again.files.columns
    assert columns is not None
    assert columns.strays() == {"d1/p10.md": len(made) - 1}
    assert again.files["d1/p10.md"] == state.files["d1/p10.md"]
    quiet = ChangeDetector(root, racy_window_ns=0).detect(again)
    assert not quiet.changes
    assert isinstance(quiet.files, FileTable)
    assert list(quiet.files.items_not_in(again.files)) == []  # every row marked, none built


EDGES = [0, 127, -128, 128, -129, 2**15 - 1, -(2**15), 2**15, 2**31 - 1, -(2**31), 2**31, 2**63 - 1]


@pytest.mark.parametrize("edge", EDGES)
def test_columns_hold_every_width_boundary(edge: int) -> None:
    """A column narrow in the stored rows and wide in the loose records (or the reverse)
    is written at the width that holds both, each width tried at its boundary."""
    narrow = {f"s/n{i}.md": FileRecord(i, i, i, i, i, b"", b"") for i in range(3)}
    wide = {"s/w.md": FileRecord(edge, edge, abs(edge), edge, abs(edge) % 2**16, None, b"x")}
    for stored, loose in ((narrow, wide), (wide, narrow)):
        table = loaded(stored)
        table.update(loose)
        assert dict(loaded(dict(table.items())).items()) == {**stored, **loose}
        again = decode_state(encode_state(State(files=table))).files
        assert dict(again.items()) == {**stored, **loose}
