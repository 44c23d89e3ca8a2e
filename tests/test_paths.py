"""Relative paths at the public boundary: made absolute on arrival, or refused (issue 12, miss 1).

Every path argument is taken relative to the working directory of the call that
receives it; a site model carrying relative paths is refused with a clear error.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from incrbuild import Engine
from incrbuild._paths import absolute
from incrbuild.adapters.files import FilesLoader, load_site, open_engine
from incrbuild.adapters.simple import SimplePage, assemble_site
from incrbuild.lowlevel import state_of

OLD = 1_600_000_000 * 1_000_000_000


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, ns=(OLD, OLD))  # outside the racy window: the next write is a new stat


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory with content/ and templates/, and the cwd set to it."""
    write(tmp_path / "content" / "docs" / "_index.md", "---\ncascade: {layout: a}\n---\n")
    write(tmp_path / "content" / "docs" / "d1.md", "---\ntitle: D1\ntags: [x]\n---\nbody\n")
    write(tmp_path / "content" / "docs" / "d2.md", "---\ntitle: D2\n---\nbody\n")
    write(tmp_path / "content" / "top.md", "---\ntitle: Top\ntags: [x]\n---\n")
    write(tmp_path / "templates" / "page.html", "<html>")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def build_all(engine: Engine) -> None:
    """Plan, 'render' every page recording the template by a relative path, commit."""
    time.sleep(0.02)  # the template's ctime leaves the racy window: it is fingerprinted
    plan = engine.plan()
    for path in plan.pages:
        engine.record_dependencies(path, [Path("templates/page.html")])
    engine.commit(plan)


def names(paths: frozenset[Path], root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in paths}


class TestReadmeFlowWithRelativePaths:
    """``load_site("content")`` and ``Engine(site, state_dir=".incrbuild")`` as the README shows."""

    def engine(self) -> Engine:
        return Engine(load_site("content"), state_dir=".incrbuild", racy_window_ns=10_000_000)

    @pytest.mark.parametrize(
        ("edit", "expected"),
        [
            ("body", {"docs/d1.md"}),
            ("template", {"docs/_index.md", "docs/d1.md", "docs/d2.md", "top.md"}),
            ("cascade", {"docs/_index.md", "docs/d1.md", "docs/d2.md"}),
            ("tag", {"docs/d1.md"}),
        ],
    )
    def test_an_edit_plans_its_pages(self, project: Path, edit: str, expected: set[str]) -> None:
        engine = self.engine()
        build_all(engine)
        d1 = Path("content/docs/d1.md")
        if edit == "body":
            d1.write_text("---\ntitle: D1\ntags: [x]\n---\nnew body\n")
        elif edit == "template":
            Path("templates/page.html").write_text("<html lang=en>")
        elif edit == "cascade":
            Path("content/docs/_index.md").write_text("---\ncascade: {layout: b}\n---\n")
        else:
            d1.write_text("---\ntitle: D1\ntags: [y]\n---\nbody\n")
        engine.set_site(load_site("content"))
        plan = engine.plan()
        assert names(plan.pages, project / "content") >= expected
        assert plan.changes.changed  # detected, and now also planned

    def test_a_changed_working_directory_changes_nothing(
        self, project: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Paths given before a chdir keep naming the same files after it."""
        engine = self.engine()
        build_all(engine)
        elsewhere = project / "elsewhere"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)
        assert not engine.plan().pages  # nothing changed: a chdir is not an edit
        (project / "templates" / "page.html").write_text("<html lang=en>")
        plan = engine.plan()
        assert names(plan.pages, project / "content") == {
            "docs/_index.md",
            "docs/d1.md",
            "docs/d2.md",
            "top.md",
        }
        assert engine.state_dir == project / ".incrbuild"

    def test_dependencies_resolve_against_the_cwd_not_the_content_root(self, project: Path) -> None:
        engine = self.engine()
        plan = engine.plan()
        engine.record_dependencies(Path("content/top.md"), [Path("templates/page.html")])
        engine.commit(plan)
        assert state_of(engine).dependencies["top.md"] == (
            (project / "templates" / "page.html").as_posix(),
        )


class TestRefusedOrNormalised:
    def test_a_site_model_with_a_relative_root_is_refused_clearly(self, project: Path) -> None:
        site = assemble_site(Path("content"), [SimplePage(Path("content/top.md"), {})])
        with pytest.raises(ValueError, match="root_path 'content' is relative"):
            Engine(site, state_dir=".incrbuild")

    def test_a_page_with_a_relative_source_path_is_refused_clearly(self, project: Path) -> None:
        site = assemble_site(project / "content", [SimplePage(Path("content/top.md"), {})])
        engine = Engine(site, state_dir=".incrbuild")
        with pytest.raises(ValueError, match=r"source_path .content/top\.md. is relative"):
            engine.plan()

    def test_adapters_make_paths_absolute_on_arrival(self, project: Path) -> None:
        site = load_site("content")
        assert site.root_path == project / "content"
        assert all(page.source_path.is_absolute() for page in site.pages)
        assert FilesLoader(Path("content")).content_dir == project / "content"
        engine = open_engine("content", state_dir="state")
        assert (engine.content_dir, engine.state_dir) == (project / "content", project / "state")

    def test_absolute_keeps_links_and_collapses_dots(self, project: Path) -> None:
        (project / "via").symlink_to(project / "content")
        assert absolute("via/../content/./top.md") == project / "content" / "top.md"
        assert absolute("via/top.md") == project / "via" / "top.md"  # the link is not resolved


def test_watcher_paths_are_normalised_when_reported(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Relative event paths name files in the cwd of the plan_paths call that got them."""
    engine = open_engine("content", state_dir=".incrbuild")
    engine.commit(engine.plan())
    Path("content/top.md").write_text("---\ntitle: Top 2\n---\n")
    plan = engine.plan_paths([Path("content/top.md")])
    assert plan.partial
    assert names(plan.changes.modified, project / "content") == {"top.md"}
    # Not committed: the path rolls into the next plan, still naming the same file.
    monkeypatch.chdir(project / "content" / "docs")
    plan = engine.plan_paths([])
    assert names(plan.changes.modified, project / "content") == {"top.md"}


@pytest.mark.parametrize(
    "spelling", ["/a/b", "/a/../b", "/a/..b/c", "/a/b/..", "/..", "/", "rel/x", "../x", "/a/./b"]
)
def test_absolute_paths_are_kept_as_they_are_and_others_made_so(spelling: str) -> None:
    """The fast path for a clean absolute path answers what ``os.path.abspath`` would."""
    from incrbuild._paths import absolute

    path = Path(spelling)
    made = absolute(path)
    assert made == Path(os.path.abspath(spelling))
    if made == path:
        assert made is path  # nothing to change: the host's own object
