"""The Bengal adapter on Python 3.11, against stand-ins shaped like Bengal 0.5.1's objects.

The stand-ins mirror what the adapter reads from real Bengal (checked by
``tests/bengal`` under Python 3.14): a site whose ``root_path`` is the project
directory and ``content_dir`` the content; pages with ``source_path``, a
cascade-merged ``metadata``, ``virtual`` and ``is_generated``; sections whose
``pages`` include their index page; a shared ``page_by_source_path`` dict;
generated tag pages under ``.bengal/generated``; a virtual section of virtual
pages.  Containers are lists or tuples, as Bengal versions differ.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import types
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest

from incrbuild import Engine, Reason, ReasonKind, SiteLike
from incrbuild.adapters.bengal import (
    BENGAL_REQUIREMENT,
    AggregatePages,
    BengalPlan,
    BengalProject,
    BengalRules,
    BengalSite,
    Comparison,
    GeneratedPageTemplates,
    compare,
    discovery_order_key,
    global_inputs,
    is_virtual,
    load_site,
    require_bengal,
)
from incrbuild.adapters.bengal import _handoff as handoff
from incrbuild.adapters.bengal._driving import site_reads
from incrbuild.adapters.bengal._handoff import RenderSelection
from incrbuild.adapters.files import read_page

# -- stand-ins shaped like Bengal's objects ---------------------------------------------------


@attrs.define(eq=False)
class FakePage:
    """Like bengal.core.page.RuntimePage: identity by object, metadata with cascade applied."""

    source_path: Path
    metadata: dict[str, Any] = attrs.field(factory=dict)
    virtual: bool = False
    toc_items: list[dict[str, Any]] = attrs.field(factory=list)
    tags: list[str] = attrs.field(factory=list)  # its own front matter's, as Bengal keeps them

    @property
    def is_generated(self) -> bool:
        return bool(self.metadata.get("_generated"))


@attrs.define(eq=False)
class LinkedPage:
    """A page as the render phase sees it: ``links`` set by its render (None before)."""

    source_path: Path
    metadata: dict[str, Any] = attrs.field(factory=dict)
    virtual: bool = False
    links: list[str] | None = None


@attrs.define(eq=False)
class FakeSection:
    """Like bengal.core.section.Section: ``pages`` holds its index; ``path`` None if virtual."""

    name: str
    path: Path | None
    pages: Sequence[FakePage] = ()
    subsections: Sequence[FakeSection] = ()
    index_page: FakePage | None = None
    parent: FakeSection | None = attrs.field(default=None, repr=False)
    metadata: dict[str, Any] = attrs.field(factory=dict)


@attrs.define(eq=False)
class FakeBengalSite:
    """Like bengal.core.site.Site after discovery (and, with *generated*, after a build)."""

    root_path: Path
    content_dir: Path
    pages: Sequence[FakePage]
    sections: Sequence[FakeSection]
    index_builds: int = 0
    _index: dict[Path, FakePage] | None = None

    @property
    def page_by_source_path(self) -> dict[Path, FakePage]:
        if self._index is None:
            self.index_builds += 1
            self._index = {page.source_path: page for page in self.pages}
        return self._index


def discover(project: Path, *, container: Callable[[list[Any]], Sequence[Any]] = list) -> Any:
    """Discover *project* the way Bengal does: sections per directory, cascades merged."""
    content = project / "content"
    cascades: dict[Path, dict[str, Any]] = {}
    raw: dict[Path, dict[str, Any]] = {}
    for directory, subdirs, files in os.walk(content):
        subdirs[:] = [d for d in subdirs if not d.startswith(".")]
        for name in files:
            if name.endswith(".md"):
                path = Path(directory, name)
                raw[path] = read_page(path)[0]
                if name == "_index.md" and isinstance(raw[path].get("cascade"), dict):
                    cascades[path.parent] = raw[path]["cascade"]

    def merged(path: Path) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        chain = [d for d in reversed(path.parents) if content in d.parents]
        for directory in chain:
            meta.update(cascades.get(directory, {}))
        meta.update(raw[path])
        return meta

    pages = {
        path: FakePage(path, merged(path), tags=list(raw[path].get("tags") or ())) for path in raw
    }
    sections: dict[Path, FakeSection] = {}

    def section_for(directory: Path) -> FakeSection:
        if directory not in sections:
            parent = section_for(directory.parent) if directory.parent != content else None
            sections[directory] = FakeSection(directory.name, directory, [], [], parent=parent)
            if parent is not None:
                parent.subsections = [*parent.subsections, sections[directory]]
        return sections[directory]

    for path, page in pages.items():
        if path.parent == content:
            continue
        section = section_for(path.parent)
        section.pages = [*section.pages, page]
        if path.name == "_index.md":
            section.index_page = page
    ordered = sorted(pages.values(), key=lambda p: discovery_order_key(p.source_path, content))
    # Generated pages Bengal adds while building: tag pages and an archive for index-less sections.
    generated = project / ".bengal" / "generated"
    extra = [
        FakePage(generated / "tags" / "index.md", {"_generated": True, "type": "tag-index"}, True)
    ]
    for section in sections.values():
        if section.index_page is None:
            archive = FakePage(
                generated / "archives" / section.name / "index.md",
                {"_generated": True, "type": "doc", "_section": section},
                True,
            )
            section.index_page = archive
            extra.append(archive)
    # An autodoc-like virtual section: virtual pages that are not marked generated.
    api_page = FakePage(Path("api/module.md"), {"title": "module", "is_autodoc": True}, True)
    api = FakeSection("api", None, [api_page], [])
    for section in sections.values():
        section.pages = container(sorted(section.pages, key=lambda p: p.source_path))
        section.subsections = container(sorted(section.subsections, key=lambda s: str(s.path)))
    top = [s for s in sections.values() if s.parent is None]
    top.sort(key=lambda s: str(s.path))
    return FakeBengalSite(
        project,
        content,
        container([*ordered, *extra, api_page]),
        container([*top, api]),
    )


def page(title: str, *, tags: Sequence[str] = (), weight: int = 1, extra: str = "") -> str:
    tag_line = f"tags: [{', '.join(tags)}]\n" if tags else ""
    return f"---\ntitle: {title}\nweight: {weight}\n{tag_line}{extra}---\nBody of {title}.\n"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def make_project(root: Path) -> Path:
    """A small project: a docs tree (doc layout, cascades), two areas, a blog, root pages."""
    content = root / "content"
    write(content / "index.md", page("Home"))
    write(content / "about.md", page("About"))
    write(
        content / "docs" / "_index.md",
        "---\ntitle: Docs\ncascade:\n  type: doc\n  description: one\n---\n",
    )
    write(content / "docs" / "guide" / "_index.md", "---\ntitle: Guide\n---\n")
    write(content / "docs" / "d1.md", page("D1", tags=["alpha"]))
    write(content / "docs" / "d2.md", page("D2", weight=2))
    write(content / "docs" / "guide" / "g1.md", page("G1"))
    write(content / "docs" / "guide" / "deep" / "x.md", page("X"))
    write(content / "area" / "_index.md", "---\ntitle: Area\n---\n")
    for number in range(6):
        tags = ["alpha"] if number % 2 == 0 else ["beta"]
        write(content / "area" / f"a{number}.md", page(f"A{number}", tags=tags, weight=number))
    write(content / "other" / "o1.md", page("O1", tags=["beta"]))
    write(content / "other" / "o2.md", page("O2"))
    write(content / "other" / "nested" / "_index.md", "---\ntitle: Nested\n---\n")
    for number in range(1, 4):
        write(content / "other" / "nested" / f"n{number}.md", page(f"N{number}", weight=number))
    write(root / "config" / "_default" / "site.yaml", "title: test\n")
    write(root / "templates" / "page.html", "<html></html>\n")
    return root


def add_many(project: Path, first: Sequence[str] = ("gamma",)) -> None:
    """Eight pages sharing the tag gamma (the first with *first* as its tags)."""
    for number in range(8):
        tags = first if number == 0 else ["gamma"]
        write(project / "content" / "many" / f"g{number}.md", page(f"G{number}", tags=tags))


@attrs.define
class Harness:
    """An engine over stand-in sites of a project on disk, re-discovered at every plan."""

    root: Path
    container: Callable[[list[Any]], Sequence[Any]] = list
    engine: Engine = attrs.field(init=False)
    rules: BengalRules = attrs.field(factory=BengalRules)

    def __attrs_post_init__(self) -> None:
        site = BengalSite(discover(self.root, container=self.container))
        self.engine = Engine(site, state_dir=self.root / ".incrbuild", rules=[self.rules])
        self.engine.commit(self.engine.plan())
        time.sleep(0.01)

    @property
    def content(self) -> Path:
        return self.root / "content"

    def plan(self) -> BengalPlan:
        self.engine.set_site(BengalSite(discover(self.root, container=self.container)))
        return BengalPlan(self.engine.plan())

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.content / relative
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture(params=[list, tuple], ids=["lists", "tuples"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    return Harness(make_project(tmp_path), container=request.param)


def names(paths: Iterator[Path] | frozenset[Path], root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in paths}


# -- tests -------------------------------------------------------------------------------------


class TestIsVirtual:
    def test_regular_page(self) -> None:
        """A page read from a file is not virtual."""
        assert not is_virtual(FakePage(Path("/c/a.md"), {"title": "a"}))

    def test_generated_page(self) -> None:
        """A page Bengal generated (tag pages, archives) is virtual."""
        assert is_virtual(FakePage(Path("/g/tags/index.md"), {"_generated": True}))

    def test_virtual_but_not_generated(self) -> None:
        """An autodoc page (``virtual`` without ``_generated``) is virtual too."""
        assert is_virtual(FakePage(Path("api/m.md"), {"title": "m"}, virtual=True))


class TestBengalSite:
    def test_is_a_site(self, tmp_path: Path) -> None:
        """The wrapper satisfies the SiteLike protocol."""
        assert isinstance(BengalSite(discover(make_project(tmp_path))), SiteLike)

    @pytest.mark.parametrize("container", [list, tuple])
    def test_hands_out_bengals_own_objects(self, tmp_path: Path, container: Any) -> None:
        """pages, sections and the index are Bengal's own objects, list or tuple: no copies."""
        bengal = discover(make_project(tmp_path), container=container)
        site = BengalSite(bengal)
        assert site.pages is bengal.pages
        assert site.sections is bengal.sections
        assert site.page_by_source_path is bengal.page_by_source_path

    def test_root_is_the_content_directory(self, tmp_path: Path) -> None:
        """root_path is Bengal's content_dir, not its project root_path."""
        bengal = discover(make_project(tmp_path))
        assert BengalSite(bengal).root_path == tmp_path / "content"
        assert BengalSite(bengal).project_root == tmp_path

    def test_root_without_content_dir(self, tmp_path: Path) -> None:
        """A site without content_dir gets root_path / "content", or an explicit directory."""

        @attrs.frozen
        class Bare:
            root_path: Path
            pages: tuple[FakePage, ...] = ()
            sections: tuple[FakeSection, ...] = ()

        assert BengalSite(Bare(tmp_path)).root_path == tmp_path / "content"
        assert (
            BengalSite(Bare(tmp_path), content_dir=tmp_path / "src").root_path == tmp_path / "src"
        )

    def test_index_fallback(self, tmp_path: Path) -> None:
        """Without Bengal's shared index, one pass over pages builds the same mapping."""

        @attrs.frozen
        class Bare:
            root_path: Path
            pages: tuple[FakePage, ...]
            sections: tuple[FakeSection, ...] = ()

        pages = (FakePage(tmp_path / "content" / "a.md"), FakePage(tmp_path / "content" / "b.md"))
        index = BengalSite(Bare(tmp_path, pages)).page_by_source_path
        assert index == {p.source_path: p for p in pages}

    def test_registry_borrows_the_index(self, tmp_path: Path) -> None:
        """The engine's registry uses Bengal's page_by_source_path; it builds none of its own."""
        bengal = discover(make_project(tmp_path))
        engine = Engine(BengalSite(bengal), state_dir=tmp_path / "state")
        engine.plan()
        assert engine.registry.stats.page_index_borrowed == 1
        assert engine.registry.stats.page_index_builds == 0
        assert bengal.index_builds == 1

    def test_first_plan_is_full_and_skips_nothing(self, tmp_path: Path) -> None:
        """A first plan rebuilds every page Bengal has, generated and virtual ones included."""
        bengal = discover(make_project(tmp_path))
        engine = Engine(BengalSite(bengal), state_dir=tmp_path / "state", rules=[BengalRules()])
        plan = BengalPlan(engine.plan())
        assert plan.plan.full
        assert plan.pages == {p.source_path for p in bengal.pages}
        assert plan.tag_index
        assert plan.site_wide


class TestDiscoveryOrderKey:
    def test_top_level_interleaves_files_and_directories(self) -> None:
        """At the top level, files and directories sort together by name."""
        root = Path("/c")
        paths = [root / "b" / "x.md", root / "a.md", root / "c.md"]
        ordered = sorted(paths, key=lambda p: discovery_order_key(p, root))
        assert ordered == [root / "a.md", root / "b" / "x.md", root / "c.md"]

    def test_subdirectories_before_files(self) -> None:
        """Below the top level, a directory's subdirectories come before its own files."""
        root = Path("/c")
        paths = [root / "s" / "_index.md", root / "s" / "a.md", root / "s" / "z" / "b.md"]
        ordered = sorted(paths, key=lambda p: discovery_order_key(p, root))
        assert ordered == [root / "s" / "z" / "b.md", root / "s" / "_index.md", root / "s" / "a.md"]

    def test_outside_the_content_sorts_last(self) -> None:
        """Generated pages (outside the content directory) sort after every source."""
        root = Path("/p/content")
        generated = discovery_order_key(Path("/p/.bengal/generated/tags/index.md"), root)
        assert generated > discovery_order_key(root / "zzz" / "zzz" / "zzz.md", root)


class TestBengalRules:
    def test_body_edit_reaches_cards(self, harness: Harness) -> None:
        """A body edit reaches related posts (tag mates), its tag pages, listing and home page."""
        harness.edit("area/a0.md", "Body of A0.", "A new body.")
        plan = harness.plan()
        planned = names(plan.pages, harness.content)
        assert {"area/a0.md", "area/a2.md", "area/a4.md", "docs/d1.md"} <= planned  # alpha
        assert {"area/_index.md", "index.md"} <= planned
        assert "area/a1.md" not in planned  # beta only, and not a neighbour of a0
        assert plan.plan.terms == {"alpha"}
        assert not plan.tag_index
        assert plan.site_wide

    def test_related_posts_show_only_the_best_five(self, tmp_path: Path) -> None:
        """A page outside every tag mate's five best related posts reaches none of them."""
        project = make_project(tmp_path)
        for number in range(8):
            write(
                project / "content" / "many" / f"g{number}.md", page(f"G{number}", tags=["gamma"])
            )
        harness = Harness(project)
        harness.edit("many/g7.md", "Body of G7.", "A new body.")
        planned = names(harness.plan().pages, harness.content)
        assert not planned & {f"many/g{n}.md" for n in range(6)}

    def test_related_posts_of_the_best_ranked(self, tmp_path: Path) -> None:
        """A page every tag mate ranks first (ties go by path) reaches all of them."""
        project = make_project(tmp_path)
        for number in range(8):
            write(
                project / "content" / "many" / f"g{number}.md", page(f"G{number}", tags=["gamma"])
            )
        harness = Harness(project)
        harness.edit("many/g0.md", "Body of G0.", "A new body.")
        planned = names(harness.plan().pages, harness.content)
        assert {f"many/g{n}.md" for n in range(1, 8)} <= planned

    def test_related_posts_count_shared_tags(self, tmp_path: Path) -> None:
        """A new shared tag lifts a page into a mate's related posts: that mate is planned."""
        project = make_project(tmp_path)
        add_many(project, first=["gamma", "delta"])
        harness = Harness(project)
        harness.edit("many/g7.md", "tags: [gamma]", "tags: [delta, gamma]")
        planned = names(harness.plan().pages, harness.content)
        assert "many/g0.md" in planned  # g7 now shares two tags with g0: ranked first
        assert "many/g1.md" not in planned  # for g1, g7 still ranks last

    def test_home_page_is_never_a_related_post(self, tmp_path: Path) -> None:
        """Bengal leaves the home page out of related posts, so it pushes no page down."""
        project = make_project(tmp_path)
        add_many(project)
        write(project / "content" / "index.md", page("Home", tags=["gamma"]))
        harness = Harness(project)
        harness.edit("many/g4.md", "Body of G4.", "A new body.")
        assert "many/g5.md" in names(harness.plan().pages, harness.content)  # g4 is its fifth

    def test_related_posts_of_a_removed_page(self, tmp_path: Path) -> None:
        """A removed page leaves the related posts that showed it."""
        project = make_project(tmp_path)
        for number in range(8):
            write(
                project / "content" / "many" / f"g{number}.md", page(f"G{number}", tags=["gamma"])
            )
        harness = Harness(project)
        (harness.content / "many" / "g0.md").unlink()
        planned = names(harness.plan().pages, harness.content)
        assert {f"many/g{n}.md" for n in range(2, 8)} <= planned

    def test_related_posts_can_be_switched_off(self, tmp_path: Path) -> None:
        """Without related posts, a body edit does not reach the page's tag mates."""
        harness = Harness(make_project(tmp_path), rules=BengalRules(related_posts=False))
        harness.edit("area/a0.md", "Body of A0.", "A new body.")
        assert "docs/d1.md" not in names(harness.plan().pages, harness.content)

    def test_shown_related_posts_replace_the_ranking_for_a_body_edit(self, tmp_path: Path) -> None:
        """With shown related posts recorded, a body edit reaches the pages that showed it.

        Every mate ranks g0 first (ties go by path), but a theme shows three of the
        five: only g1..g3 recorded showing it, and only they are planned.
        """
        project = make_project(tmp_path)
        add_many(project)
        harness = Harness(project, rules=BengalRules(shown_related=lambda: True))
        many = harness.content / "many"
        for number in range(1, 8):
            shown = {many / "g0.md": {"*"}} if number <= 3 else {}
            harness.engine.record_reads(many / f"g{number}.md", pages=shown)
        harness.engine.commit(harness.engine.plan())
        time.sleep(0.01)
        harness.edit("many/g0.md", "Body of G0.", "A new body.")
        planned = names(harness.plan().pages, harness.content)
        assert {"many/g1.md", "many/g2.md", "many/g3.md"} <= planned
        assert not planned & {f"many/g{n}.md" for n in range(4, 8)}

    def test_shown_related_posts_untrusted_rank_again(self, tmp_path: Path) -> None:
        """Without the records (a manifest of an earlier version), the ranking decides."""
        project = make_project(tmp_path)
        add_many(project)
        harness = Harness(project, rules=BengalRules(shown_related=lambda: False))
        harness.edit("many/g0.md", "Body of G0.", "A new body.")
        planned = names(harness.plan().pages, harness.content)
        assert {f"many/g{n}.md" for n in range(1, 8)} <= planned

    def test_shown_related_posts_do_not_cover_a_ranking_change(self, tmp_path: Path) -> None:
        """A tag change moves a page in the ranking: the pages it now reaches are planned."""
        project = make_project(tmp_path)
        add_many(project, first=["gamma", "delta"])
        harness = Harness(project, rules=BengalRules(shown_related=lambda: True))
        harness.edit("many/g7.md", "tags: [gamma]", "tags: [delta, gamma]")
        planned = names(harness.plan().pages, harness.content)
        assert "many/g0.md" in planned  # g7 now shares two tags with g0: ranked first

    def test_companion_formats_of_every_page_unless_in_place(self, harness: Harness) -> None:
        """A body edit leaves other pages' formats; a cascade or a date edit plans them all."""
        harness.edit("area/a0.md", "Body of A0.", "A new body.")
        assert not harness.plan().all_formats
        harness.edit("docs/_index.md", "description: one", "description: two")
        assert harness.plan().all_formats
        harness.edit("docs/_index.md", "description: two", "description: one")
        harness.edit("area/a2.md", "weight: 2\n", "weight: 2\ndate: 2020-01-01\n")
        assert harness.plan().all_formats

    def test_shown_list_records_what_templates_take(self) -> None:
        """Slices and indexes record what they return; iteration or search records all."""
        members = [FakePage(Path(f"/c/p{n}.md"), {"title": f"p{n}"}) for n in range(5)]
        paths = [m.source_path for m in members]
        shown: set[Path] = set()
        listed = handoff._ShownList(members, shown)
        assert len(listed) == 5
        assert listed
        assert shown == set()
        assert listed[:3] == members[:3]
        assert listed[4] is members[4]
        assert shown == {paths[0], paths[1], paths[2], paths[4]}
        for use in (
            list,
            lambda x: members[3] in x,
            lambda x: [*reversed(x)],
            lambda x: x + members,
            lambda x: [*members[:0], *x],
            lambda x: [] + x,  # noqa: RUF005 - the reflected __radd__ records
            lambda x: x.pop(),
        ):
            everything: set[Path] = set()
            use(handoff._ShownList(members, everything))
            assert everything == set(paths)

    def test_tag_change_reaches_every_tag_page(self, harness: Harness) -> None:
        """A changed tag set changes tag counts, shown on every tag page and the tag index."""
        harness.edit("other/o2.md", "weight: 1\n", "weight: 1\ntags: [gamma]\n")
        plan = harness.plan()
        assert plan.tag_index
        assert plan.plan.terms == {"alpha", "beta", "gamma"}

    def test_rare_tag_change_reaches_only_its_tag_pages(self, tmp_path: Path) -> None:
        """Tag navigation lists the most used tags: a change below the cutoff reaches its own."""
        harness = Harness(make_project(tmp_path), rules=BengalRules(tag_nav_limit=1))
        harness.edit("other/o2.md", "weight: 1\n", "weight: 1\ntags: [gamma]\n")
        plan = harness.plan()
        assert plan.tag_index
        assert plan.plan.terms == {"gamma"}

    def test_popular_tag_change_reaches_every_tag_page(self, tmp_path: Path) -> None:
        """A changed tag that may rank among the listed ones reaches every tag page."""
        harness = Harness(make_project(tmp_path), rules=BengalRules(tag_nav_limit=1))
        harness.edit("other/o2.md", "weight: 1\n", "weight: 1\ntags: [alpha]\n")
        assert harness.plan().plan.terms == {"alpha", "beta"}

    def test_aliases_and_tags_are_not_navigation(self, harness: Harness) -> None:
        """No sidebar shows aliases or tags: such edits in a docs tree do not plan the tree."""
        harness.edit("docs/guide/g1.md", "title: G1", "title: G1\naliases: [/old/]\ntags: [zeta]")
        planned = names(harness.plan().pages, harness.content)
        assert "docs/guide/g1.md" in planned
        assert "docs/d2.md" not in planned
        assert "docs/guide/deep/x.md" not in planned

    def test_removed_tag_is_a_removed_term(self, harness: Harness) -> None:
        """A tag left without members is listed as removed, not as a term to render."""
        harness.edit("area/a1.md", "tags: [beta]", "tags: [delta]")
        harness.plan()
        harness.engine.commit(harness.engine.plan())
        harness.edit("area/a1.md", "tags: [delta]", "tags: [beta]")
        plan = harness.plan()
        assert "delta" in plan.plan.removed_terms
        assert "delta" not in plan.plan.terms

    def test_docs_title_reaches_the_whole_docs_tree(self, harness: Harness) -> None:
        """A title in a doc-layout section shows in the sidebar of its whole top-level section."""
        harness.edit("docs/guide/g1.md", "title: G1", "title: G One")
        planned = names(harness.plan().pages, harness.content)
        docs = {"docs/_index.md", "docs/d1.md", "docs/d2.md", "docs/guide/_index.md"}
        assert docs | {"docs/guide/g1.md", "docs/guide/deep/x.md"} <= planned
        assert "area/a3.md" not in planned

    def test_docs_sections_are_listings(self, harness: Harness) -> None:
        """The docs tree rule marks every section below, so generated archives are rebuilt."""
        harness.edit("docs/guide/g1.md", "title: G1", "title: G One")
        sections = harness.plan().plan.sections
        assert harness.content / "docs" / "guide" / "deep" in sections

    def test_title_elsewhere_reaches_neighbours_only(self, harness: Harness) -> None:
        """Outside the docs layout a title shows in prev/next, not on the whole section."""
        harness.edit("area/a3.md", "title: A3", "title: A Three")
        planned = names(harness.plan().pages, harness.content)
        assert {"area/a2.md", "area/a4.md", "area/a3.md"} <= planned
        assert "area/a5.md" in planned  # a beta mate: related posts
        assert "area/a0.md" not in planned

    def test_title_reaches_the_next_section_in_site_order(self, harness: Harness) -> None:
        """Site-wide prev/next crosses sections: the last page of one links the next section."""
        harness.edit("area/a5.md", "title: A5", "title: A Five")
        planned = names(harness.plan().pages, harness.content)
        assert "docs/guide/deep/x.md" in planned  # next in Bengal's discovery order

    def test_weight_moves_prev_next(self, harness: Harness) -> None:
        """A weight change reaches the neighbours at the old and the new place in the section."""
        harness.edit("area/a0.md", "weight: 0", "weight: 9")
        planned = names(harness.plan().pages, harness.content)
        assert {"area/a1.md", "area/a5.md"} <= planned

    def test_section_index_title_reaches_breadcrumbs(self, harness: Harness) -> None:
        """A nested section index's title shows in the breadcrumbs of every page below it."""
        harness.edit("docs/guide/_index.md", "title: Guide", "title: Handbook")
        planned = names(harness.plan().pages, harness.content)
        assert {"docs/guide/g1.md", "docs/guide/deep/x.md"} <= planned

    def test_breadcrumbs_outside_the_docs_layout(self, tmp_path: Path) -> None:
        """Breadcrumbs show section titles whatever the layout: every page below is planned.

        With a configured main menu, a subsection's title is in no menu: the breadcrumbs only.
        """
        rules = BengalRules(configured_menu=lambda: True)
        harness = Harness(make_project(tmp_path), rules=rules)
        harness.edit("other/nested/_index.md", "title: Nested", "title: Deeper")
        planned = names(harness.plan().pages, harness.content)
        assert {"other/nested/n2.md", "other/nested/n3.md"} <= planned
        assert "other/o2.md" not in planned

    def test_a_new_section_is_no_entry_of_a_configured_menu(self, tmp_path: Path) -> None:
        """With ``menu.main`` configured, Bengal's menu holds its items and the pages naming a
        menu: a new top-level section reaches its neighbours, not every page; one whose page
        names a menu reaches every page."""
        rules = BengalRules(configured_menu=lambda: True)
        harness = Harness(make_project(tmp_path), rules=rules)
        write(harness.content / "fresh" / "_index.md", "---\ntitle: Fresh\n---\n")
        write(harness.content / "fresh" / "f1.md", page("F1"))
        plan = harness.plan()
        planned = names(plan.pages, harness.content)
        assert {"fresh/_index.md", "fresh/f1.md"} <= planned
        assert "area/a3.md" not in planned
        harness.engine.commit(plan.plan)
        time.sleep(0.01)
        write(harness.content / "listed" / "l1.md", page("L1", extra="menu:\n  main: {}\n"))
        assert "area/a3.md" in names(harness.plan().pages, harness.content)

    def test_top_level_index_title_is_the_site_menu(self, harness: Harness) -> None:
        """A top-level section's title is a menu entry on every page: everything is planned."""
        harness.edit("area/_index.md", "title: Area", "title: Places")
        plan = harness.plan()
        regular = {p.source_path for p in harness.engine.site.pages if not is_virtual(p)}
        assert plan.pages == regular
        assert any(r.detail == "site menu" for r in plan.plan.reasons[harness.content / "about.md"])

    def test_section_index_titles_at_any_depth_are_the_site_menu(self, harness: Harness) -> None:
        """Bengal's automatic menu holds every section under its parent (the default theme
        shows subsections as a submenu): a subsection index's title, a new subsection and an
        emptied one reach every page; a regular page's title in a subsection does not."""
        harness.edit("other/nested/_index.md", "title: Nested", "title: Deeper")
        plan = harness.plan()
        assert "docs/d2.md" in names(plan.pages, harness.content)
        assert any(r.detail == "site menu" for r in plan.plan.reasons[harness.content / "about.md"])
        harness.engine.commit(plan.plan)
        time.sleep(0.01)
        write(harness.content / "other" / "fresh" / "f1.md", page("F1"))
        assert "docs/d2.md" in names(harness.plan().pages, harness.content)
        harness.engine.commit(harness.engine.plan())
        time.sleep(0.01)
        (harness.content / "other" / "fresh" / "f1.md").unlink()
        assert "docs/d2.md" in names(harness.plan().pages, harness.content)
        harness.engine.commit(harness.engine.plan())
        time.sleep(0.01)
        harness.edit("other/nested/n2.md", "title: N2", "title: N2 again")
        assert "docs/d2.md" not in names(harness.plan().pages, harness.content)
        harness.engine.commit(harness.engine.plan())
        time.sleep(0.01)
        write(harness.content / "other" / "nested" / "n3.md", page("N3"))  # a known section
        assert "docs/d2.md" not in names(harness.plan().pages, harness.content)

    def test_section_index_is_a_tile_on_its_parents_index(self, harness: Harness) -> None:
        """A section's index shows as a tile (title, description) on its parent's index:
        a description edit of ``other/nested`` plans ``other``'s listing, not the site."""
        harness.edit("other/nested/_index.md", "title: Nested\n", "title: Nested\ndescription: d\n")
        plan = harness.plan()
        assert harness.content / "other" in plan.plan.sections
        assert "docs/d2.md" not in names(plan.pages, harness.content)

    def test_new_top_level_section_is_the_site_menu(self, harness: Harness) -> None:
        """The first page of a new top-level section adds a menu entry: everything is planned."""
        write(harness.content / "news" / "n1.md", page("N1"))
        plan = harness.plan()
        assert harness.content / "docs" / "d2.md" in plan.pages

    def test_new_page_in_known_section_is_not_the_menu(self, harness: Harness) -> None:
        """A page added to an existing section reaches its neighbours and listing only."""
        write(harness.content / "other" / "o3.md", page("O3"))
        planned = names(harness.plan().pages, harness.content)
        assert {"other/o3.md", "other/o2.md", "index.md"} <= planned
        assert "docs/d2.md" not in planned

    def test_deleted_page_reaches_old_neighbours(self, harness: Harness) -> None:
        """A removed page's old neighbours in site order and its tag mates are planned."""
        (harness.content / "other" / "o1.md").unlink()
        plan = harness.plan()
        planned = names(plan.pages, harness.content)
        assert "other/o2.md" in planned  # next in site order
        assert "area/a5.md" in planned  # a beta mate
        assert harness.content / "other" / "o1.md" in plan.plan.removed_pages

    def test_cascade_reaches_cards_of_reached_pages(self, harness: Harness) -> None:
        """A cascade change plans the reached pages, their tags and their listings."""
        harness.edit("docs/_index.md", "description: one", "description: two")
        plan = harness.plan()
        assert {"docs/d1.md", "docs/guide/deep/x.md"} <= names(plan.pages, harness.content)
        assert "alpha" in plan.plan.terms  # d1's tag page shows its description
        assert harness.content / "docs" / "guide" / "deep" in plan.plan.sections

    def test_virtual_pages_are_never_added(self, harness: Harness) -> None:
        """Generated and autodoc pages are Bengal's to regenerate, never planned by the rules."""
        harness.edit("area/_index.md", "title: Area", "title: Places")
        plan = harness.plan()
        assert Path("api/module.md") not in plan.pages
        assert not any(".bengal" in p.parts for p in plan.pages)

    def test_why_explains_additions(self, harness: Harness) -> None:
        """plan.why() names the rule that added a page, then the edit behind it."""
        harness.edit("area/a0.md", "Body of A0.", "A new body.")
        why = harness.plan().plan.why(harness.content / "docs" / "d1.md")
        assert why[0].startswith("tag membership or member listing changed in area/a0.md")
        assert "related posts" in why[0]
        assert any("source modified" in line for line in why[1:])

    def test_same_plan_from_lists_and_tuples(self, tmp_path: Path) -> None:
        """Bengal versions differ in list vs tuple containers; the plan does not."""
        plans = []
        for container, name in ((list, "l"), (tuple, "t")):
            project = make_project(tmp_path / name)
            harness = Harness(project, container=container)
            harness.edit("docs/guide/g1.md", "title: G1", "title: G One")
            plans.append(names(harness.plan().pages, harness.content))
        assert plans[0] == plans[1]

    def test_unchanged_site_plans_nothing(self, harness: Harness) -> None:
        """No edit, no pages, no site-wide outputs."""
        plan = harness.plan()
        assert not plan.pages
        assert not plan.site_wide
        assert not plan.tag_index

    def test_rules_never_scan_the_site(self, tmp_path: Path) -> None:
        """Outside the site menu, no rule iterates every page: each costs what it reaches."""

        class Counted(list[Any]):
            iterations = 0

            def __iter__(self) -> Iterator[Any]:
                Counted.iterations += 1
                return super().__iter__()

        harness = Harness(make_project(tmp_path), container=Counted)
        harness.edit("area/a3.md", "title: A3", "title: A Three")
        site = BengalSite(discover(harness.root, container=Counted))
        harness.engine.set_site(site)
        bare = Engine(site, state_dir=harness.root / ".incrbuild")
        Counted.iterations = 0
        bare.plan()  # the engine's own indexes and built-in rules
        engine_only = Counted.iterations
        Counted.iterations = 0
        harness.engine.plan()
        # Section listings are iterated (members of one section), never the page list.
        assert Counted.iterations - engine_only <= 2


class TestBengalPlan:
    def test_changed_sources_are_existing_content_files(self, harness: Harness) -> None:
        """Only planned pages that exist under the content directory are handed to Bengal."""
        (harness.content / "other" / "o1.md").unlink()
        write(harness.content / "other" / "o4.md", page("O4", tags=["beta"]))
        plan = harness.plan()
        sources = plan.changed_sources()
        assert harness.content / "other" / "o4.md" in sources
        assert harness.content / "other" / "o1.md" not in sources
        assert all(p.is_file() and harness.content in p.parents for p in sources)
        assert sources <= plan.pages

    def test_pages_are_the_plans(self, harness: Harness) -> None:
        """BengalPlan.pages is the extended plan's pages."""
        harness.edit("area/a0.md", "Body of A0.", "A new body.")
        plan = harness.plan()
        assert plan.pages is plan.plan.pages

    def test_rules_run_inside_the_engine_plan(self, harness: Harness) -> None:
        """The Bengal rules are the engine's: their additions are in its plan and its timing."""
        harness.edit("area/a0.md", "Body of A0.", "A new body.")
        plan = harness.engine.plan()
        assert harness.content / "index.md" in plan.pages  # the home page's recent posts
        assert plan.stats.total_ns > 0
        assert "site-wide" in plan.outputs


@attrs.frozen
class StatsPage:
    source_path: Path
    metadata: dict[str, Any] = attrs.Factory(dict)
    virtual: bool = False


@attrs.frozen
class Decision:
    pages_to_build: Sequence[StatsPage]


@attrs.frozen
class Stats:
    incremental_decision: Decision | None
    phase_timings_ms: dict[str, float]


class TestCompare:
    def test_splits_pages(self, harness: Harness) -> None:
        """Pages split into ours only, Bengal's only and both; timings are carried over."""
        harness.edit("area/a0.md", "Body of A0.", "A new body.")
        plan = harness.plan()
        a0 = harness.content / "area" / "a0.md"
        o2 = harness.content / "other" / "o2.md"
        stats = Stats(Decision((StatsPage(a0), StatsPage(o2))), {"Config/filter": 120.0})
        comparison = compare(plan, stats)
        assert comparison.bengal == {a0, o2}
        assert comparison.only_bengal == {o2}
        assert a0 not in comparison.only_ours
        assert comparison.bengal_ms == 120.0
        assert comparison.our_ms == plan.decision_ns / 1e6

    def test_generated_pages_in_bengals_decision_are_left_out(self, harness: Harness) -> None:
        """Bengal's virtual pages are not source pages to compare."""
        plan = harness.plan()
        virtual = StatsPage(Path("/p/.bengal/generated/tags/index.md"), {"_generated": True})
        comparison = compare(plan, Stats(Decision((virtual,)), {}))
        assert comparison.bengal == frozenset()
        assert comparison.bengal_ms is None

    def test_skipped_build_is_an_empty_decision(self, harness: Harness) -> None:
        """A build Bengal skipped has no decision: nothing on Bengal's side."""
        comparison = compare(harness.plan(), Stats(None, {}))
        assert comparison.bengal == frozenset()


class TestComparison:
    def test_describe(self) -> None:
        """describe() gives both sizes, the timings and the differences, relative to a root."""
        root = Path("/c")
        comparison = Comparison(
            ours=frozenset({root / "a.md", root / "b.md"}),
            bengal=frozenset({root / "b.md", root / "c.md"}),
            our_ms=1.5,
            bengal_ms=150.0,
        )
        text = comparison.describe(root)
        assert "incrbuild: 2 pages in 1.50 ms" in text
        assert "filter phase 150.0 ms" in text
        assert "only incrbuild: a.md" in text
        assert "only Bengal:    c.md" in text

    def test_long_lists_are_cut(self) -> None:
        """More than eight differences are shown as eight and a count."""
        ours = frozenset(Path(f"/c/{n:02d}.md") for n in range(12))
        text = Comparison(ours, frozenset(), 1.0, None).describe(Path("/c"))
        assert "(12 in all)" in text
        assert "filter phase n/a" in text


class TestGlobalInputs:
    def test_lists_configuration_and_templates(self, tmp_path: Path) -> None:
        """Configuration, templates and data files are global inputs; content is not."""
        root = make_project(tmp_path)
        write(root / "data" / "authors.yml", "a: 1\n")
        write(root / "templates" / ".hidden", "x")
        write(root / "bengal.toml", "")
        found = {p.relative_to(root).as_posix() for p in global_inputs(root)}
        assert found == {
            "bengal.toml",
            "config/_default/site.yaml",
            "templates/page.html",
            "data/authors.yml",
        }

    def test_global_input_change_plans_everything(self, tmp_path: Path) -> None:
        """An engine given the global inputs plans a full rebuild when one changes."""
        root = make_project(tmp_path)
        engine = Engine(
            BengalSite(discover(root)),
            state_dir=root / ".incrbuild",
            global_inputs=global_inputs(root),
        )
        engine.commit(engine.plan())
        write(root / "templates" / "page.html", "<html>changed</html>\n")
        plan = BengalPlan(engine.plan())
        assert plan.plan.full
        assert plan.plan.reasons[root / "content" / "about.md"] == (
            Reason(ReasonKind.GLOBAL, root / "templates" / "page.html"),
        )


class TestRequireBengal:
    def test_missing_bengal_says_how_to_install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without Bengal the error names the requirement (and Python 3.14 on older Pythons)."""
        monkeypatch.setitem(sys.modules, "bengal", None)
        with pytest.raises(ImportError, match="pip install") as caught:
            require_bengal()
        assert BENGAL_REQUIREMENT in str(caught.value)
        if sys.version_info < (3, 14):
            assert "3.14" in str(caught.value)

    def test_loading_a_site_needs_bengal(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """load_site() and BengalProject() fail clearly, not with an AttributeError later."""
        monkeypatch.setitem(sys.modules, "bengal", None)
        with pytest.raises(ImportError, match="needs Bengal"):
            load_site(tmp_path)
        with pytest.raises(ImportError, match="needs Bengal"):
            BengalProject(tmp_path)


class TestImportIsolation:
    def test_importing_never_imports_bengal(self) -> None:
        """Neither ``import incrbuild`` nor importing the adapter imports Bengal."""
        code = (
            "import sys, incrbuild, incrbuild.adapters, incrbuild.adapters.bengal; "
            "print('bengal' in sys.modules)"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert result.stdout.strip() == "False"


# -- the hand-off, against stand-ins ------------------------------------------------------------


class TestRenderSelection:
    """Which of Bengal's pages the hand-off renders for a plan."""

    def test_selects_planned_pages_terms_and_listings(self, harness: Harness) -> None:
        """Planned sources, planned tags' pages (by slug), listings and the tag index."""
        harness.edit("other/o2.md", "weight: 1\n", "weight: 1\ntags: [Big Cats]\n")
        plan = harness.plan()
        select = RenderSelection.of(plan)
        content = harness.content
        assert select(FakePage(content / "other" / "o2.md", {"title": "O2"}))
        assert not select(FakePage(content / "docs" / "d2.md", {"title": "D2"}))
        tag = {"_generated": True, "type": "tag", "_tag": "Big Cats", "_tag_slug": "big-cats"}
        assert select(FakePage(Path("tags/big-cats/index.md"), tag, True))
        other = {"_generated": True, "type": "tag", "_tag": "omega", "_tag_slug": "omega"}
        assert not select(FakePage(Path("tags/omega/index.md"), other, True))
        assert select(FakePage(Path("tags/index.md"), {"_generated": True, "type": "tag-index"}))
        archive = FakeSection("other", content / "other")
        listing = {"_generated": True, "type": "archive", "_section": archive}
        assert select(FakePage(Path("archives/other.md"), listing, True))
        elsewhere = FakeSection("docs", content / "docs")
        unplanned = {"_generated": True, "type": "archive", "_section": elsewhere}
        assert not select(FakePage(Path("archives/docs.md"), unplanned, True))

    @staticmethod
    def tag_pages(members: list[FakePage], per_page: int = 2) -> list[FakePage]:
        """A tag's pagination pages as Bengal 0.5.1 makes them (``_paginator``, ``_page_num``)."""

        class Paginator:
            def page(self, number: int) -> list[FakePage]:
                return members[(number - 1) * per_page : number * per_page]

        paginator = Paginator()
        count = (len(members) + per_page - 1) // per_page
        return [
            FakePage(
                Path(f"tags/alpha/page_{n}.md"),
                {
                    "_generated": True,
                    "type": "tag",
                    "_tag": "alpha",
                    "_tag_slug": "alpha",
                    "_paginator": paginator,
                    "_page_num": n,
                },
                True,
            )
            for n in range(1, count + 1)
        ]

    def test_a_card_changed_in_place_renders_its_tag_page_only(self, harness: Harness) -> None:
        """A body edit keeps the page's place: only the pagination page showing it is rendered."""
        harness.edit("area/a4.md", "Body of A4.", "A new body.")
        select = RenderSelection.of(harness.plan())
        content = harness.content
        members = [FakePage(content / "area" / f"a{n}.md") for n in (0, 2, 4)]
        members.append(FakePage(content / "docs" / "d1.md"))
        first, second = self.tag_pages(members)
        assert select.tag_cards == {"alpha": frozenset({content / "area" / "a4.md"})}
        assert not select(first)
        assert select(second)  # a4 is its first card

    def test_a_card_moved_renders_every_tag_page(self, harness: Harness) -> None:
        """A date change may move the card to another page: every pagination page."""
        harness.edit("area/a4.md", "weight: 4\n", "weight: 4\ndate: 2020-01-01\n")
        select = RenderSelection.of(harness.plan())
        members = [FakePage(harness.content / "area" / f"a{n}.md") for n in (0, 2, 4, 1)]
        assert select.tag_cards == {}
        assert all(select(page) for page in self.tag_pages(members))

    def test_unknown_generated_and_virtual_pages_are_always_rendered(
        self, harness: Harness
    ) -> None:
        """Kinds the plan has no name for cost a render, never a stale page."""
        select = RenderSelection.of(harness.plan())
        assert select(FakePage(Path("special.md"), {"_generated": True, "type": "special"}))
        assert select(FakePage(Path("api/module.md"), {"is_autodoc": True}, virtual=True))

    def test_full_plan_selects_everything(self, tmp_path: Path) -> None:
        """A full plan renders every page."""
        engine = Engine(BengalSite(discover(make_project(tmp_path))), state_dir=tmp_path / "s")
        plan = BengalPlan(engine.plan())
        assert RenderSelection.of(plan)(FakePage(Path("anything.md")))


class TestNarrowedRender:
    """The render phase is narrowed to the selection, and restored afterwards."""

    def test_narrows_and_restores(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Only selected pages reach the render phase; the original is back after the block."""
        module = types.ModuleType(handoff.RENDER_MODULE)
        received: list[list[str]] = []

        def phase_render(*args: Any, **kwargs: Any) -> None:
            received.append(list(args[handoff._PAGES_ARGUMENT]))

        module.phase_render = phase_render  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, handoff.RENDER_MODULE, module)
        provenance = types.ModuleType(handoff.PROVENANCE_MODULE)
        recorded: list[list[str]] = []

        def record_all_page_builds(orchestrator: Any, pages: list[str]) -> None:
            recorded.append(list(pages))

        provenance.record_all_page_builds = record_all_page_builds  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, handoff.PROVENANCE_MODULE, provenance)
        rendered: list[Any] = []
        args: list[Any] = [None] * 7 + [["a", "b", "c"]]
        with handoff.narrowed_render(lambda page: page != "b", rendered):
            module.phase_render(*args)
            provenance.record_all_page_builds(None, ["a", "b", "c"])  # type: ignore[attr-defined]
        assert received == [["a", "c"]]
        assert rendered == ["a", "c"]
        assert recorded == [["a", "c"]]  # Bengal's bookkeeping: of the pages rendered only
        assert module.phase_render is phase_render  # type: ignore[attr-defined]

    def test_links_recorded_restored_and_unrecorded_pages_rendered(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A render's links are kept; pages not rendered get theirs back; no record: render it.

        Bengal's graph counts every page's links and extracts a page's from its HTML
        when it has none, which finds more than its render gave (see ``_restore_links``).
        """
        module = types.ModuleType(handoff.RENDER_MODULE)
        received: list[list[LinkedPage]] = []

        def phase_render(*args: Any, **kwargs: Any) -> None:
            pages = args[handoff._PAGES_ARGUMENT]
            received.append(list(pages))
            for page in pages:  # the render sets each page's links from its parse
                page.links = [f"/from-render/{page.source_path.stem}/"]

        module.phase_render = phase_render  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, handoff.RENDER_MODULE, module)
        monkeypatch.setitem(
            sys.modules, handoff.PROVENANCE_MODULE, types.ModuleType(handoff.PROVENANCE_MODULE)
        )
        sys.modules[handoff.PROVENANCE_MODULE].record_all_page_builds = None  # type: ignore[attr-defined]
        edited, kept, unknown = (LinkedPage(Path(f"/c/{n}.md")) for n in ("edited", "kept", "new"))
        tag = LinkedPage(Path("/c/.bengal/generated/tags/t/index.md"), {"_generated": True})
        links = {"/c/edited.md": ["/old/"], "/c/kept.md": ["/kept-from-last-render/"]}
        every = [edited, kept, unknown, tag]
        with handoff.narrowed_render(lambda page: page is edited, [], links):
            module.phase_render(*([None] * 7), every)
        assert received == [[edited, unknown]]  # the page without a record is rendered too
        assert kept.links == ["/kept-from-last-render/"]
        assert tag.links is None  # generated and never recorded: left to Bengal
        assert links == {
            "/c/edited.md": ["/from-render/edited/"],
            "/c/kept.md": ["/kept-from-last-render/"],
            "/c/new.md": ["/from-render/new/"],
        }


class TestNarrowedFormats:
    """Companion formats of pages not rendered are kept only under the last build's graph."""

    @staticmethod
    def fake(monkeypatch: pytest.MonkeyPatch, public: Path, graph: list[Any]) -> Any:
        module = types.ModuleType(handoff.FORMATS_MODULE)

        class OutputFormatsGenerator:
            def _per_page_target_pages(self, pages: list[Any], output_format: str) -> list[Any]:
                return list(pages)

            def _get_graph_data_if_needed(self, pages: list[Any]) -> Any:
                return graph[0]

        def output_path(page: Any, output_format: str) -> Path:
            return public / page.source_path.name / "index.json"

        module.OutputFormatsGenerator = OutputFormatsGenerator  # type: ignore[attr-defined]
        module._per_page_output_path = output_path  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, handoff.FORMATS_MODULE, module)
        return OutputFormatsGenerator

    @staticmethod
    def fake_cache(monkeypatch: pytest.MonkeyPatch, stored: list[list[str]]) -> Any:
        module = types.ModuleType(handoff.CACHE_MANAGER_MODULE)

        class CacheManager:
            def _store_page_artifacts(self, build_context: Any) -> None:
                data = build_context.get_accumulated_page_data()
                stored.append(sorted(d.source_path.name for d in data))

        module.CacheManager = CacheManager  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, handoff.CACHE_MANAGER_MODULE, module)
        return CacheManager

    def test_same_graph_writes_the_rendered_pages_only(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        graph: list[Any] = [{"nodes": [{"id": "a", "title": "A"}]}]
        generator = self.fake(monkeypatch, tmp_path, graph)
        original = generator._per_page_target_pages
        stored: list[list[str]] = []
        manager = self.fake_cache(monkeypatch, stored)
        pages = [FakePage(Path(f"/c/{name}")) for name in "abc"]

        class Context:
            def get_accumulated_page_data(self) -> list[FakePage]:
                return pages

        for name in "abc":
            write(tmp_path / name / "index.json", "{}")
        digest = tmp_path / "digest"

        def targets(rendered: list[FakePage], *, narrow: bool = True) -> list[str]:
            keys: list[str] = []
            with handoff.narrowed_formats(rendered, digest, keys, narrow=narrow):
                chosen = generator()._per_page_target_pages(pages, "json")
                manager()._store_page_artifacts(Context())
            assert not digest.exists()  # gone until the caller stores it on commit
            digest.write_text(keys[0], encoding="utf-8")
            return [page.source_path.name for page in chosen]

        b = [pages[1]]
        assert targets([]) == ["a", "b", "c"]  # no digest yet: every page
        assert targets(b) == ["b"]  # the same graph
        graph[0] = {"nodes": [{"id": "a", "title": "A, retitled"}]}
        assert targets(b) == ["a", "b", "c"]  # another graph: every page
        (tmp_path / "a" / "index.json").unlink()
        assert targets(b) == ["a", "b"]  # a missing file is written
        assert targets(b, narrow=False) == ["a", "b", "c"]  # a full plan
        every = ["a", "b", "c"]
        assert stored == [every, ["b"], every, ["b"], every]  # Bengal's artifacts likewise
        assert generator._per_page_target_pages is original
        assert manager._store_page_artifacts.__name__ == "_store_page_artifacts"


class TestArtifactInventory:
    """Bengal's inventory of generated files is taken only for its health checks."""

    @pytest.mark.parametrize("enabled", [True, False])
    def test_taken_only_with_health_checks(
        self, monkeypatch: pytest.MonkeyPatch, enabled: bool
    ) -> None:
        module = types.ModuleType(handoff.INVENTORY_MODULE)
        taken: list[str] = []

        def populate(site: Any, build_context: Any) -> None:
            taken.append(site)

        module.populate_artifact_inventory = populate  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, handoff.INVENTORY_MODULE, module)
        with handoff.inventory_for_health_checks(enabled):
            module.populate_artifact_inventory("site", None)  # type: ignore[attr-defined]
        assert taken == (["site"] if enabled else [])
        assert module.populate_artifact_inventory is populate  # type: ignore[attr-defined]


class TestAssetAudit:
    """Bengal's asset audit is handed the HTML this build wrote, unless given a list."""

    def test_audits_written_html_only(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        module = types.ModuleType(handoff.AUDIT_MODULE)
        audited: list[list[str] | None] = []

        def find(output_dir: Path, baseurl: str = "", html_paths: Any = None) -> list[Any]:
            listed = None if html_paths is None else sorted(p.name for p in html_paths)
            audited.append(listed)
            return []

        module.find_missing_local_asset_references = find  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, handoff.AUDIT_MODULE, module)
        public = tmp_path / "public"
        old = public / "old" / "old.html"
        write(old, "x")
        os.utime(old, ns=(1_000_000_000, 1_000_000_000))
        write(public / "new" / "new.html", "x")
        write(public / "new" / "new.json", "x")
        since = time.time_ns() - 60_000_000_000
        with handoff.audit_written_html(since):
            module.find_missing_local_asset_references(public, "")  # type: ignore[attr-defined]
            module.find_missing_local_asset_references(  # type: ignore[attr-defined]
                public, "", html_paths=[old]
            )
        assert audited == [["new.html"], ["old.html"]]
        assert module.find_missing_local_asset_references is find  # type: ignore[attr-defined]


class TestContentReads:
    """Which ``{{ ... }}`` expressions in a page's Markdown show other pages."""

    @pytest.mark.parametrize(
        "expression",
        [
            "site.pages",
            "site.regular_pages",
            "site.sections",
            "site.taxonomies.tags",
            "page.next.title",
            "page.parent.title",
            "page.related_posts",
            "site",
            "pages",
            "",
        ],
    )
    def test_other_pages(self, expression: str) -> None:
        assert handoff.reads_other_pages(expression)

    @pytest.mark.parametrize(
        "expression",
        [
            "page.title",
            "page.metadata.author",
            "site.config.title",
            "config.baseurl",
            " site.baseurl ",
            "site.params.repo",
        ],
    )
    def test_own_fields_and_configuration(self, expression: str) -> None:
        assert not handoff.reads_other_pages(expression)


class TestOutputManifest:
    """Outputs of pages that are gone are found and deleted, with their other formats."""

    def test_gone_outputs_are_removed_with_formats(self, tmp_path: Path) -> None:
        public = tmp_path / "public"
        for name in ("index.html", "index.json", "index.txt"):
            write(public / "old" / name, "x")
            write(public / "kept" / name, "x")
        before = handoff.OutputManifest({"old/index.html": "a.md", "kept/index.html": "b.md"})
        after = handoff.OutputManifest({"kept/index.html": "b.md"})
        gone = after.gone_since(before)
        assert gone == ["old/index.html"]
        deleted = handoff.remove_outputs(public, gone, after.outputs)
        assert sorted(deleted) == ["old/index.html", "old/index.json", "old/index.txt"]
        assert not (public / "old").exists()
        assert (public / "kept" / "index.json").is_file()

    def test_round_trip(self, tmp_path: Path) -> None:
        manifest = handoff.OutputManifest({"a/index.html": "a.md"})
        manifest.save(tmp_path / "m.json")
        assert handoff.OutputManifest.load(tmp_path / "m.json") == manifest
        assert handoff.OutputManifest.load(tmp_path / "missing.json") is None
        write(tmp_path / "bad.json", "{not json")
        assert handoff.OutputManifest.load(tmp_path / "bad.json") is None

    def test_related_reads_flag(self, tmp_path: Path) -> None:
        """The flag round-trips; a manifest of an earlier version (without it) says no."""
        manifest = handoff.OutputManifest({}, related_reads=True)
        manifest.save(tmp_path / "m.json")
        assert handoff.OutputManifest.load(tmp_path / "m.json") == manifest
        write(tmp_path / "old.json", '{"outputs": {"a/index.html": "a.md"}}')
        old = handoff.OutputManifest.load(tmp_path / "old.json")
        assert old is not None
        assert not old.related_reads

    def test_content_readers_round_trip(self, tmp_path: Path) -> None:
        """Recorded readers round-trip; an earlier version's manifest has not recorded them."""
        manifest = handoff.OutputManifest({}, content_readers=frozenset({"/c/a.md"}))
        manifest.save(tmp_path / "m.json")
        assert handoff.OutputManifest.load(tmp_path / "m.json") == manifest
        write(tmp_path / "old.json", '{"outputs": {}}')
        old = handoff.OutputManifest.load(tmp_path / "old.json")
        assert old is not None
        assert old.content_readers is None

    def test_links_round_trip(self, tmp_path: Path) -> None:
        """Recorded links round-trip; a manifest of an earlier version has none."""
        manifest = handoff.OutputManifest({}, links={"/c/a.md": ["/b/", "#x"], "/c/b.md": []})
        manifest.save(tmp_path / "m.json")
        assert handoff.OutputManifest.load(tmp_path / "m.json") == manifest
        write(tmp_path / "old.json", '{"outputs": {"a/index.html": "a.md"}}')
        old = handoff.OutputManifest.load(tmp_path / "old.json")
        assert old is not None
        assert old.links == {}


class TestPublicApiOnly:
    """The adapter uses incrbuild through its public names only (issue 13's extension points)."""

    def test_no_private_incrbuild_names(self) -> None:
        """No ``incrbuild._x`` import, no ``._x`` attribute of another object in the adapter."""
        package = Path(__file__).resolve().parents[1] / "src" / "incrbuild" / "adapters" / "bengal"
        sources = sorted(package.glob("*.py"))
        assert sources
        found = []
        for source in sources:
            for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                if re.search(r"\bincrbuild\._", code):
                    found.append(f"{source.name}:{number}: {line.strip()}")
                for match in re.finditer(r"(\w+)\._(?!_)\w", code):
                    if match.group(1) not in {"self", "cls", "bengal"}:
                        found.append(f"{source.name}:{number}: {line.strip()}")
        assert found == []


class TestManifestRules:
    """Rules that read the hand-off's output manifest: generated pages' templates, aggregates."""

    def engine(self, root: Path, manifest: Path) -> Engine:
        rules = [
            BengalRules(),
            GeneratedPageTemplates(manifest),
            AggregatePages(manifest),
        ]
        engine = Engine(BengalSite(discover(root)), state_dir=root / ".incrbuild", rules=rules)
        engine.commit(engine.plan())
        time.sleep(0.01)
        return engine

    def test_changed_template_of_generated_pages_plans_them_all(self, tmp_path: Path) -> None:
        """A tag page's template changed: every term, every listing and the all-tags page."""
        root = make_project(tmp_path)
        template = root / "templates" / "tag.html"
        write(template, "<html>tags</html>\n")
        manifest = tmp_path / "manifest.json"
        stamp = handoff.file_stamp(str(template))
        handoff.OutputManifest({}, {str(template): stamp}).save(manifest)
        engine = self.engine(root, manifest)
        assert not BengalPlan(engine.plan()).plan.terms
        write(template, "<html>tags, changed</html>\n")
        plan = BengalPlan(engine.plan())
        assert plan.plan.terms == {"alpha", "beta"}
        assert plan.tag_index
        assert root / "content" / "other" / "nested" in plan.plan.sections

    def test_aggregate_pages_follow_any_page_change(self, tmp_path: Path) -> None:
        """A page that iterated the site's pages is planned when any page changes."""
        root = make_project(tmp_path)
        manifest = tmp_path / "manifest.json"
        reader = root / "content" / "about.md"
        handoff.OutputManifest({}, {}, frozenset({str(reader)})).save(manifest)
        engine = self.engine(root, manifest)
        path = root / "content" / "docs" / "guide" / "deep" / "x.md"
        path.write_text(path.read_text(encoding="utf-8") + "More.\n", encoding="utf-8")
        plan = engine.plan()
        assert reader in plan.pages
        assert any("iterates" in why for why in plan.why(reader))
        engine.commit(plan)
        assert reader not in engine.plan().pages  # nothing changed since

    def test_site_reads_replan_a_reader_on_any_page_change(self, tmp_path: Path) -> None:
        """A page whose render asked the site for an index is replanned by its recorded reads."""
        root = make_project(tmp_path)
        engine = self.engine(root, tmp_path / "manifest.json")
        reader = root / "content" / "about.md"
        asked = handoff.RenderReads(frozenset(), frozenset(), frozenset({"indexes"}))
        assert site_reads(asked) == {"pages": {"*"}}
        assert site_reads(handoff.RenderReads(frozenset(), frozenset())) == {}
        engine.record_reads(reader, collections=site_reads(asked))
        engine.commit(engine.plan())
        path = root / "content" / "docs" / "guide" / "deep" / "x.md"
        path.write_text(path.read_text(encoding="utf-8") + "More.\n", encoding="utf-8")
        plan = engine.plan()
        assert reader in plan.pages
        assert plan.why(reader)[0].endswith("(content in pages)")
        engine.commit(plan)
        path.unlink()
        engine.set_site(BengalSite(discover(root)))  # as BengalProject.plan() rediscovers
        assert reader in engine.plan().pages  # a page gone: the collection lost a member


class TestProjectSnapshot:
    """What lets a build keep its plan's discovery: no file changed since just before it."""

    def tree(self, root: Path) -> Path:
        (root / "content" / "a").mkdir(parents=True)
        (root / "content" / "a" / "one.md").write_text("---\ntitle: One\n---\nx\n")
        (root / "bengal.toml").write_text("[site]\n")
        (root / "public").mkdir()
        return root

    def test_nothing_changed(self, tmp_path: Path) -> None:
        """Two looks at an untouched tree agree; output and hidden directories are not looked at."""
        root = self.tree(tmp_path)
        snapshot = handoff.ProjectSnapshot.take(root, (root / "content",))
        (root / "public" / "index.html").write_text("built")
        (root / ".bengal").mkdir()
        assert snapshot.unchanged()

    @pytest.mark.parametrize("change", ["rewrite", "add", "remove", "config"])
    def test_a_change_is_seen(self, tmp_path: Path, change: str) -> None:
        """A rewrite (same size, mtime put back), an added or removed file, a config edit."""
        root = self.tree(tmp_path)
        page = root / "content" / "a" / "one.md"
        snapshot = handoff.ProjectSnapshot.take(root, (root / "content",))
        assert str(page) in snapshot.racy  # just written: compared by content
        if change == "rewrite":
            stamp = page.stat()
            page.write_text("---\ntitle: Two\n---\nx\n")
            os.utime(page, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
        elif change == "add":
            (root / "content" / "a" / "two.md").write_text("new")
        elif change == "remove":
            page.unlink()
        else:
            (root / "bengal.toml").write_text("[site]\ntitle = 'x'\n")
        assert not snapshot.unchanged()
