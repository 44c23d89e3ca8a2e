"""Taxonomies beyond ``tags`` (Hugo's ``categories``): indexed, cascaded and planned like tags."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from incrbuild import IndexRegistry
from incrbuild._cli import main
from incrbuild._registry import tags_from_metadata, term_name
from incrbuild.adapters.files import open_engine
from incrbuild.adapters.simple import SimplePage, SimpleSite, assemble_site
from incrbuild.protocols import PageLike

from .helpers import run_command, write

ROOT = Path("/site/content")
BOTH = ("tags", "categories")
TERMS = st.lists(st.sampled_from(["go", "rust", "web"]), max_size=2)
DIRS = st.sampled_from([(), ("a",), ("a", "b"), ("c",)])


def brute_terms(site: SimpleSite, page: PageLike, taxonomies: tuple[str, ...]) -> frozenset[str]:
    """Per taxonomy: the page's own terms, or the nearest ancestor cascade naming that key."""
    by_path = {p.source_path: p for p in site.pages}
    found: set[str] = set()
    for taxonomy in taxonomies:
        if taxonomy in page.metadata:
            found |= {term_name(taxonomy, t) for t in tags_from_metadata(page.metadata, taxonomy)}
            continue
        directory = page.source_path.parent
        if page.source_path.name == "_index.md":
            directory = directory.parent
        while True:
            index = by_path.get(directory / "_index.md")
            cascade = index.metadata.get("cascade") or {} if index is not None else {}
            if index is not page and taxonomy in cascade:
                found |= {term_name(taxonomy, t) for t in tags_from_metadata(cascade, taxonomy)}
                break
            if directory == ROOT or ROOT not in directory.parents:
                break
            directory = directory.parent
    return frozenset(found)


@st.composite
def front_matter(draw: st.DrawFn, index: bool) -> dict[str, Any]:
    metadata: dict[str, Any] = {"title": "t"}
    for taxonomy in BOTH:
        if draw(st.booleans()):
            metadata[taxonomy] = draw(TERMS)
    if index and draw(st.booleans()):
        metadata["cascade"] = {t: draw(TERMS) for t in BOTH if draw(st.booleans())}
    return metadata


@st.composite
def taxonomy_sites(draw: st.DrawFn) -> SimpleSite:
    pages = {}
    for parts in draw(st.lists(DIRS, min_size=1, max_size=4)):
        for name in draw(st.lists(st.sampled_from(["_index.md", "p.md", "q.md"]), max_size=3)):
            path = ROOT.joinpath(*parts, name)
            pages[path] = SimplePage(path, draw(front_matter(name == "_index.md")))
    return assemble_site(ROOT, list(pages.values()))


class TestRegistry:
    @given(taxonomy_sites())
    def test_terms_match_a_brute_force_scan(self, site: SimpleSite) -> None:
        """Each page's terms, in both taxonomies, are its own or the nearest cascade's, per key."""
        registry = IndexRegistry(site, taxonomies=BOTH)
        for page in site.pages:
            assert registry.tags_of(page) == brute_terms(site, page, BOTH)
            assert registry.terms_of_metadata(page.source_path, page.metadata) == brute_terms(
                site, page, BOTH
            )
        tags_only = IndexRegistry(site)
        for page in site.pages:
            assert tags_only.tags_of(page) == brute_terms(site, page, ("tags",))

    def test_each_taxonomy_comes_from_the_nearest_cascade_naming_it(self) -> None:
        """An inner cascade naming only ``tags`` does not hide an outer one's ``categories``."""
        outer = SimplePage(ROOT / "_index.md", {"cascade": {"categories": ["go"], "tags": ["o"]}})
        inner = SimplePage(ROOT / "a" / "_index.md", {"cascade": {"tags": ["i"]}})
        page = SimplePage(ROOT / "a" / "b" / "p.md", {"title": "P"})
        own = SimplePage(ROOT / "a" / "q.md", {"categories": []})
        site = assemble_site(ROOT, [outer, inner, page, own])
        registry = IndexRegistry(site, taxonomies=BOTH)
        assert registry.tags_of(page) == {"i", "categories/go"}
        assert registry.tags_of(own) == {"i"}  # an explicit empty list opts out
        assert registry.cascaded_tags(page.source_path, BOTH) == {"i", "categories/go"}

    @given(taxonomy_sites(), st.data())
    def test_in_place_edits_match_a_fresh_index(
        self, site: SimpleSite, data: st.DataObject
    ) -> None:
        """Editing front matter in place (``refresh_pages``) leaves the index a fresh one builds."""
        registry = IndexRegistry(site, taxonomies=BOTH)
        registry.tags  # noqa: B018 - build the index before editing
        pages = list(site.pages)
        for page in data.draw(st.lists(st.sampled_from(pages), max_size=4)) if pages else []:
            page.metadata = data.draw(front_matter(page.source_path.name == "_index.md"))
            registry.refresh_pages([page])
        fresh = IndexRegistry(site, taxonomies=BOTH)
        assert registry.tags == fresh.tags
        for page in pages:
            assert registry.tags_of(page) == fresh.tags_of(page) == brute_terms(site, page, BOTH)


def write_page(root: Path, relative: str, metadata: dict[str, Any]) -> Path:
    return write(root / relative, f"---\n{yaml.safe_dump(metadata)}---\nbody\n")


class TestPlans:
    @settings(max_examples=25)
    @given(taxonomy_sites(), st.data())
    def test_every_term_whose_members_changed_is_planned(
        self, site: SimpleSite, data: st.DataObject
    ) -> None:
        """Oracle: edit one page's front matter; every term whose member set changed is planned."""
        pages = list(site.pages)
        if not pages:
            return
        workdir = Path(tempfile.mkdtemp())
        try:
            content = workdir / "content"
            for page in pages:
                write_page(content, page.source_path.relative_to(ROOT).as_posix(), page.metadata)
            engine = open_engine(content, state_dir=workdir / "state", taxonomies=BOTH)
            engine.commit(engine.plan())
            before = {p.source_path: brute_terms(site, p, BOTH) for p in pages}
            edited = data.draw(st.sampled_from(pages))
            edited.metadata = data.draw(front_matter(edited.source_path.name == "_index.md"))
            after = {p.source_path: brute_terms(site, p, BOTH) for p in pages}
            write_page(content, edited.source_path.relative_to(ROOT).as_posix(), edited.metadata)
            plan = engine.plan()
            changed = {
                term
                for path in before
                for term in before[path] ^ after[path]  # a page joined or left the term
            }
            assert changed <= plan.terms | plan.removed_terms
        finally:
            shutil.rmtree(workdir)

    def test_categories_from_a_hugo_config(self, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        """hugo.toml's [taxonomies] makes ``categories`` planned, named ``categories/<term>``."""
        write(tmp_path / "hugo.toml", '[taxonomies]\ntag = "tags"\ncategory = "categories"\n')
        content = tmp_path / "content"
        write_page(content, "a.md", {"title": "A", "categories": ["go"]})
        write_page(content, "b.md", {"title": "B", "categories": ["go"], "tags": ["x"]})
        assert main(["commit", str(content), "--quiet"]) == 0
        write_page(content, "a.md", {"title": "A", "categories": ["rust"]})
        assert main(["plan", str(content), "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert set(data["terms"]) == {"categories/go", "categories/rust"}
        assert "categories/rust" in data["term_reasons"]

    def test_hugo_config_without_a_table_has_hugos_defaults(self, tmp_path: Path) -> None:
        """A Hugo config without [taxonomies]: tags and categories, as Hugo does."""
        write(tmp_path / "config.yaml", "title: My site\n")
        engine = open_engine(tmp_path / "content")
        assert engine.taxonomies == ("tags", "categories")

    def test_no_config_means_tags(self, tmp_path: Path) -> None:
        """No configuration file: only ``tags``; ``--taxonomy`` names others."""
        content = tmp_path / "content"
        write_page(content, "a.md", {"title": "A", "categories": ["go"]})
        assert open_engine(content).taxonomies == ("tags",)
        result = run_command("plan", str(content), "--json", "--taxonomy", "categories")
        assert json.loads(result.stdout)["terms"] == ["categories/go"]
        result = run_command("plan", str(content), "--json")
        assert json.loads(result.stdout)["terms"] == []

    def test_bengal_config_list(self, tmp_path: Path) -> None:
        """bengal.toml may list taxonomies by name."""
        write(tmp_path / "bengal.toml", 'taxonomies = ["tags", "series"]\n')
        assert open_engine(tmp_path / "content").taxonomies == ("tags", "series")

    def test_cascaded_categories_reach_pages_that_name_only_tags(self, tmp_path: Path) -> None:
        """A page naming ``tags`` still inherits ``categories`` from its section's cascade."""
        content = tmp_path / "content"
        write_page(content, "s/_index.md", {"title": "S", "cascade": {"categories": ["go"]}})
        page = write_page(content, "s/p.md", {"title": "P", "tags": ["x"]})
        engine = open_engine(content, state_dir=tmp_path / "state", taxonomies=BOTH)
        engine.commit(engine.plan())
        write_page(content, "s/_index.md", {"title": "S", "cascade": {"categories": ["rust"]}})
        plan = engine.plan()
        assert {"categories/go", "categories/rust"} <= plan.terms | plan.removed_terms
        assert page in plan.pages
        assert engine.registry.tags_of(engine.registry.page_for(page)) == {  # type: ignore[arg-type]
            "x",
            "categories/rust",
        }

    def test_a_broken_config_is_one_clear_error(self, tmp_path: Path) -> None:
        """An unparsable site config: status 2 and a message naming the file, no traceback."""
        write(tmp_path / "hugo.toml", "[taxonomies\n")
        write_page(tmp_path / "content", "a.md", {"title": "A"})
        result = run_command("plan", str(tmp_path / "content"))
        err = result.stderr.decode()
        assert result.returncode == 2
        assert "hugo.toml" in err
        assert "cannot parse the site configuration" in err
        assert "Traceback" not in err
