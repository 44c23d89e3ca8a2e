"""Watch mode: O(events) plans, and a rescan (never a miss) whenever the watcher is in doubt."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from incrbuild import ChangeBatch, Plan, WatchfilesSource, WatchSession
from incrbuild.adapters.files import open_engine
from incrbuild.testing import FakeChangeSource

from .helpers import CommandProcess, write


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    for i in range(30):
        write(root / f"s{i % 3}" / f"p{i}.md", f"---\ntitle: P{i}\ntags: [t{i % 4}]\n---\n{i}\n")
    return root


def start(content: Path, **options: object) -> tuple[FakeChangeSource, WatchSession, Clock]:
    source = FakeChangeSource()
    clock = Clock()
    engine = open_engine(content, state_dir=content.parent / "state")
    session = WatchSession(engine, source, clock=clock, **options)  # type: ignore[arg-type]
    return source, session, clock


def next_plan(plans: object) -> Plan:
    plan = next(plans)  # type: ignore[call-overload]
    assert isinstance(plan, Plan)
    return plan


def is_event_plan(plan: Plan) -> bool:
    return plan.partial


class TestWatchSession:
    def test_start_up_scans_then_events_are_planned_alone(self, content: Path) -> None:
        """The first plan is a full scan; an event then plans from its path only."""
        source, session, _ = start(content)
        plans = session.plans()
        first = next_plan(plans)
        assert first.full
        assert not is_event_plan(first)
        session.engine.commit(first)
        edited = write(content / "s1" / "p4.md", "---\ntitle: P4\ntags: [t0]\n---\nedited\n")
        source.push(edited)
        plan = next_plan(plans)
        assert is_event_plan(plan)
        assert plan.pages == {edited}
        assert plan.stats.detector.files_stat == 1
        assert session.stats.rescans == {"start-up": 1}

    def test_overflow_leads_to_a_rescan_that_finds_the_dropped_edit(self, content: Path) -> None:
        """An edit whose event was dropped, then an overflow signal: the rescan finds it."""
        source, session, _ = start(content)
        plans = session.plans()
        session.engine.commit(next_plan(plans))
        dropped = write(content / "s0" / "p3.md", "---\ntitle: P3\n---\nunreported\n")
        source.overflow()
        plan = next_plan(plans)
        assert not is_event_plan(plan)
        assert dropped in plan.pages
        assert session.stats.rescans["event queue overflow"] == 1

    def test_watcher_error_leads_to_a_rescan(self, content: Path) -> None:
        """A watcher that raises is not trusted: the next plan scans everything."""
        source, session, _ = start(content)
        plans = session.plans()
        session.engine.commit(next_plan(plans))
        dropped = write(content / "s2" / "p5.md", "---\ntitle: P5\n---\nunseen\n")
        source.fail(OSError("inotify watch limit reached"))
        plan = next_plan(plans)
        assert dropped in plan.pages
        assert any("watcher error" in reason for reason in session.stats.rescans)

    def test_large_batch_leads_to_a_rescan(self, content: Path) -> None:
        """A batch larger than ``max_batch`` is treated as a sign events were lost."""
        source, session, _ = start(content, max_batch=5)
        plans = session.plans()
        session.engine.commit(next_plan(plans))
        source.push(*(content / "s0" / f"x{i}.md" for i in range(6)))
        assert not is_event_plan(next_plan(plans))
        assert session.stats.rescans["large batch (6 paths)"] == 1

    def test_silently_dropped_event_is_caught_by_periodic_verification(self, content: Path) -> None:
        """A dropped event with no signal at all is caught once the verification interval passes."""
        source, session, clock = start(content, rescan_interval=60.0)
        plans = session.plans()
        session.engine.commit(next_plan(plans))
        silent = write(content / "s0" / "p6.md", "---\ntitle: P6\n---\nsilent\n")
        other = write(content / "s1" / "p7.md", "---\ntitle: P7\n---\nreported\n")
        source.push(other)
        plan = next_plan(plans)
        assert plan.pages == {other}  # the watcher's silence is trusted for a while...
        session.engine.commit(plan)
        clock.now += 61
        source.idle()
        plan = next_plan(plans)
        assert silent in plan.pages  # ...but not forever
        assert session.stats.rescans["periodic verification"] == 1

    def test_events_during_a_build_roll_into_the_next_plan(self, content: Path) -> None:
        """Edits made while the host builds a plan are planned next, not lost."""
        source, session, _ = start(content)
        plans = session.plans()
        session.engine.commit(next_plan(plans))
        first = write(content / "s0" / "p0.md", "---\ntitle: P0\n---\nfirst\n")
        source.push(first)
        plan = next_plan(plans)
        during = write(content / "s0" / "p3.md", "---\ntitle: P3\n---\nduring the build\n")
        source.push(during)
        session.engine.commit(plan)
        assert next_plan(plans).pages == {during}

    def test_uncommitted_plan_is_checked_again(self, content: Path) -> None:
        """If the host does not commit a plan (its build failed), the next plan still has it."""
        source, session, _ = start(content)
        plans = session.plans()
        session.engine.commit(next_plan(plans))
        failed = write(content / "s2" / "p2.md", "---\ntitle: P2\n---\nbuild failed\n")
        source.push(failed)
        assert next_plan(plans).pages == {failed}
        later = write(content / "s1" / "p1.md", "---\ntitle: P1\n---\nlater\n")
        source.push(later)
        assert next_plan(plans).pages == {failed, later}

    def test_uncommitted_start_up_scan_keeps_scanning(self, content: Path) -> None:
        """Until a full scan is committed, event batches are planned by full scans."""
        source, session, _ = start(content)
        plans = session.plans()
        next_plan(plans)  # not committed
        source.push(content / "s0" / "p0.md")
        assert not is_event_plan(next_plan(plans))

    def test_each_fallback_to_a_full_scan_says_why(self, content: Path) -> None:
        """An event batch planned by a full scan is counted under the reason it had."""
        source, session, _ = start(content)
        plans = session.plans()
        next_plan(plans)  # not committed
        source.push(content / "s0" / "p0.md")
        fallback = next_plan(plans)
        assert not fallback.partial
        assert fallback.stats.fallback == "the last full plan was not committed"
        session.engine.commit(fallback)
        other = open_engine(content, state_dir=content.parent / "state")
        write(content / "s0" / "p0.md", "---\ntitle: P0\n---\nby another process\n")
        other.commit(other.plan())
        source.push(content / "s0" / "p0.md")
        session.engine.commit(next_plan(plans))
        outside = write(content.parent / "shared.md", "---\ntitle: Shared\n---\n")
        (content / "s1" / "shared.md").symlink_to(outside)
        source.push(content / "s1" / "shared.md")
        session.engine.commit(next_plan(plans))
        source.push(content / "s1" / "p1.md")
        assert not next_plan(plans).partial
        assert session.stats.rescans == {
            "start-up": 1,
            "the last full plan was not committed": 1,
            "another process committed": 1,
            "a symbolic link points outside the content directory": 1,
        }

    def test_new_directory_is_scanned_whole(self, content: Path) -> None:
        """Files created in a new directory before any watch on it are found from its one event."""
        source, session, _ = start(content)
        plans = session.plans()
        session.engine.commit(next_plan(plans))
        made = [
            write(content / "new" / "deep" / f"n{i}.md", f"---\ntitle: N{i}\n---\n")
            for i in range(3)
        ]
        source.push(content / "new")
        plan = next_plan(plans)
        assert is_event_plan(plan)
        assert set(made) <= plan.pages

    def test_removed_directory_from_one_event(self, content: Path) -> None:
        """A removed directory reported once removes every page below it."""
        import shutil

        source, session, _ = start(content)
        plans = session.plans()
        session.engine.commit(next_plan(plans))
        shutil.rmtree(content / "s2")
        source.push(content / "s2")
        plan = next_plan(plans)
        assert len(plan.removed_pages) == 10


class TestFakeChangeSource:
    def test_close_ends_batches(self) -> None:
        """``close`` ends the batch iterator after what was pushed."""
        source = FakeChangeSource()
        source.push("a")
        source.close()
        assert list(source.batches()) == [ChangeBatch(frozenset({Path("a")}))]


class TestOwnFiles:
    def test_events_in_the_state_dir_plan_nothing(self, content: Path) -> None:
        """Events for the state file, lock and temporaries are dropped: a commit plans nothing."""
        source, session, _ = start(content)
        plans = session.plans()
        session.engine.commit(next_plan(plans))
        state = Path(session.engine.state_dir)
        source.push(state / "state.bin", state / "lock", state / ".state-x.tmp")
        edited = write(content / "s1" / "p1.md", "---\ntitle: P1\n---\nafter\n")
        source.push(edited)
        plan = next_plan(plans)
        assert plan.pages == {edited}
        assert session.stats.event_plans == 1
        assert session.stats.batches == 2

    def test_a_visible_state_dir_inside_the_content_dir_is_not_content(self, content: Path) -> None:
        """``--state-dir content/state``: the detector never lists it, events for it are dropped."""
        engine = open_engine(content, state_dir=content / "state")
        engine.commit(engine.plan())
        assert (content / "state" / "state.bin").exists()
        again = engine.plan()
        assert not again.changes
        assert not again.changes.touched
        engine.commit(again)
        event = engine.plan_paths([content / "state" / "state.bin", content / "state"])
        assert not event.changes
        assert not event.pages

    def test_default_state_dir_is_hidden_inside_the_content_dir(self, content: Path) -> None:
        """The default state dir is hidden (never content) and commits leave nothing to plan."""
        engine = open_engine(content)
        assert Path(engine.state_dir) == content.resolve() / ".incrbuild"
        engine.commit(engine.plan())
        assert not engine.plan().changes


def consume_until(
    source: WatchfilesSource, done: Callable[[ChangeBatch], bool], seen: list[ChangeBatch]
) -> threading.Thread:
    """Collect *source*'s batches in a thread until *done* says so (then close the source)."""

    def consume() -> None:
        for batch in source.batches():
            seen.append(batch)
            if done(batch):
                source.close()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    return thread


class TestWatchfilesSource:
    def test_first_answer_is_a_rescan_then_a_real_edit_is_reported(self, content: Path) -> None:
        """Its first batch asks for a rescan (the watch is live only now); then edits come."""
        source = WatchfilesSource([content], debounce_ms=20, step_ms=20, idle_tick_ms=100)
        seen: list[ChangeBatch] = []
        thread = consume_until(source, lambda b: any(p.name == "p9.md" for p in b.paths), seen)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and thread.is_alive():
            write(content / "s0" / "p9.md", f"---\ntitle: P9\n---\n{time.time()}\n")
            thread.join(0.5)
        source.close()
        thread.join(5)
        assert seen[0].rescan == "watcher started"
        assert any(p.name == "p9.md" for batch in seen for p in batch.paths)

    def test_reports_what_watchfiles_filters_by_default(self, content: Path) -> None:
        """Files the detector tracks in ``node_modules`` or named ``flycheck_*`` are reported."""
        source = WatchfilesSource([content], debounce_ms=20, step_ms=20, idle_tick_ms=100)
        seen: list[ChangeBatch] = []
        wanted = {"flycheck_notes.md", "dep.md"}

        def reported() -> set[str]:
            return {p.name for batch in seen for p in batch.paths} & wanted

        thread = consume_until(source, lambda b: reported() == wanted, seen)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and thread.is_alive():
            write(content / "flycheck_notes.md", f"{time.time()}\n")
            write(content / "node_modules" / "dep.md", f"{time.time()}\n")
            thread.join(0.5)
        source.close()
        thread.join(5)
        assert reported() == wanted

    def test_ignored_directory_is_never_reported(self, content: Path) -> None:
        """Writes below an ignored directory never appear; a write beside it does."""
        own = content / "state"
        own.mkdir()
        source = WatchfilesSource(
            [content], debounce_ms=20, step_ms=20, idle_tick_ms=100, ignore=[own]
        )
        seen: list[ChangeBatch] = []
        thread = consume_until(source, lambda b: any(p.name == "p8.md" for p in b.paths), seen)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and thread.is_alive():
            write(own / "state.bin", f"{time.time()}")
            write(own / "lock", "")
            write(content / "s2" / "p8.md", f"---\ntitle: P8\n---\n{time.time()}\n")
            thread.join(0.5)
        source.close()
        thread.join(5)
        paths = {p for batch in seen for p in batch.paths}
        assert any(p.name == "p8.md" for p in paths)
        assert not [p for p in paths if own in p.parents or p == own]


class TestWatchCommand:
    def test_prints_a_plan_for_an_edit(self, content: Path) -> None:
        """``incrbuild watch`` prints the start-up plan, then a plan with reasons for an edit."""
        watch = CommandProcess(["watch", str(content)])
        try:
            watch.wait_for(r"^--- plan 1 \(full scan\)")
            watch.wait_for(r"^decided in")
            # One edit, made at once: the rescan when the watcher goes live, or its event,
            # must find it (no sleep hoping the watcher is ready).
            write(content / "s0" / "p0.md", "---\ntitle: P0\n---\nwatched edit\n")
            watch.wait_for(r"^--- plan [23] \(")
            watch.wait_for(r"modified s0/p0\.md")
            watch.wait_for(r"because source modified")
            status, err = watch.interrupt()
        finally:
            watch.kill()
        assert status == 0, err
        assert "Traceback" not in err

    def test_ctrl_c_stops_it(self, content: Path) -> None:
        """SIGINT ends ``incrbuild watch``: status 0, one status line, no traceback."""
        watch = CommandProcess(["watch", str(content)])
        try:
            watch.wait_for(r"^decided in")
            status, err = watch.interrupt()
        finally:
            watch.kill()
        assert status == 0, err
        assert "Traceback" not in err
        assert re.search(r"incrbuild: stopped after \d+ plans?", err)

    def test_a_commit_does_not_trigger_a_plan(self, content: Path) -> None:
        """With the state dir inside the content dir, commits wake nothing: plans stay few."""
        watch = CommandProcess(["watch", str(content)])
        try:
            watch.wait_for(r"^decided in")
            write(content / "s1" / "p1.md", "---\ntitle: P1\n---\nwatched\n")
            watch.wait_for(r"modified s1/p1\.md")
            watch.wait_for(r"^decided in")
            # A commit that woke the watcher would plan again within one debounce (50 ms),
            # then again after each commit; two seconds of silence show it does not.
            assert not [line for line in watch.lines_within(2.0) if line.startswith("---")]
            status, err = watch.interrupt()
        finally:
            watch.kill()
        assert status == 0, err
        found = re.search(r"stopped after (\d+) plans?", err)
        assert found is not None, err
        # Start-up, the rescan when the watcher went live, the edit (in one or two batches).
        assert int(found.group(1)) <= 4, err
