"""Watch mode: O(events) plans, and a rescan (never a miss) whenever the watcher is in doubt."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from incrbuild import ChangeBatch, FakeChangeSource, Plan, WatchfilesSource, WatchSession
from incrbuild.adapters.files import open_engine


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


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
    return plan.detection is not None and plan.detection.partial


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


class TestWatchfilesSource:
    def test_reports_a_real_edit(self, content: Path) -> None:
        """The watchfiles source reports an edited file through the real watcher."""
        source = WatchfilesSource([content], debounce_ms=20, step_ms=20, idle_tick_ms=100)
        seen: list[ChangeBatch] = []

        def consume() -> None:
            for batch in source.batches():
                seen.append(batch)
                if any(p.name == "p9.md" for p in batch.paths):
                    source.close()

        thread = threading.Thread(target=consume, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and thread.is_alive():
            write(content / "s0" / "p9.md", f"---\ntitle: P9\n---\n{time.time()}\n")
            thread.join(0.5)
        source.close()
        thread.join(5)
        assert any(p.name == "p9.md" for batch in seen for p in batch.paths)


class TestWatchCommand:
    def test_prints_a_plan_for_an_edit(self, content: Path) -> None:
        """``incrbuild watch`` prints the start-up plan, then a plan with reasons for an edit."""
        process = subprocess.Popen(
            [sys.executable, "-m", "incrbuild", "watch", str(content), "--max-plans", "2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        lines: list[str] = []
        while True:
            line = process.stdout.readline()
            lines.append(line)
            if line.startswith("decided in") or not line:
                break
        time.sleep(0.3)
        write(content / "s0" / "p0.md", "---\ntitle: P0\n---\nwatched edit\n")
        out, err = process.communicate(timeout=30)
        text = "".join(lines) + out
        assert "--- plan 1 (full scan)" in text
        assert "--- plan 2 (event)" in text
        assert "s0/p0.md" in text
        assert "because source modified" in text
        assert process.returncode == 0, err
