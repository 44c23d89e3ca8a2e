"""IndexRegistry: every lookup agrees with a brute-force scan, and each index is built once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType

from hypothesis import given
from hypothesis import strategies as st

from incrbuild import IndexRegistry, tags_from_metadata
from incrbuild.adapters.simple import SimplePage, SimpleSection, SimpleSite, assemble_site
from incrbuild.protocols import PageLike, SectionLike, is_generated

from .strategies import ROOT, sites


def all_sections(site: SimpleSite) -> Iterator[SectionLike]:
    stack: list[SectionLike] = list(site.sections)
    while stack:
        section = stack.pop()
        yield section
        stack.extend(section.subsections)


def brute_section_of(site: SimpleSite, page: PageLike) -> SectionLike | None:
    for section in all_sections(site):
        if page in section.pages or section.index_page is page:
            return section
    return None


def brute_regular_under(section: SectionLike) -> set[Path]:
    found: set[Path] = set()
    for page in section.pages:
        if not is_generated(page) and page is not section.index_page:
            found.add(page.source_path)
    for child in section.subsections:
        if child.index_page is not None and not is_generated(child.index_page):
            found.add(child.index_page.source_path)
        found |= brute_regular_under(child)
    return found


class TestIndexRegistry:
    @given(sites())
    def test_page_by_path_matches_scan(self, site: SimpleSite) -> None:
        """``page_for`` finds exactly the page a linear scan finds."""
        registry = IndexRegistry(site)
        for page in site.pages:
            assert registry.page_for(page.source_path) is page
        assert registry.page_for(ROOT / "missing.md") is None

    @given(sites())
    def test_section_lookups_match_scan(self, site: SimpleSite) -> None:
        """``section_of``, ``section_for_index`` and ``is_root_level`` agree with an O(S) scan."""
        registry = IndexRegistry(site)
        for page in site.pages:
            expected = brute_section_of(site, page)
            assert registry.section_of(page) is expected
            assert registry.is_root_level(page) is (expected is None)
            owner = next((s for s in all_sections(site) if s.index_page is page), None)
            assert registry.section_for_index(page) is owner
        for section in all_sections(site):
            assert section.path is not None
            assert registry.section_by_path(section.path) is section

    @given(sites())
    def test_regular_pages_under_matches_recursive_scan(self, site: SimpleSite) -> None:
        """``regular_pages_under`` equals a recursive scan, and is cached."""
        registry = IndexRegistry(site)
        for section in all_sections(site):
            found = registry.regular_pages_under(section)
            assert {p.source_path for p in found} == brute_regular_under(section)
            assert len(found) == len({p.source_path for p in found})
            assert registry.regular_pages_under(section) is found

    @given(sites())
    def test_tag_index_matches_scan(self, site: SimpleSite) -> None:
        """Tag lookups equal a scan of every non-generated page's own or cascaded tags."""
        registry = IndexRegistry(site)
        expected: dict[str, set[Path]] = {}
        for page in site.pages:
            for tag in brute_tags(site, page):
                expected.setdefault(tag, set()).add(page.source_path)
        assert registry.tags == frozenset(expected)
        for tag, paths in expected.items():
            assert {p.source_path for p in registry.pages_with_tag(tag)} == paths
        for page in site.pages:
            assert registry.tags_of(page) == brute_tags(site, page)

    @given(sites())
    def test_heading_index_matches_scan(self, site: SimpleSite) -> None:
        """Heading lookups equal a scan of every page's TOC, case-insensitively."""
        registry = IndexRegistry(site)
        expected: dict[str, list[tuple[Path, str]]] = {}
        for page in site.pages:
            for item in page.toc_items:
                expected.setdefault(str(item["title"]).lower(), []).append(
                    (page.source_path, str(item["id"]))
                )
        for title, entries in expected.items():
            found = [(p.source_path, a) for p, a in registry.pages_with_heading(title.upper())]
            assert sorted(found) == sorted(entries)

    @given(sites())
    def test_whole_build_builds_each_index_once(self, site: SimpleSite) -> None:
        """A build that uses every lookup many times builds each index exactly once."""
        registry = IndexRegistry(site)
        for _ in range(3):
            assert len(registry.page_by_path) == len(site.pages)
            assert registry.tags is not None
            for page in site.pages:
                registry.page_for(page.source_path)
                registry.section_of(page)
                registry.section_for_index(page)
                registry.tags_of(page)
            for section in registry.sections:
                registry.regular_pages_under(section)
            registry.pages_with_heading("intro")
        assert registry.stats.page_index_builds == 1
        assert registry.stats.section_index_builds == 1
        # Built by the first page's tags_of (``tags`` alone collects the terms, no maps).
        assert registry.stats.tag_index_builds == (1 if site.pages else 0)
        assert registry.stats.heading_index_builds == 1

    def test_heading_index_is_not_built_by_discovery_lookups(self) -> None:
        """Page, section and tag lookups never touch TOCs (which are empty before parsing)."""
        page = SimplePage(ROOT / "s" / "a.md", {"tags": ["x"]})
        registry = IndexRegistry(assemble_site(ROOT, [page]))
        registry.page_for(page.source_path)
        registry.section_of(page)
        registry.tags_of(page)
        assert registry.stats.heading_index_builds == 0

    def test_heading_index_sees_pages_parsed_later(self) -> None:
        """Headings parsed after discovery are found, and re-parsing re-indexes one page."""
        first = SimplePage(ROOT / "a.md")
        second = SimplePage(ROOT / "b.md")
        registry = IndexRegistry(assemble_site(ROOT, [first, second]))
        registry.page_for(first.source_path)
        first.toc_items = [{"title": "Install", "id": "install"}]
        assert registry.pages_with_heading("install") == ((first, "install"),)
        first.toc_items = [{"title": "Setup", "id": "setup"}]
        assert registry.pages_with_heading("install") == ((first, "install"),)  # not told yet
        registry.page_parsed(first)
        assert registry.pages_with_heading("install") == ()
        assert registry.pages_with_heading("setup") == ((first, "setup"),)
        assert registry.pages_with_anchor("setup") == (first,)
        assert registry.stats.heading_index_builds == 1
        assert registry.stats.heading_pages_reindexed == 1

    def test_invalidate_starts_a_new_generation(self) -> None:
        """After the host adds a page, ``invalidate`` makes every index see it."""
        site = assemble_site(ROOT, [SimplePage(ROOT / "s" / "a.md", {"tags": ["t"]})])
        registry = IndexRegistry(site)
        assert len(registry.pages_with_tag("t")) == 1
        assert len(registry.page_by_path) == 1
        added = SimplePage(ROOT / "s" / "b.md", {"tags": ["t"]})
        site.pages.append(added)
        site.sections[0].pages.append(added)
        assert registry.page_for(added.source_path) is None
        registry.invalidate()
        assert registry.page_for(added.source_path) is added
        assert registry.section_of(added) is site.sections[0]
        assert len(registry.pages_with_tag("t")) == 2
        assert registry.generation == 1
        assert registry.stats.page_index_builds == 2

    def test_refresh_pages_updates_tags_in_place(self) -> None:
        """``refresh_pages`` moves a retagged page between tags without a rebuild."""
        page = SimplePage(ROOT / "a.md", {"tags": ["old"]})
        other = SimplePage(ROOT / "b.md", {"tags": ["old", "keep"]})
        registry = IndexRegistry(assemble_site(ROOT, [page, other]))
        assert registry.pages_with_tag("old") == (page, other)
        page.metadata["tags"] = ["new"]
        registry.refresh_pages([page])
        assert registry.pages_with_tag("old") == (other,)
        assert registry.pages_with_tag("new") == (page,)
        assert registry.tags_of(page) == {"new"}
        assert registry.stats.tag_index_builds == 1

    def test_the_set_of_terms_needs_no_tag_maps_and_follows_edits(self) -> None:
        """``tags`` asked before any term's pages builds no maps, and sees in-place edits."""
        page = SimplePage(ROOT / "s" / "a.md", {"tags": ["old"]})
        index = SimplePage(ROOT / "s" / "_index.md", {"cascade": {"tags": ["inherited"]}})
        bare = SimplePage(ROOT / "s" / "b.md", {})
        site = assemble_site(ROOT, [page, index, bare])
        registry = IndexRegistry(site)
        assert registry.tags == {"old", "inherited"}
        page.metadata["tags"] = ["new"]
        registry.refresh_pages([page])
        assert registry.tags == {"new", "inherited"}
        added = SimplePage(ROOT / "t" / "c.md", {"tags": ["more"]})
        edit = site.add_page(added)
        for section in edit.sections_added:
            registry.section_added(section)
        registry.page_added(added, edit.section)
        assert registry.tags == {"new", "inherited", "more"}
        gone = site.remove_page(bare.source_path)
        assert gone is not None
        registry.page_removed(bare, gone.section)
        assert registry.tags == {"new", "more"}
        assert registry.stats.tag_index_builds == 0
        assert registry.pages_with_tag("new") == (page,)
        assert registry.tags == {"new", "more"}
        assert registry.stats.tag_index_builds == 1

    def test_refreshing_a_cascade_of_tags_retags_the_subtree(self) -> None:
        """An index page whose cascade stops giving tags takes them from every inheritor."""
        index = SimplePage(ROOT / "s" / "_index.md", {"cascade": {"tags": ["c"]}})
        inheritor = SimplePage(ROOT / "s" / "t" / "a.md", {})
        own = SimplePage(ROOT / "s" / "b.md", {"tags": []})
        registry = IndexRegistry(assemble_site(ROOT, [index, inheritor, own]))
        assert registry.pages_with_tag("c") == (inheritor,)
        assert registry.cascaded_tags(own.source_path) == {"c"}
        index.metadata["cascade"] = {}
        registry.refresh_pages([index])
        assert registry.pages_with_tag("c") == ()
        assert registry.tags_of(inheritor) == frozenset()
        assert registry.cascaded_tags(ROOT / "s" / "gone.md") == frozenset()

    def test_borrows_the_hosts_page_index(self) -> None:
        """A site with its own ``page_by_source_path`` is not indexed a second time."""

        page = SimplePage(ROOT / "a.md")

        class HostSite:
            root_path = ROOT
            pages = (page,)
            sections: tuple[SimpleSection, ...] = ()
            page_by_source_path = MappingProxyType({ROOT / "a.md": page})

        registry = IndexRegistry(HostSite())
        assert registry.page_for(ROOT / "a.md") is page
        assert registry.stats.page_index_builds == 0
        assert registry.stats.page_index_borrowed == 1

    def test_concurrent_first_use_builds_once(self) -> None:
        """Two threads asking at once for the page index build it once."""

        class SlowPages(list[SimplePage]):
            def __iter__(self) -> Iterator[SimplePage]:
                time.sleep(0.05)
                return super().__iter__()

        site = SimpleSite(ROOT, SlowPages([SimplePage(ROOT / f"{i}.md") for i in range(50)]))
        registry = IndexRegistry(site)
        barrier = threading.Barrier(8)
        results: list[int] = []

        def ask() -> None:
            barrier.wait()
            results.append(len(registry.page_by_path))

        threads = [threading.Thread(target=ask) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == [50] * 8
        assert registry.stats.page_index_builds == 1


class TestTagsFromMetadata:
    def test_accepts_a_string_or_a_list(self) -> None:
        """A single string and a list both give a set of stripped, non-blank tags."""
        assert tags_from_metadata({"tags": "x"}) == {"x"}
        assert tags_from_metadata({"tags": [" x ", "", "y", 3]}) == {"x", "y", "3"}
        assert tags_from_metadata({}) == frozenset()

    def test_any_iterable_and_any_scalar(self) -> None:
        """Tuples, sets and generators are term lists; a number or a date is one term."""
        assert tags_from_metadata({"tags": ("x", " y")}) == {"x", "y"}
        assert tags_from_metadata({"tags": {"x"}}) == {"x"}
        assert tags_from_metadata({"tags": (t for t in ["x", " "])}) == {"x"}
        assert tags_from_metadata({"tags": 2024}) == {"2024"}
        assert tags_from_metadata({"tags": ["", "  "]}) == frozenset()


#: Names whose text order and ``Path`` order could disagree if compared as whole paths.
_TRICKY = st.sampled_from(["a", "a-b", "a.b", "a b", "A", "b", "Z", "é", "a0", "_index.md"])


@st.composite
def tricky_paths(draw: st.DrawFn) -> list[Path]:
    parts = st.lists(_TRICKY, min_size=1, max_size=3)
    return [ROOT.joinpath(*p) for p in draw(st.lists(parts, max_size=25, unique_by=tuple))]


class TestPathOrder:
    """Sections and tag members come in ``Path`` order, however fast they are sorted."""

    @given(tricky_paths())
    def test_assembled_sections_are_in_path_order(self, paths: list[Path]) -> None:
        pages = [SimplePage(p, {"tags": ["t"]}) for p in paths if p.name != ROOT.name]
        site = assemble_site(ROOT, pages)
        assert [s.path for s in site.sections] == sorted(s.path for s in site.sections)
        for section in all_sections(site):
            names = [p.source_path for p in section.pages]
            assert names == sorted(names)
            subsections = [s.path for s in section.subsections]
            assert subsections == sorted(subsections)

    @given(tricky_paths())
    def test_tag_members_are_in_path_order(self, paths: list[Path]) -> None:
        site = assemble_site(ROOT, [SimplePage(p, {"tags": ["t"]}) for p in paths])
        members = [p.source_path for p in IndexRegistry(site).pages_with_tag("t")]
        assert members == sorted(members)

    @given(tricky_paths())
    def test_a_loaded_tree_lists_its_pages_in_path_order(self, paths: list[Path]) -> None:
        """The loader sorts pages by text (separators as NUL): ``Path`` order all the same."""
        from incrbuild.adapters.files import _PATH_ORDER

        pages = [p for p in paths if p.name != ROOT.name]
        assert sorted(pages, key=_PATH_ORDER) == sorted(pages)


def site_shape(site: SimpleSite) -> list[tuple[object, ...]]:
    """Every section with its pages, index page and subsections, by path."""
    shape: list[tuple[object, ...]] = [("pages", tuple(p.source_path for p in site.pages))]
    for section in sorted(all_sections(site), key=lambda s: str(s.path)):
        shape.append(
            (
                section.path,
                tuple(p.source_path for p in section.pages),
                None if section.index_page is None else section.index_page.source_path,
                tuple(s.path for s in section.subsections),
                None if section.parent is None else section.parent.path,
            )
        )
    shape.append(("top", tuple(s.path for s in site.sections)))
    return shape


EDIT_PATHS = st.tuples(
    st.lists(st.sampled_from(["a", "b", "日本"]), max_size=3),
    st.sampled_from(["_index.md", "x.md", "y.md"]),
)


def brute_tags(site: SimpleSite, page: PageLike) -> frozenset[str]:
    """A page's own tags or, naming none, the nearest ancestor ``_index.md`` cascade's."""
    if is_generated(page):
        return frozenset()
    if "tags" in page.metadata:
        return tags_from_metadata(page.metadata)
    by_path = {p.source_path: p for p in site.pages}
    directory = page.source_path.parent
    if page.source_path.name == "_index.md":
        directory = directory.parent  # its own cascade reaches below it
    while True:
        index = by_path.get(directory / "_index.md")
        if index is not None and index is not page:
            cascade = index.metadata.get("cascade") or {}
            if "tags" in cascade:
                return tags_from_metadata(cascade)
        if directory == ROOT or ROOT not in directory.parents:
            return frozenset()
        directory = directory.parent


class TestIncrementalUpdates:
    @given(sites(), st.lists(st.tuples(st.booleans(), EDIT_PATHS), max_size=12))
    def test_in_place_edits_match_a_fresh_build(self, site: SimpleSite, edits) -> None:  # type: ignore[no-untyped-def]
        """Adding and removing pages in place gives the same site and lookups as a rebuild."""
        site = assemble_site(ROOT, list(site.pages))  # no empty sections: a page-driven shape
        registry = IndexRegistry(site)
        registry.page_by_path  # noqa: B018 - build every index before editing
        registry.tags  # noqa: B018
        for section in registry.sections:
            registry.regular_pages_under(section)
        registry.pages_with_heading("intro")
        for add, (parts, name) in edits:
            path = ROOT.joinpath(*parts, name)
            if add and registry.page_for(path) is None:
                # Index pages bring cascaded tags to the pages below; y.md inherits them.
                metadata: dict[str, object] = {"tags": ["new", *parts]}
                if name == "_index.md":
                    metadata = {"cascade": {"tags": ["c", *parts]}}
                elif name == "y.md":
                    metadata = {}
                edit = site.add_page(SimplePage(path, metadata))
                for section in edit.sections_added:
                    registry.section_added(section)
                registry.page_added(edit.page, edit.section)
            elif not add:
                removed = site.remove_page(path)
                if removed is not None:
                    registry.page_removed(removed.page, removed.section)
                    for section in removed.sections_removed:
                        registry.section_removed(section)
        fresh_site = assemble_site(ROOT, list(site.pages))
        assert site_shape(site) == site_shape(fresh_site)
        fresh = IndexRegistry(site)
        assert dict(registry.page_by_path) == dict(fresh.page_by_path)
        assert {id(s) for s in registry.sections} == {id(s) for s in fresh.sections}
        for page in site.pages:
            assert registry.section_of(page) is fresh.section_of(page)
            assert registry.section_for_index(page) is fresh.section_for_index(page)
            assert registry.tags_of(page) == fresh.tags_of(page)
        for section in fresh.sections:
            assert section.path is not None
            assert registry.section_by_path(section.path) is section
            assert set(map(id, registry.regular_pages_under(section))) == set(
                map(id, fresh.regular_pages_under(section))
            )
        assert registry.tags == fresh.tags
        for tag in fresh.tags:
            assert registry.pages_with_tag(tag) == fresh.pages_with_tag(tag)
        assert registry.pages_with_heading("intro") == fresh.pages_with_heading("intro")
        assert registry.stats.page_index_builds == 1
        assert registry.stats.section_index_builds == 1


class TestIsGenerated:
    def test_every_host_spelling_counts(self) -> None:
        """The ``_generated`` key, an ``is_generated`` flag and a ``virtual`` flag all mark one."""

        class Flagged:
            def __init__(self, **flags: bool) -> None:
                self.source_path = ROOT / "x.md"
                self.metadata: dict[str, object] = {}
                for name, value in flags.items():
                    setattr(self, name, value)

        assert is_generated(SimplePage(ROOT / "a.md", {"_generated": True}))
        assert is_generated(Flagged(is_generated=True))
        assert is_generated(Flagged(virtual=True))
        assert not is_generated(Flagged(virtual=False, is_generated=False))
        assert not is_generated(SimplePage(ROOT / "a.md", {}))
