"""The loader contract: a host's :class:`SiteLoader` returns a :class:`LoadResult`, nothing else."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from incrbuild import ChangeSet, Engine, LoadResult, ReasonKind, SiteLoader
from incrbuild.adapters.files import FilesLoader
from incrbuild.adapters.simple import SimplePage, SimpleSite, assemble_site


class ListLoader:
    """A host loader: pages from a dict of front matter, errors on demand."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.metadata: dict[str, dict[str, Any]] = {}
        self.broken: dict[str, str] = {}
        self.calls: list[tuple[ChangeSet, Mapping[Path, Mapping[str, Any]]]] = []

    def load(
        self, changes: ChangeSet, known_metadata: Mapping[Path, Mapping[str, Any]]
    ) -> LoadResult:
        self.calls.append((changes, known_metadata))
        pages = [
            SimplePage(self.root / rel, dict(meta)) for rel, meta in sorted(self.metadata.items())
        ]
        site: SimpleSite = assemble_site(self.root, pages)
        errors = {self.root / rel: message for rel, message in self.broken.items()}
        return LoadResult(site, pages_read=len(pages), errors=errors)


def write(root: Path, rel: str, text: str = "x") -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def loader(tmp_path: Path) -> ListLoader:
    root = tmp_path / "content"
    found = ListLoader(root)
    for rel in ("a.md", "docs/b.md"):
        write(root, rel)
        found.metadata[rel] = {"title": rel}
    return found


def test_a_host_loader_satisfies_the_protocol(loader: ListLoader) -> None:
    """Structural typing: no base class, just ``load`` returning a ``LoadResult``."""
    declared: SiteLoader = loader
    assert declared is loader


def test_engine_reads_the_result_only(loader: ListLoader, tmp_path: Path) -> None:
    """The site, pages read and errors come from the result; errors are reported and rebuilt."""
    engine = Engine(loader=loader, content_dir=loader.root, state_dir=tmp_path / "state")
    first = engine.plan()
    assert first.full
    assert first.stats.pages_read == 2
    engine.commit(first)
    _, known = loader.calls[-1]
    assert known == {}
    write(loader.root, "docs/b.md", "changed")
    loader.broken["docs/b.md"] = "bad front matter"
    plan = engine.plan()
    _, known = loader.calls[-1]
    assert known[loader.root / "a.md"] == {"title": "a.md"}  # stored at the last commit
    assert plan.changes.errors == ((loader.root / "docs/b.md", "bad front matter"),)
    assert plan.reasons[loader.root / "docs/b.md"][0].kind is ReasonKind.MODIFIED
    engine.commit(plan)
    loader.broken.clear()
    again = engine.plan()  # an errored page is not recorded: it is checked and rebuilt again
    assert loader.root / "docs/b.md" in again.pages


def test_files_loader_reports_in_place_edits(tmp_path: Path) -> None:
    """``FilesLoader.load`` says what it patched: the engine updates its indexes in proportion."""
    root = tmp_path / "content"
    write(root, "a.md", "---\ntitle: A\n---\n")
    write(root, "docs/b.md", "---\ntitle: B\n---\n")
    files = FilesLoader(root)
    first = files.load(ChangeSet(added=frozenset({root / "a.md", root / "docs/b.md"})), {})
    assert first.refreshed is None  # a new site
    assert first.pages_read == 2
    write(root, "docs/c.md", "---\ntitle: C\n---\n")
    write(root, "a.md", "---\ntitle: A2\n---\n")
    (root / "docs/b.md").unlink()
    second = files.load(
        ChangeSet(
            added=frozenset({root / "docs/c.md"}),
            modified=frozenset({root / "a.md"}),
            removed=frozenset({root / "docs/b.md"}),
        ),
        {},
    )
    assert second.site is first.site
    assert second.in_place
    assert [p.source_path for p in second.refreshed or ()] == [root / "a.md"]
    assert [e.page.source_path for e in second.added] == [root / "docs/c.md"]
    assert [e.page.source_path for e in second.removed] == [root / "docs/b.md"]
    assert second.pages_read == 2
