"""StateStore and Engine.commit: bad state never crashes and never hides a change."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest

from incrbuild import StateLockedError, StateWarning, StateWriteError
from incrbuild._state import (
    SCHEMA_VERSION,
    FileRecord,
    FileTable,
    State,
    decode_state,
    encode_state,
)
from incrbuild.adapters.files import open_engine
from incrbuild.lowlevel import StateStore, state_of


def sample_state(files: int = 3) -> State:
    return State(
        root="/r",
        snapshot_ns=123,
        commit_id="abc",
        files={f"f{i}.md": FileRecord(1, 2, 3, 4, 0o100644, b"d" * 16) for i in range(files)},
    )


def load_quietly(store: StateStore) -> tuple[State, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state = store.load()
    return state, [str(w.message) for w in caught if issubclass(w.category, StateWarning)]


def make_site(root: Path, pages: int = 5) -> list[Path]:
    made = []
    for i in range(pages):
        path = root / "s" / f"p{i}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\ntitle: P{i}\ntags: [t{i % 2}]\n---\nbody {i}\n")
        made.append(path)
    return made


class TestStateStore:
    def test_round_trip(self, tmp_path: Path) -> None:
        """What is saved is loaded back equal."""
        store = StateStore(tmp_path)
        store.save(sample_state())
        assert store.load() == sample_state()

    def test_missing_store_is_empty_without_warning(self, tmp_path: Path) -> None:
        """No state yet is the normal first build: empty state, no warning."""
        state, messages = load_quietly(StateStore(tmp_path / "none"))
        assert state == State()
        assert messages == []

    @pytest.mark.parametrize(
        ("mangle", "says"),
        [
            (lambda data: b"", "empty"),
            (lambda data: data[: len(data) // 2], "truncated"),
            (lambda data: data[:10], "truncated"),
            (lambda data: b"\x00garbage" * 40, "magic"),
            (lambda data: data[:-9] + bytes([data[-9] ^ 0xFF]) + data[-8:], "corrupt"),
            (
                lambda data: data[:8] + (SCHEMA_VERSION + 1).to_bytes(4, "little") + data[12:],
                "schema version",
            ),
        ],
        ids=["empty", "half", "header-only", "garbage", "bit-flip", "other-version"],
    )
    def test_unusable_store_warns_and_is_empty(self, tmp_path: Path, mangle, says) -> None:  # type: ignore[no-untyped-def]
        """Each kind of damage gives a clear warning and the empty state (a full rebuild)."""
        store = StateStore(tmp_path)
        store.save(sample_state())
        store.path.write_bytes(mangle(store.path.read_bytes()))
        state, messages = load_quietly(store)
        assert state == State()
        assert len(messages) == 1
        assert says in messages[0]
        assert "full rebuild" in messages[0]

    def test_decode_rejects_a_wrong_schema_shape(self) -> None:
        """Bytes with a valid header and checksum but the wrong shape are rejected, not trusted."""
        import struct
        import zlib

        import msgspec

        payload = msgspec.msgpack.encode({"files": [1, 2, 3]})
        body = struct.pack("<II32s8s", SCHEMA_VERSION, 0, b"abc", b"token-01") + payload
        data = b"INCRBLD\x00" + body + struct.pack("<I", zlib.crc32(body))
        with pytest.raises(ValueError, match="cannot be decoded"):
            decode_state(data)

    def test_unwritable_state_dir_is_a_clear_error(self, tmp_path: Path) -> None:
        """A state directory that cannot be created raises StateWriteError and writes nothing."""
        blocker = tmp_path / "file"
        blocker.write_text("not a directory")
        with pytest.raises(StateWriteError, match="cannot"):
            StateStore(blocker / "state").save(sample_state())

    def test_failed_write_leaves_the_old_state(self, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        """If the rename fails, the old state is intact and no temp file is left."""
        store = StateStore(tmp_path)
        store.save(sample_state(1))

        def fail(*args: object) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "replace", fail)
        with pytest.raises(StateWriteError, match="No space"):
            StateStore(tmp_path).save(sample_state(5))  # a store with nothing live: a snapshot
        monkeypatch.undo()
        assert store.load() == sample_state(1)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["state.bin"]

    def test_failed_journal_append_leaves_the_old_state(self, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        """If an append fails, StateWriteError, and a load still gives the state before it."""
        store = StateStore(tmp_path)
        store.save(sample_state(1))

        def fail(*args: object) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "write", fail)
        with pytest.raises(StateWriteError, match="No space"):
            store.save(sample_state(5))  # follows the live state: a journal append
        monkeypatch.undo()
        assert StateStore(tmp_path).load() == sample_state(1)
        store.save(sample_state(5))
        assert (tmp_path / "journal.bin").exists()
        assert StateStore(tmp_path).load() == sample_state(5)

    def test_lock_times_out_with_a_clear_error(self, tmp_path: Path) -> None:
        """A lock held by another process past the timeout raises StateLockedError."""
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                textwrap.dedent(
                    f"""
                    import sys, time
                    from incrbuild.lowlevel import StateStore
                    with StateStore({str(tmp_path)!r}).locked():
                        print("locked", flush=True)
                        time.sleep(5)
                    """
                ),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "locked"
            waiting = StateStore(tmp_path, lock_timeout=0.2)
            with pytest.raises(StateLockedError, match="another incrbuild process"):
                waiting.locked().__enter__()
        finally:
            holder.kill()
            holder.wait()

    def test_kill_during_commit_leaves_old_or_new_never_torn(self, tmp_path: Path) -> None:
        """A committing process killed with SIGKILL at random moments never leaves a torn store."""
        big = tmp_path / "big"
        script = textwrap.dedent(
            f"""
            import sys
            from incrbuild._state import FileRecord, State, StateStore
            store = StateStore({str(big)!r})
            n = 0
            while True:
                n += 1
                files = {{f"f{{i}}": FileRecord(n, i, 0, 0, 0, b"x" * 16) for i in range(20000)}}
                store.save(State(root="/r", snapshot_ns=n, commit_id=str(n), files=files))
                print(n, flush=True)
            """
        )
        for delay in (0.0, 0.05, 0.1, 0.2):
            process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
            assert process.stdout is not None
            first = process.stdout.readline()  # one commit is done: every round is checked
            assert first.strip(), "the committing process died before its first commit"
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            process.wait()
            printed = [first, *process.stdout.read().split()]
            state, messages = load_quietly(StateStore(big))
            assert messages == []
            assert len(state.files) == 20000
            assert state.commit_id == str(state.snapshot_ns)
            assert state.snapshot_ns >= int(printed[-1])  # no commit reported done is lost
            assert all(r.mtime_ns == state.snapshot_ns for r in state.files.values())


class TestEngineCommit:
    def test_plan_writes_nothing_commit_writes_state(self, tmp_path: Path) -> None:
        """``plan()`` leaves the disk alone; ``commit()`` writes the state."""
        make_site(tmp_path / "c")
        engine = open_engine(tmp_path / "c", state_dir=tmp_path / "st")
        plan = engine.plan()
        assert not (tmp_path / "st" / "state.bin").exists()
        engine.commit(plan)
        assert (tmp_path / "st" / "state.bin").exists()
        assert not engine.plan().changes

    def test_edits_during_the_build_show_in_the_next_plan(self, tmp_path: Path) -> None:
        """A file edited after plan() but before commit() is reported by the next plan."""
        pages = make_site(tmp_path / "c")
        engine = open_engine(tmp_path / "c", state_dir=tmp_path / "st")
        engine.commit(engine.plan())
        pages[1].write_text("---\ntitle: P1\n---\nedited\n")
        plan = engine.plan()
        pages[2].write_text("---\ntitle: P2\n---\nedited during the build\n")
        engine.commit(plan)
        assert engine.plan().changes.modified == {pages[2]}

    def test_failed_pages_are_rebuilt_next_time(self, tmp_path: Path) -> None:
        """Pages the host reports as failed are planned again by the next plan."""
        pages = make_site(tmp_path / "c")
        engine = open_engine(tmp_path / "c", state_dir=tmp_path / "st")
        engine.commit(engine.plan(), failed=[pages[3]])
        assert pages[3] in engine.plan().pages

    def test_corrupt_state_means_full_rebuild(self, tmp_path: Path) -> None:
        """A damaged store warns once and plans every page (never fewer)."""
        make_site(tmp_path / "c")
        engine = open_engine(tmp_path / "c", state_dir=tmp_path / "st")
        engine.commit(engine.plan())
        state_file = tmp_path / "st" / "state.bin"
        state_file.write_bytes(state_file.read_bytes()[:-3])
        fresh = open_engine(tmp_path / "c", state_dir=tmp_path / "st")
        with pytest.warns(StateWarning, match="checksum|truncated"):
            plan = fresh.plan()
        assert plan.full
        assert len(plan.pages) == 5

    def test_commit_to_an_unwritable_state_dir_raises_and_loses_nothing(
        self, tmp_path: Path
    ) -> None:
        """A commit that cannot write raises StateWriteError; the next plan still has the change."""
        pages = make_site(tmp_path / "c")
        blocker = tmp_path / "blocker"
        blocker.write_text("a file where the state directory should be")
        engine = open_engine(tmp_path / "c", state_dir=blocker / "state")
        with pytest.warns(StateWarning, match="cannot read"):
            plan = engine.plan()
        with pytest.raises(StateWriteError):
            engine.commit(plan)
        assert set(pages) <= engine.plan().pages  # the cached (empty) state: no second warning

    def test_concurrent_commit_rechecks_what_either_changed(self, tmp_path: Path) -> None:
        """Two engines planning from one state: the later commit keeps only agreed entries."""
        pages = make_site(tmp_path / "c")
        first = open_engine(tmp_path / "c", state_dir=tmp_path / "st")
        first.commit(first.plan())
        a = open_engine(tmp_path / "c", state_dir=tmp_path / "st")
        b = open_engine(tmp_path / "c", state_dir=tmp_path / "st")
        pages[0].write_text("---\ntitle: P0\n---\nA saw this\n")
        plan_a = a.plan()
        pages[1].write_text("---\ntitle: P1\n---\nB saw this too\n")
        plan_b = b.plan()
        a.commit(plan_a)
        with pytest.warns(StateWarning, match="another build committed"):
            b.commit(plan_b)
        after = open_engine(tmp_path / "c", state_dir=tmp_path / "st").plan()
        assert {pages[0], pages[1]} <= after.pages
        assert pages[4] not in after.pages

    def test_two_processes_committing_at_once(self, tmp_path: Path) -> None:
        """Processes committing to one state dir at once leave a loadable state, no miss."""
        make_site(tmp_path / "c", pages=50)
        script = textwrap.dedent(
            f"""
            import warnings
            from incrbuild.adapters.files import open_engine
            warnings.simplefilter("ignore")
            for _ in range(15):
                engine = open_engine({str(tmp_path / "c")!r}, state_dir={str(tmp_path / "st")!r})
                engine.commit(engine.plan())
            """
        )
        workers = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(3)]
        assert [w.wait(timeout=120) for w in workers] == [0, 0, 0]
        state, messages = load_quietly(StateStore(tmp_path / "st"))
        assert messages == []
        assert state.commit_id
        (tmp_path / "c" / "s" / "p7.md").write_text("---\ntitle: changed\n---\n")
        plan = open_engine(tmp_path / "c", state_dir=tmp_path / "st").plan()
        assert tmp_path / "c" / "s" / "p7.md" in plan.pages


def test_encode_is_compact() -> None:
    """A record costs tens of bytes, not hundreds (10K pages must fit in about 1 MB)."""
    assert len(encode_state(sample_state(1000))) < 60 * 1000


def state_files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.name != "lock"}


class TestJournal:
    def test_event_commit_appends_what_changed_and_loads_back_equal(self, tmp_path: Path) -> None:
        """A commit after plan_paths appends to the journal; a fresh load equals memory."""
        pages = make_site(tmp_path / "c", pages=30)
        engine = open_engine(tmp_path / "c", state_dir=tmp_path / "st")
        engine.commit(engine.plan())
        snapshot = (tmp_path / "st" / "state.bin").read_bytes()
        for round_ in range(3):
            pages[round_].write_text(f"---\ntitle: P{round_}\ntags: [new]\n---\nedited\n")
            engine.commit(engine.plan_paths([pages[round_]]))
        assert (tmp_path / "st" / "state.bin").read_bytes() == snapshot  # untouched
        journal = (tmp_path / "st" / "journal.bin").stat().st_size
        assert 0 < journal < len(snapshot)
        state, messages = load_quietly(StateStore(tmp_path / "st"))
        assert messages == []
        assert state == state_of(engine)
        assert StateStore(tmp_path / "st").current_commit_id() == state.commit_id
        assert not open_engine(tmp_path / "c", state_dir=tmp_path / "st").plan().changes

    def test_torn_journal_tail_reads_as_the_commit_before(self, tmp_path: Path) -> None:
        """A last entry cut short (a killed append) is ignored; the next append replaces it."""
        pages = make_site(tmp_path / "c")
        engine = open_engine(tmp_path / "c", state_dir=tmp_path / "st")
        engine.commit(engine.plan())
        pages[0].write_text("---\ntitle: A\n---\n")
        engine.commit(engine.plan_paths([pages[0]]))
        first = StateStore(tmp_path / "st").load()
        pages[1].write_text("---\ntitle: B\n---\n")
        engine.commit(engine.plan_paths([pages[1]]))
        journal = tmp_path / "st" / "journal.bin"
        whole = journal.read_bytes()
        journal.write_bytes(whole[:-5])
        state, messages = load_quietly(StateStore(tmp_path / "st"))
        assert messages == []
        assert state == first
        fresh = open_engine(tmp_path / "c", state_dir=tmp_path / "st")
        plan = fresh.plan()
        assert plan.changes.modified == {pages[1]}
        fresh.commit(plan)
        assert not open_engine(tmp_path / "c", state_dir=tmp_path / "st").plan().changes

    def test_a_grown_journal_is_compacted_into_a_snapshot(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Past its size limit the journal is folded into a new snapshot."""
        monkeypatch.setattr("incrbuild._state._MIN_JOURNAL_BYTES", 600)
        pages = make_site(tmp_path / "c")
        engine = open_engine(tmp_path / "c", state_dir=tmp_path / "st")
        engine.commit(engine.plan())
        snapshots = set()
        for round_ in range(12):
            pages[round_ % 5].write_text(f"---\ntitle: R{round_}\n---\n")
            engine.commit(engine.plan_paths([pages[round_ % 5]]))
            snapshots.add((tmp_path / "st" / "state.bin").read_bytes())
            assert (tmp_path / "st" / "journal.bin").stat().st_size <= 600 + 400
        assert len(snapshots) > 1
        state, messages = load_quietly(StateStore(tmp_path / "st"))
        assert messages == []
        assert state == state_of(engine)

    def test_undecodable_entry_with_a_good_checksum_is_a_corrupt_store(
        self, tmp_path: Path
    ) -> None:
        """A journal entry that passes its CRC but is not an entry warns and reads as empty."""
        import struct
        import zlib

        from incrbuild._state import _ENTRY_HEADER

        pages = make_site(tmp_path / "c")
        engine = open_engine(tmp_path / "c", state_dir=tmp_path / "st")
        engine.commit(engine.plan())
        pages[0].write_text("---\ntitle: A\n---\n")
        engine.commit(engine.plan_paths([pages[0]]))
        journal = tmp_path / "st" / "journal.bin"
        rest = _ENTRY_HEADER.pack(3, 0, 0, b"x")[8:] + b"\x93\x01\x02"
        journal.write_bytes(journal.read_bytes() + struct.pack("<II", 3, zlib.crc32(rest)) + rest)
        state, messages = load_quietly(StateStore(tmp_path / "st"))
        assert state == State()
        assert len(messages) == 1
        assert "journal cannot be decoded" in messages[0]

    def test_kill_during_journal_appends_leaves_a_commit_never_a_torn_one(
        self, tmp_path: Path
    ) -> None:
        """SIGKILL at random moments of journal appends: the store loads, as one commit."""
        script = textwrap.dedent(
            f"""
            from incrbuild._state import FileRecord, State, StateStore
            store = StateStore({str(tmp_path / "st")!r})
            files = {{f"f{{i}}": FileRecord(0, i, 0, 0, 0, b"x" * 16) for i in range(20000)}}
            state = State(root="/r", snapshot_ns=0, commit_id="0", files=files)
            store.save(state)
            n = 0
            while True:
                n += 1
                for i in range(n % 50, 20000, 50):
                    state.files[f"f{{i}}"] = FileRecord(n, i, 0, 0, 0, b"x" * 16)
                state.snapshot_ns = n
                state.commit_id = str(n)
                store.save(state)
                print(n, flush=True)
            """
        )
        rounds = 0
        for delay in (0.0, 0.05, 0.1, 0.2):
            process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
            assert process.stdout is not None
            first = process.stdout.readline()  # one append is done: every round is checked
            assert first.strip(), "the committing process died before its first commit"
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            process.wait()
            printed = [first, *process.stdout.read().split()]
            state, messages = load_quietly(StateStore(tmp_path / "st"))
            assert messages == []
            rounds += 1
            n = state.snapshot_ns
            assert state.commit_id == str(n)
            assert n >= int(printed[-1])  # every commit reported done is there
            assert all(r.mtime_ns <= n for r in state.files.values())
            assert sum(1 for r in state.files.values() if r.mtime_ns == n) == (
                len(range(n % 50, 20000, 50)) if n else 20000
            )
            for name in os.listdir(tmp_path / "st"):
                assert not name.endswith(".tmp") or name.startswith(".state-")
        assert rounds == 4


class TestOddInputs:
    def test_non_utf8_names_are_stored_losslessly(self, tmp_path: Path) -> None:
        """A file name that is not UTF-8 commits, round-trips exactly, and plans nothing after."""
        content = tmp_path / "c"
        make_site(content)
        odd = content / "s" / os.fsdecode(b"caf\xe9.md")
        odd.write_text("---\ntitle: Cafe\n---\nbody\n")
        engine = open_engine(content, state_dir=tmp_path / "st")
        engine.record_dependencies(odd, [content / os.fsdecode(b"t\xff.html")])
        engine.commit(engine.plan())
        state, messages = load_quietly(StateStore(tmp_path / "st"))
        assert messages == []
        assert "s/" + os.fsdecode(b"caf\xe9.md") in state.files
        assert state == state_of(engine)
        again = open_engine(content, state_dir=tmp_path / "st").plan()
        assert not again.changes
        odd.write_text("---\ntitle: Cafe 2\n---\nbody\n")
        engine.commit(engine.plan_paths([odd]))  # and through the journal
        assert StateStore(tmp_path / "st").load() == state_of(engine)

    def test_escaping_round_trips_every_string(self) -> None:
        """Escaped strings come back exactly, including ones that start like an escape."""
        from incrbuild._state import _escape, _unescape

        for text in ["plain", "caf\udce9", "\ud800x", "\x00start", "", "ünïcode"]:
            assert _unescape(_escape(text)) == text

    def test_valid_checksum_malformed_front_matter_is_a_full_rebuild(self, tmp_path: Path) -> None:
        """A page record whose bytes decode as no front matter: a warning, then every page."""
        import msgspec

        make_site(tmp_path / "c")
        engine = open_engine(tmp_path / "c", state_dir=tmp_path / "st")
        engine.commit(engine.plan())
        store = StateStore(tmp_path / "st")
        state = store.load()
        key = next(iter(state.facts))
        state.files[key] = msgspec.structs.replace(state.files[key], front_matter=b"\xc1\xc1")
        StateStore(tmp_path / "st").save(state)  # a fresh store: a whole, well-summed snapshot
        (tmp_path / "c" / "s" / "p0.md").write_text("---\ntitle: changed\n---\n")
        fresh = open_engine(tmp_path / "c", state_dir=tmp_path / "st")
        with pytest.warns(StateWarning, match="cannot be decoded.*full rebuild"):
            plan = fresh.plan()
        assert plan.full
        assert len(plan.pages) == 5
        fresh.commit(plan)
        assert not open_engine(tmp_path / "c", state_dir=tmp_path / "st").plan().changes

    def test_temporaries_of_killed_writers_are_removed_under_the_lock(self, tmp_path: Path) -> None:
        """``.state-*.tmp`` files left by a killed commit are deleted by the next commit."""
        make_site(tmp_path / "c")
        (tmp_path / "st").mkdir()
        for n in range(3):
            (tmp_path / "st" / f".state-dead{n}.tmp").write_bytes(b"partial")
        engine = open_engine(tmp_path / "c", state_dir=tmp_path / "st")
        engine.commit(engine.plan())
        assert sorted(os.listdir(tmp_path / "st")) == ["lock", "state.bin"]


class TestRacyRefresh:
    WINDOW = 300_000_000  # 0.3 s, so the test need not wait 2 s

    @pytest.fixture(params=["journal", "compaction"], autouse=True)
    def journal_room(self, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
        """Run each test with a refresh small enough to append, and with one due for compaction.

        A large refresh (a touch of many files) outgrows the snapshot's quarter, so it
        must be written as a snapshot (a 10K-page first build, whose refresh once held
        every record, was re-digested by every later process while this was missing).
        """
        if request.param == "compaction":
            monkeypatch.setattr("incrbuild._state._MIN_JOURNAL_BYTES", 0)

    def write_and_commit(self, tmp_path: Path) -> list[Path]:
        pages = make_site(tmp_path / "c", pages=20)
        engine = open_engine(tmp_path / "c", state_dir=tmp_path / "st", racy_window_ns=self.WINDOW)
        engine.commit(engine.plan())  # right after the writes: every record is racy
        time.sleep(self.WINDOW / 1e9 + 0.05)
        return pages

    def test_second_noop_plan_digests_nothing_in_process_and_fresh(self, tmp_path: Path) -> None:
        """The first no-op plan re-checks the racy records and refreshes them, for good."""
        self.write_and_commit(tmp_path)
        # Which records are racy depends on how long the writes took (a loaded machine
        # can stall longer than the window): count them rather than assume all 20.
        stored = StateStore(tmp_path / "st").load()
        floor = stored.snapshot_ns - self.WINDOW
        racy = sum(r.mtime_ns >= floor or r.ctime_ns >= floor for r in stored.files.values())
        assert racy >= 1
        engine = open_engine(tmp_path / "c", state_dir=tmp_path / "st", racy_window_ns=self.WINDOW)
        first = engine.plan()
        assert first.stats.detector.racy_checks == racy
        assert engine.plan().stats.detector.digests == 0
        fresh = open_engine(tmp_path / "c", state_dir=tmp_path / "st", racy_window_ns=self.WINDOW)
        assert fresh.plan().stats.detector.digests == 0  # persisted

    def test_refresh_keeps_equal_records_on_the_loaded_rows(self, tmp_path: Path) -> None:
        """A racy record whose bytes are unchanged is settled by the new snapshot time alone.

        Overlaying an equal record object on each row (as a first build's refresh
        did for every page) sent every later in-process scan down the per-record
        path: a 10,000-page second no-op plan took 1.5-1.85x an aged one.
        """
        self.write_and_commit(tmp_path)
        engine = open_engine(tmp_path / "c", state_dir=tmp_path / "st", racy_window_ns=self.WINDOW)
        assert engine.plan().stats.detector.racy_checks >= 1
        files = state_of(engine).files
        assert isinstance(files, FileTable)
        assert files.keys_differing(files) == set()  # every record is still a loaded row
        assert engine.plan().stats.detector.digests == 0
        fresh = open_engine(tmp_path / "c", state_dir=tmp_path / "st", racy_window_ns=self.WINDOW)
        assert fresh.plan().stats.detector.digests == 0  # persisted

    def test_a_touched_file_is_hashed_once(self, tmp_path: Path) -> None:
        """A touch (new mtime, same bytes) is verified by one no-op plan, then trusted.

        Raising the snapshot alone settles racy records; a touched file's record must
        be re-stamped with its new stat, or every later plan hashes it again.
        """
        pages = self.write_and_commit(tmp_path)
        engine = open_engine(tmp_path / "c", state_dir=tmp_path / "st", racy_window_ns=self.WINDOW)
        engine.plan()  # settles the first build's racy records
        stamp = pages[4].stat().st_mtime_ns - 10 * 10**9
        os.utime(pages[4], ns=(stamp, stamp))
        time.sleep(self.WINDOW / 1e9 + 0.05)  # the touch's ctime leaves the window
        touched = engine.plan()
        assert touched.changes.touched == {pages[4]}
        assert touched.stats.detector.digests == 1
        assert engine.plan().stats.detector.digests == 0
        fresh = open_engine(tmp_path / "c", state_dir=tmp_path / "st", racy_window_ns=self.WINDOW)
        assert fresh.plan().stats.detector.digests == 0  # persisted

    def test_refresh_never_hides_a_later_edit(self, tmp_path: Path) -> None:
        """An in-place rewrite after a refresh (same size and mtime) is still found."""
        pages = self.write_and_commit(tmp_path)
        engine = open_engine(tmp_path / "c", state_dir=tmp_path / "st", racy_window_ns=self.WINDOW)
        engine.plan()
        before = pages[3].stat()
        pages[3].write_text(pages[3].read_text().replace("body", "BODY"))
        os.utime(pages[3], ns=(before.st_atime_ns, before.st_mtime_ns))
        assert engine.plan().changes.modified == {pages[3]}
        fresh = open_engine(tmp_path / "c", state_dir=tmp_path / "st", racy_window_ns=self.WINDOW)
        assert fresh.plan().changes.modified == {pages[3]}

    def test_refresh_keeps_no_record_the_scan_did_not_verify(self, tmp_path: Path) -> None:
        """A record no scan checks any more (an outside input no page reads) is dropped."""
        pages = make_site(tmp_path / "c", pages=20)
        outside = tmp_path / "layout.html"
        outside.write_text("<html/>")
        engine = open_engine(tmp_path / "c", state_dir=tmp_path / "st", racy_window_ns=self.WINDOW)
        time.sleep(self.WINDOW / 1e9 + 0.05)
        plan = engine.plan()
        engine.record_dependencies(pages[0], [outside])
        engine.commit(plan)
        assert outside.as_posix() in state_of(engine).files
        pages[0].write_text("---\ntitle: P0 again\n---\n")  # racy from here on
        plan = engine.plan()
        engine.record_dependencies(pages[0], [])
        engine.commit(plan)  # the outside record stays (seen), but nothing depends on it
        time.sleep(self.WINDOW / 1e9 + 0.05)
        snapshot = StateStore(tmp_path / "st").load().snapshot_ns
        fresh = open_engine(tmp_path / "c", state_dir=tmp_path / "st", racy_window_ns=self.WINDOW)
        assert fresh.plan().stats.detector.racy_checks >= 1
        # No refresh: it would vouch for the outside record, which no scan checked.
        assert state_of(fresh).snapshot_ns == snapshot
        assert StateStore(tmp_path / "st").load().snapshot_ns == snapshot
        assert fresh.plan().stats.detector.racy_checks >= 1
        fresh.commit(fresh.plan())  # a commit drops the unseen record, then refreshes work
        assert outside.as_posix() not in state_of(fresh).files

    def test_refresh_does_not_overwrite_another_writers_commit(self, tmp_path: Path) -> None:
        """A plan that would refresh, racing a commit of another engine, loses no commit."""
        pages = self.write_and_commit(tmp_path)
        slow = open_engine(tmp_path / "c", state_dir=tmp_path / "st", racy_window_ns=self.WINDOW)
        state_of(slow)
        other = open_engine(tmp_path / "c", state_dir=tmp_path / "st", racy_window_ns=self.WINDOW)
        pages[0].write_text("---\ntitle: other\n---\n")
        other.commit(other.plan())
        committed = StateStore(tmp_path / "st").current_commit_id()
        with StateStore(tmp_path / "st").locked():  # the other writer is still busy
            slow.plan()
        assert StateStore(tmp_path / "st").current_commit_id() == committed
        assert not open_engine(tmp_path / "c", state_dir=tmp_path / "st").plan().changes

    def test_plan_never_changes_what_was_committed(self, tmp_path: Path) -> None:
        """A refresh keeps the commit id and the records' meaning: plans see the same changes."""
        pages = self.write_and_commit(tmp_path)
        pages[2].write_text("---\ntitle: pending\n---\n")
        engine = open_engine(tmp_path / "c", state_dir=tmp_path / "st", racy_window_ns=self.WINDOW)
        committed = StateStore(tmp_path / "st").current_commit_id()
        assert engine.plan().changes.modified == {pages[2]}
        assert engine.plan().changes.modified == {pages[2]}
        assert StateStore(tmp_path / "st").current_commit_id() == committed


class TestNoopWithoutSiteModel:
    def test_noop_plan_reads_no_page_and_commit_carries_everything(self, tmp_path: Path) -> None:
        """A no-op plan builds no site model; the site still loads on demand; commit is exact."""
        pages = make_site(tmp_path / "c")
        engine = open_engine(tmp_path / "c", state_dir=tmp_path / "st")
        engine.record_dependencies(pages[0], [tmp_path / "c" / "s" / "p1.md"])
        engine.commit(engine.plan())
        fresh = open_engine(tmp_path / "c", state_dir=tmp_path / "st")
        plan = fresh.plan()
        assert plan.pages == frozenset()
        assert plan.stats.site_pages == 5
        assert fresh._site is None  # nothing loaded
        before = state_of(fresh)
        fresh.commit(plan)
        after = StateStore(tmp_path / "st").load()
        assert after.files == before.files
        assert after.dependencies == before.dependencies
        assert len(fresh.site.pages) == 5  # loaded on demand
        pages[1].write_text("---\ntitle: P1 new\ntags: [t1]\n---\n")
        assert pages[0] in fresh.plan().pages  # the dependency survived the no-op commit

    def test_events_after_a_noop_plan_stay_partial(self, tmp_path: Path) -> None:
        """After a committed no-op plan that loaded no model, an event plan is still partial."""
        pages = make_site(tmp_path / "c")
        open_engine(tmp_path / "c", state_dir=tmp_path / "st").commit(
            open_engine(tmp_path / "c", state_dir=tmp_path / "st").plan()
        )
        engine = open_engine(tmp_path / "c", state_dir=tmp_path / "st")
        engine.commit(engine.plan())  # no-op: no site model
        pages[2].write_text("---\ntitle: P2 edited\ntags: [t0]\n---\n")
        plan = engine.plan_paths([pages[2]])
        assert plan.partial
        assert plan.changes.modified == {pages[2]}
        assert pages[2] in plan.pages
        engine.commit(plan)
        assert not open_engine(tmp_path / "c", state_dir=tmp_path / "st").plan().changes


def test_normalised_front_matter_shares_nothing_with_the_page() -> None:
    """A page's front matter, normalised for the store, is a copy down to its lists."""
    from incrbuild._metadata import normalise_metadata

    metadata = {"title": "T", "tags": ["a"], "cascade": {"layout": "x"}}
    normal = normalise_metadata(metadata)
    assert normal == metadata
    assert normal is not metadata
    assert normal["tags"] is not metadata["tags"]
    assert normal["cascade"] is not metadata["cascade"]
    assert normalise_metadata({1: "a"}) == {"1": "a"}
