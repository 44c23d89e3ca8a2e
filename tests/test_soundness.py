"""Issue 12 regressions through the whole engine: hostile trees never lose a change or crash.

Each test names the item of issue 12 it pins; each failed on the code before its fix.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from incrbuild import Engine
from incrbuild.adapters.files import open_engine

OLD = 1_600_000_000 * 1_000_000_000


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    return path


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    write(root / "docs" / "_index.md", "---\ntitle: Docs\n---\n")
    write(root / "docs" / "good.md", "---\ntitle: Good\ntags: [a]\n---\n")
    write(root / "top.md", "---\ntitle: Top\n---\n")
    return root


def engine_for(root: Path) -> Engine:
    return open_engine(root, state_dir=root.parent / "state", racy_window_ns=10_000_000)


def settle() -> None:
    time.sleep(0.02)  # leave the 10 ms racy window


def names(paths: frozenset[Path], root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in paths}


class TestErroringFilesStayKnown:
    """Miss 3: a file in ``changes.errors`` at the last commit is reported when it goes."""

    @pytest.mark.parametrize(
        "bad",
        [
            "---\ntitle: [unclosed\n---\n",  # bad YAML
            b"---\ntitle: caf\xe9\n---\n",  # not UTF-8
            "---\ndate: 2024-02-30\n---\n",  # an impossible date
        ],
        ids=["yaml", "utf8", "date"],
    )
    def test_deleting_it_later_removes_its_page(self, content: Path, bad: str | bytes) -> None:
        write(content / "docs" / "bad.md", bad)
        engine = engine_for(content)
        plan = engine.plan()
        assert "docs/bad.md" in {p.relative_to(content).as_posix() for p, _ in plan.changes.errors}
        engine.commit(plan)
        settle()
        (content / "docs" / "bad.md").unlink()
        plan = engine.plan()
        assert names(plan.changes.removed, content) == {"docs/bad.md"}
        assert names(plan.removed_pages, content) == {"docs/bad.md"}
        engine.commit(plan)
        assert not engine.plan().changes  # and it is forgotten only once reported

    def test_renaming_it_later_reports_the_old_name(self, content: Path) -> None:
        write(content / "docs" / "bad.md", "---\ntitle: [unclosed\n---\n")
        engine = engine_for(content)
        engine.commit(engine.plan())
        settle()
        os.replace(content / "docs" / "bad.md", content / "docs" / "fixed.md")
        write(content / "docs" / "fixed.md", "---\ntitle: Fixed\n---\n")
        plan = engine.plan()
        assert names(plan.changes.removed, content) == {"docs/bad.md"}
        assert names(plan.changes.added, content) == {"docs/fixed.md"}
        assert not plan.changes.errors

    def test_it_stays_changed_until_it_reads_cleanly(self, content: Path) -> None:
        write(content / "docs" / "bad.md", "---\ntitle: [unclosed\n---\n")
        engine = engine_for(content)
        engine.commit(engine.plan())
        settle()
        plan = engine.plan()
        assert names(plan.changes.modified, content) == {"docs/bad.md"}
        assert (content / "docs" / "bad.md") in plan.pages
        write(content / "docs" / "bad.md", "---\ntitle: Fine\n---\n")
        engine.commit(engine.plan())
        settle()
        assert not engine.plan().changes

    def test_a_failed_page_deleted_later_is_removed(self, content: Path) -> None:
        engine = engine_for(content)
        engine.commit(engine.plan(), failed=[content / "top.md"])
        settle()
        assert content / "top.md" in engine.plan().pages  # rebuilt: its last build failed
        (content / "top.md").unlink()
        plan = engine.plan()
        assert names(plan.removed_pages, content) == {"top.md"}

    def test_in_watch_mode_too(self, content: Path) -> None:
        """The same through ``plan_paths`` (the partial commit path)."""
        engine = engine_for(content)
        engine.commit(engine.plan())
        settle()
        bad = write(content / "docs" / "bad.md", "---\ntitle: [unclosed\n---\n")
        plan = engine.plan_paths([bad])
        assert plan.partial
        assert bad in {p for p, _ in plan.changes.errors}
        engine.commit(plan)
        settle()
        bad.unlink()
        plan = engine.plan_paths([bad])
        assert plan.partial
        assert plan.changes.removed == {bad}
        assert plan.removed_pages == {bad}


class TestNoCrash:
    """Crashes of issue 12: each input is a clear, per-file error, never a traceback."""

    def test_a_page_named_link_loop_is_a_source_error_in_load_site(self, content: Path) -> None:
        from incrbuild import SourceError
        from incrbuild.adapters.files import load_site

        (content / "loop.md").symlink_to(content / "loop.md")
        with pytest.raises(SourceError, match=r"loop\.md: cannot read: Too many levels"):
            load_site(content)

    def test_a_link_loop_is_a_per_page_error_in_a_plan(self, content: Path) -> None:
        (content / "loop.md").symlink_to(content / "loop.md")
        plan = engine_for(content).plan()
        assert [p.name for p, _ in plan.changes.errors] == ["loop.md"]
        assert content / "top.md" in plan.pages

    @pytest.mark.parametrize(
        ("value", "problem"),
        [
            ("2024-13-45", "month must be in 1..12"),
            ("2024-02-30", "day is out of range"),
            ("2024-01-01 25:00:00", "hour must be in 0..23"),
        ],
    )
    def test_an_impossible_date_is_a_front_matter_error_at_its_line(
        self, value: str, problem: str
    ) -> None:
        from incrbuild import FrontMatterError
        from incrbuild._frontmatter import parse_front_matter

        text = f"---\ntitle: x\ndate: {value}\n---\nbody\n"
        with pytest.raises(FrontMatterError, match=f"p.md:3: bad front matter: .*{problem}"):
            parse_front_matter(text, Path("p.md"))

    def test_an_impossible_date_does_not_abort_the_plan(self, content: Path) -> None:
        write(content / "docs" / "bad.md", "---\ndate: 2024-13-45\n---\n")
        plan = engine_for(content).plan()
        assert [p.name for p, _ in plan.changes.errors] == ["bad.md"]
        assert {content / "top.md", content / "docs" / "good.md"} <= plan.pages


def test_a_directory_unlistable_then_readable_is_walked_by_event_plans(
    content: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Miss 5: files of a directory that could not be listed appear once it can be."""
    engine = engine_for(content)
    engine.commit(engine.plan())
    settle()
    locked = content / "locked"
    write(locked / "one.md", "---\ntitle: One\n---\n")
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if os.fspath(path) == os.fspath(locked):
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    with monkeypatch.context() as patched:
        patched.setattr("incrbuild._detect.os.scandir", scandir)
        plan = engine.plan_paths([locked, locked / "one.md"])
        assert plan.partial
        assert [p.name for p, _ in plan.changes.errors] == ["locked"]
        engine.commit(plan)
    settle()
    plan = engine.plan_paths([locked])  # e.g. the watcher's event for the chmod
    assert plan.partial
    assert names(plan.changes.added, content) == {"locked/one.md"}
    assert locked / "one.md" in plan.pages


class TestSymbolicLinks:
    """Miss 4: links are followed to files (content of the target, under the link's name)."""

    def test_a_directory_link_whose_target_becomes_a_file_is_tracked(
        self, content: Path, tmp_path: Path
    ) -> None:
        target = tmp_path / "elsewhere"
        target.mkdir()
        (content / "linked.md").symlink_to(target)
        engine = engine_for(content)
        settle()  # the content directory's listing is trusted from now on
        engine.commit(engine.plan())
        settle()
        target.rmdir()  # the link and its directory stay untouched
        write(target, "---\ntitle: Now a file\n---\n")
        plan = engine.plan()
        assert names(plan.changes.added, content) == {"linked.md"}
        assert content / "linked.md" in plan.pages
        engine.commit(plan)
        settle()
        write(target, "---\ntitle: Edited through the link\n---\n")
        assert names(engine.plan().changes.modified, content) == {"linked.md"}

    def test_an_event_on_the_target_checks_the_link(self, content: Path) -> None:
        (content / "alias.md").symlink_to(content / "docs" / "good.md")
        engine = engine_for(content)
        engine.commit(engine.plan())
        settle()
        write(content / "docs" / "good.md", "---\ntitle: Better\n---\n")
        plan = engine.plan_paths([content / "docs" / "good.md"])  # what a watcher reports
        assert plan.partial
        assert names(plan.changes.modified, content) == {"alias.md", "docs/good.md"}

    def test_a_retargeted_link_in_a_chain_is_followed_by_events(self, content: Path) -> None:
        (content / "hop.md").symlink_to(content / "top.md")
        (content / "alias.md").symlink_to(content / "hop.md")
        engine = engine_for(content)
        engine.commit(engine.plan())
        settle()
        (content / "hop.md").unlink()
        (content / "hop.md").symlink_to(content / "docs" / "good.md")
        plan = engine.plan_paths([content / "hop.md"])
        assert plan.partial
        assert names(plan.changes.modified, content) == {"alias.md", "hop.md"}
        engine.commit(plan)
        settle()
        write(content / "docs" / "good.md", "---\ntitle: Better\n---\n")
        plan = engine.plan_paths([content / "docs" / "good.md"])
        assert names(plan.changes.modified, content) == {"alias.md", "docs/good.md", "hop.md"}

    def test_a_target_outside_the_watched_tree_makes_event_plans_full(
        self, content: Path, tmp_path: Path
    ) -> None:
        """A watcher of the content directory never reports edits to a target elsewhere."""
        shared = write(tmp_path / "shared" / "note.md", "---\ntitle: Note\n---\n")
        (content / "note.md").symlink_to(shared)
        engine = engine_for(content)
        engine.commit(engine.plan())
        settle()
        write(shared, "---\ntitle: Edited elsewhere\n---\n")
        plan = engine.plan_paths([])  # no event arrives for it
        assert not plan.partial
        assert names(plan.changes.modified, content) == {"note.md"}

    def test_removing_the_directory_of_a_target_removes_the_link_in_event_plans(
        self, content: Path
    ) -> None:
        (content / "alias.md").symlink_to(content / "docs" / "good.md")
        engine = engine_for(content)
        engine.commit(engine.plan())
        settle()
        for path in (content / "docs").iterdir():
            path.unlink()
        (content / "docs").rmdir()
        plan = engine.plan_paths([content / "docs"])  # a watcher reports the directory
        assert plan.partial
        assert names(plan.changes.removed, content) == {
            "alias.md",
            "docs/_index.md",
            "docs/good.md",
        }

    def test_a_target_turned_directory_removes_the_link_in_event_plans(self, content: Path) -> None:
        (content / "alias.md").symlink_to(content / "top.md")
        engine = engine_for(content)
        engine.commit(engine.plan())
        settle()
        (content / "top.md").unlink()
        write(content / "top.md" / "inner.md", "---\ntitle: Inner\n---\n")
        plan = engine.plan_paths([content / "top.md", content / "top.md" / "inner.md"])
        assert plan.partial
        assert names(plan.changes.removed, content) == {"alias.md", "top.md"}
        assert names(plan.changes.added, content) == {"top.md/inner.md"}

    def test_a_link_renamed_over_a_file_is_followed_by_later_events(self, content: Path) -> None:
        """Found by the watched state machine: the file that became a link was never known
        as one, so an edit of its target (reported on the target) missed it."""
        (content / "docs" / "alias.md").symlink_to(content / "docs" / "good.md")
        engine = engine_for(content)
        engine.commit(engine.plan())
        settle()
        os.replace(content / "docs" / "alias.md", content / "top.md")
        plan = engine.plan_paths([content / "docs" / "alias.md", content / "top.md"])
        assert plan.partial
        assert names(plan.changes.modified, content) == {"top.md"}
        assert names(plan.changes.removed, content) == {"docs/alias.md"}
        engine.commit(plan)
        settle()
        write(content / "docs" / "good.md", "---\ntitle: Better\n---\n")
        plan = engine.plan_paths([content / "docs" / "good.md"])
        assert plan.partial
        assert names(plan.changes.modified, content) == {"docs/good.md", "top.md"}

    def test_a_file_turned_link_in_a_tree_without_links_is_followed(self, content: Path) -> None:
        engine = engine_for(content)
        engine.commit(engine.plan())
        settle()
        (content / "top.md").unlink()
        (content / "top.md").symlink_to(content / "docs" / "good.md")
        plan = engine.plan_paths([content / "top.md"])
        assert names(plan.changes.modified, content) == {"top.md"}
        engine.commit(plan)
        settle()
        write(content / "docs" / "good.md", "---\ntitle: Better\n---\n")
        plan = engine.plan_paths([content / "docs" / "good.md"])
        assert plan.partial
        assert names(plan.changes.modified, content) == {"docs/good.md", "top.md"}

    def test_a_file_replaced_by_a_dangling_link_is_removed_in_event_plans(
        self, content: Path
    ) -> None:
        engine = engine_for(content)
        engine.commit(engine.plan())
        settle()
        (content / "top.md").unlink()
        (content / "top.md").symlink_to(content / "nowhere.md")
        plan = engine.plan_paths([content / "top.md"])
        assert plan.partial
        assert names(plan.changes.removed, content) == {"top.md"}


def test_a_name_that_is_not_utf8_is_planned_committed_and_removed(content: Path) -> None:
    """Crash of issue 12: such a name went through detection and plan, then broke the store."""
    odd = content / os.fsdecode(b"caf\xe9.md")
    write(odd, "---\ntitle: Caf\u00e9\n---\n")
    engine = engine_for(content)
    plan = engine.plan()
    assert odd in plan.pages
    assert not plan.changes.errors
    engine.commit(plan)
    settle()
    assert not engine.plan().changes
    reopened = engine_for(content)  # from the store on disk, in a new engine
    assert not reopened.plan().changes
    os.fsencode(odd)  # the same bytes as on disk
    odd.unlink()
    plan = reopened.plan()
    assert plan.removed_pages == {odd}
