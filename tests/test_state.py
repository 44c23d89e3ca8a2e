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

from incrbuild import StateLockedError, StateStore, StateWarning, StateWriteError
from incrbuild._state import SCHEMA_VERSION, FileRecord, State, decode_state, encode_state
from incrbuild.adapters.files import open_engine


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
        data = struct.pack("<8sI", b"INCRBLD\x00", SCHEMA_VERSION) + payload
        data += struct.pack("<I", zlib.crc32(payload))
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
            store.save(sample_state(5))
        monkeypatch.undo()
        assert store.load() == sample_state(1)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["state.bin"]

    def test_lock_times_out_with_a_clear_error(self, tmp_path: Path) -> None:
        """A lock held by another process past the timeout raises StateLockedError."""
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                textwrap.dedent(
                    f"""
                    import sys, time
                    from incrbuild import StateStore
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
        for delay in (0.3, 0.45, 0.6, 0.8):
            process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            process.wait()
            if not (big / "state.bin").exists():
                continue
            state, messages = load_quietly(StateStore(big))
            assert messages == []
            assert len(state.files) == 20000
            assert state.commit_id == str(state.snapshot_ns)
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
