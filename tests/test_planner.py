"""The planner's propagation rules, each pinned on a small real content tree."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from incrbuild import Engine, Plan, Reason, ReasonKind
from incrbuild.adapters.files import open_engine


class Site:
    """A content tree on disk with an engine over it, built and committed once."""

    def __init__(self, root: Path, **engine_options: Any) -> None:
        self.root = root / "content"
        self.root.mkdir()
        self.templates = root / "templates"
        self.templates.mkdir()
        self.state_dir = root / "state"
        self.options = engine_options
        self.engine: Engine | None = None

    def page(self, rel: str, body: str = "", **front: Any) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = f"---\n{yaml.safe_dump(front, sort_keys=True)}---\n{body}\n" if front else body
        path.write_text(text, encoding="utf-8")
        return path

    def template(self, name: str, text: str = "<html>") -> Path:
        path = self.templates / name
        path.write_text(text)
        return path

    def build(self, record: dict[str, list[Path]] | None = None) -> Plan:
        """Plan, 'render' (recording dependencies), commit; return the plan."""
        if self.engine is None:
            self.engine = open_engine(self.root, state_dir=self.state_dir, **self.options)
        plan = self.engine.plan()
        for page_rel, inputs in (record or {}).items():
            self.engine.record_dependencies(self.root / page_rel, inputs)
        self.engine.commit(plan)
        return plan

    def rel(self, paths: frozenset[Path]) -> set[str]:
        return {p.relative_to(self.root).as_posix() for p in paths}


def settle_past_racy_window(site: Site) -> None:
    """Wait until files written so far are older than the engine's (short) racy window."""
    time.sleep(0.03)


@pytest.fixture
def site(tmp_path: Path) -> Site:
    built = Site(tmp_path, racy_window_ns=20_000_000)
    built.page("_index.md", title="Home")
    built.page("docs/_index.md", title="Docs", cascade={"layout": "doc", "banner": "b1"})
    built.page("docs/intro.md", title="Intro", tags=["x"], weight=1)
    built.page("docs/usage.md", title="Usage", tags=["x", "y"], weight=2)
    built.page("docs/api/_index.md", title="API", cascade={"layout": "api"})
    built.page("docs/api/ref.md", title="Ref", weight=1)
    built.page("blog/post.md", title="Post", tags=["y"])
    built.page("about.md", title="About")
    first = built.build()
    assert first.full
    return built


class TestChangedPages:
    def test_modified_page_alone(self, site: Site) -> None:
        """A body edit of a regular page rebuilds that page only."""
        site.page("blog/post.md", "new body", title="Post", tags=["y"])
        plan = site.build()
        assert site.rel(plan.pages) == {"blog/post.md"}
        assert plan.terms == frozenset()
        assert plan.why(site.root / "blog/post.md") == ("source modified",)

    def test_no_op(self, site: Site) -> None:
        """Nothing changed: nothing to rebuild."""
        plan = site.build()
        assert not plan.pages
        assert not plan.terms
        assert not plan.changes


class TestCascade:
    def test_cascade_change_rebuilds_the_subtree(self, site: Site) -> None:
        """Changing a cascaded value rebuilds every page below the section, via the reverse map."""
        site.page("docs/_index.md", title="Docs", cascade={"layout": "doc", "banner": "b2"})
        plan = site.build()
        assert site.rel(plan.pages) == {
            "docs/_index.md",
            "docs/intro.md",
            "docs/usage.md",
            "docs/api/_index.md",
            "docs/api/ref.md",
        }
        why = plan.why(site.root / "docs/api/ref.md")
        assert why[0] == "cascade changed in docs/_index.md (banner)"
        assert why[1] == "docs/_index.md: source modified"

    def test_body_only_edit_of_an_index_page_stays_local(self, site: Site) -> None:
        """Editing an index page's body, cascade untouched, rebuilds only that page."""
        site.page(
            "docs/_index.md",
            "new intro text",
            title="Docs",
            cascade={"layout": "doc", "banner": "b1"},
        )
        plan = site.build()
        assert site.rel(plan.pages) == {"docs/_index.md"}

    def test_nested_cascade_overrides_the_outer_one(self, site: Site) -> None:
        """A key a nested section overrides does not reach into it; other keys still do."""
        site.page("docs/_index.md", title="Docs", cascade={"layout": "doc2", "banner": "b1"})
        plan = site.build()
        assert "docs/api/ref.md" not in site.rel(plan.pages)  # docs/api overrides layout
        assert "docs/api/_index.md" in site.rel(plan.pages)  # the index itself inherits it
        assert "docs/intro.md" in site.rel(plan.pages)

    def test_root_level_index_cascades_to_the_whole_site(self, site: Site) -> None:
        """The root ``_index.md`` cascade reaches every page of the site."""
        site.page("_index.md", title="Home", cascade={"footer": "new"})
        plan = site.build()
        assert len(plan.pages) == 8

    def test_cascade_on_a_leaf_page_reaches_nothing(self, site: Site) -> None:
        """A ``cascade`` key on a regular page has no descendants to reach."""
        site.page("about.md", title="About", cascade={"layout": "x"})
        assert site.rel(site.build().pages) == {"about.md"}

    def test_removing_an_index_page_uncascades_its_section(self, site: Site) -> None:
        """Deleting ``_index.md`` removes its cascade from every page below."""
        (site.root / "docs/api/_index.md").unlink()
        plan = site.build()
        assert "docs/api/ref.md" in site.rel(plan.pages)
        assert site.rel(plan.removed_pages) == {"docs/api/_index.md"}

    def test_adding_an_index_page_with_a_cascade(self, site: Site) -> None:
        """A new ``_index.md`` with a cascade rebuilds the section's pages."""
        site.page("blog/_index.md", title="Blog", cascade={"layout": "blog"})
        assert site.rel(site.build().pages) >= {"blog/_index.md", "blog/post.md"}


class TestTaxonomy:
    def test_gaining_and_losing_tags(self, site: Site) -> None:
        """A page moving from tag x to tag z affects both terms, not unrelated y."""
        site.page("docs/intro.md", title="Intro", tags=["z"], weight=1)
        plan = site.build()
        assert plan.terms == {"x", "z"}
        assert "z" in plan.terms
        assert plan.removed_terms == frozenset()

    def test_emptied_tag_is_removed(self, site: Site) -> None:
        """When the last member leaves a tag, its term page is to be removed."""
        site.page("blog/post.md", title="Post")
        site.page("docs/usage.md", title="Usage", tags=["x"], weight=2)
        plan = site.build()
        assert plan.removed_terms == {"y"}
        assert "y" not in plan.terms

    def test_retitling_a_member_updates_its_terms(self, site: Site) -> None:
        """A member's new title shows in its term pages, so they are rebuilt."""
        site.page("docs/usage.md", title="Usage 2", tags=["x", "y"], weight=2)
        assert site.build().terms == {"x", "y"}

    def test_body_edit_does_not_touch_terms(self, site: Site) -> None:
        """A body edit with the same front matter leaves the term pages alone."""
        site.page("docs/usage.md", "different body", title="Usage", tags=["x", "y"], weight=2)
        assert site.build().terms == frozenset()

    def test_cascaded_tag_is_a_live_term(self, site: Site) -> None:
        """Tags a root cascade gives every untagged page are rendered, not removed."""
        site.page("_index.md", title="Home", cascade={"tags": ["c"]})
        plan = site.build()
        assert "c" in plan.terms
        assert "c" not in plan.removed_terms

    def test_dropping_own_tags_joins_the_cascaded_term(self, site: Site) -> None:
        """A page that stops naming tags inherits the cascade's: both terms change."""
        site.page("docs/_index.md", title="Docs", cascade={"layout": "doc", "tags": ["d"]})
        site.build()
        site.page("docs/intro.md", title="Intro", weight=1)  # no tags key: inherits d
        plan = site.build()
        assert plan.terms == {"x", "d"}
        assert site.engine is not None
        assert site.rel(
            frozenset(p.source_path for p in site.engine.registry.pages_with_tag("d"))
        ) == {
            "docs/intro.md",
            "docs/api/ref.md",
            "docs/api/_index.md",
        }

    def test_deleted_member_updates_its_terms(self, site: Site) -> None:
        """Deleting a tagged page rebuilds or removes its terms."""
        (site.root / "blog/post.md").unlink()
        plan = site.build()
        assert plan.terms == {"y"}
        assert site.rel(plan.removed_pages) == {"blog/post.md"}


class TestSections:
    def test_new_page_rebuilds_its_section_listing(self, site: Site) -> None:
        """An added page appears in its section's list: the section index is rebuilt."""
        site.page("docs/new.md", title="New")
        plan = site.build()
        assert site.rel(plan.pages) == {"docs/new.md", "docs/_index.md"}
        assert site.rel(plan.sections) == {"docs"}

    def test_new_section_without_index_shows_in_the_parent_listing(self, site: Site) -> None:
        """A page in a new directory with no ``_index.md`` adds a section to the home listing."""
        site.page("news/item.md", title="Item")
        plan = site.build()
        assert site.rel(plan.pages) == {"news/item.md", "_index.md"}
        assert site.rel(plan.sections) == {"news", "."}

    def test_new_nested_directories_reach_the_first_existing_ancestor(self, site: Site) -> None:
        """New ``docs/a/b/p.md``: b shows in a, a shows in docs; docs' parent is unaffected."""
        site.page("docs/a/b/p.md", title="P")
        plan = site.build()
        assert site.rel(plan.sections) == {"docs/a/b", "docs/a", "docs"}
        assert site.rel(plan.pages) == {"docs/a/b/p.md", "docs/_index.md"}

    def test_vanished_section_leaves_the_parent_listing(self, site: Site) -> None:
        """Deleting the last page of an index-less section rebuilds the home listing."""
        (site.root / "blog/post.md").unlink()
        (site.root / "blog").rmdir()
        plan = site.build()
        assert "_index.md" in site.rel(plan.pages)
        assert "." in site.rel(plan.sections)

    def test_refilled_directory_shows_in_the_parent_listing_again(self, site: Site) -> None:
        """A directory left empty on disk is no section; its next page makes it one again."""
        (site.root / "blog/post.md").unlink()
        assert "_index.md" in site.rel(site.build().pages)
        assert (site.root / "blog").is_dir()
        site.page("blog/again.md", title="Again")
        plan = site.build()
        assert "_index.md" in site.rel(plan.pages)
        assert "." in site.rel(plan.sections)

    def test_new_page_in_an_existing_section_leaves_the_parent_alone(self, site: Site) -> None:
        """A section that already existed does not change its parent's listing by growing."""
        site.page("docs/api/more.md", title="More")
        plan = site.build()
        assert site.rel(plan.sections) == {"docs/api"}
        assert "docs/_index.md" not in site.rel(plan.pages)

    def test_retitled_section_index_rebuilds_the_parent_listing(self, site: Site) -> None:
        """A section's new title shows in its parent's listing."""
        site.page("docs/api/_index.md", title="API v2", cascade={"layout": "api"})
        plan = site.build()
        assert {"docs/api/_index.md", "docs/_index.md"} <= site.rel(plan.pages)


class TestDependencies:
    def test_template_edit_rebuilds_exactly_its_users(self, site: Site) -> None:
        """Pages that read a template are rebuilt when it changes; others are not."""
        base = site.template("base.html")
        special = site.template("special.html")
        settle_past_racy_window(site)
        site.build(
            record={
                "docs/intro.md": [base],
                "docs/usage.md": [base, special],
                "blog/post.md": [special],
            }
        )
        special.write_text("<html lang=en>")
        plan = site.build()
        assert site.rel(plan.pages) == {"docs/usage.md", "blog/post.md"}
        assert plan.reasons[site.root / "blog/post.md"][0].kind is ReasonKind.DEPENDENCY

    def test_fresh_template_is_not_trusted_until_settled(self, site: Site) -> None:
        """A template written during the build is not fingerprinted: its users rebuild next time."""
        base = site.template("base.html")
        site.build(record={"docs/intro.md": [base]})
        plan = site.build()
        assert site.rel(plan.pages) == {"docs/intro.md"}
        assert plan.changes.added == {base}

    def test_a_fresh_input_is_fingerprinted_by_the_plan(self, tmp_path: Path) -> None:
        """A template named in ``inputs`` is digested before the build: no rebuild for its age.

        Without ``inputs`` (above), a template written just before the first plan is
        recorded only after a later build, so its readers are rebuilt once more: on Bengal's
        own docs site, 247 pages, or not, as the first build took more than 2 s or less.
        """
        base = tmp_path / "templates" / "base.html"
        site = Site(tmp_path, inputs=[base])
        site.page("docs/intro.md", title="Intro")
        site.page("about.md", title="About")
        site.template("base.html")
        site.build(record={"docs/intro.md": [base]})
        plan = site.build()
        assert plan.pages == frozenset()
        base.write_text("<html lang=en>")
        plan = site.build()
        assert site.rel(plan.pages) == {"docs/intro.md"}
        assert plan.reasons[site.root / "docs/intro.md"][0].kind is ReasonKind.DEPENDENCY

    def test_an_input_rewritten_during_the_build_is_found(self, tmp_path: Path) -> None:
        """The plan's digest is of the bytes before the build: a rewrite after the plan shows."""
        base = tmp_path / "templates" / "base.html"
        site = Site(tmp_path, inputs=[base])
        site.page("docs/intro.md", title="Intro")
        site.template("base.html")
        site.engine = open_engine(site.root, state_dir=site.state_dir, inputs=[base])
        plan = site.engine.plan()
        before = base.stat()
        base.write_text("<htm/>")  # the same size, and the same mtime below
        os.utime(base, ns=(before.st_atime_ns, before.st_mtime_ns))
        site.engine.record_dependencies(site.root / "docs/intro.md", [base])
        site.engine.commit(plan)
        assert site.rel(site.build().pages) == {"docs/intro.md"}

    def test_an_input_no_page_read_plans_nothing(self, tmp_path: Path) -> None:
        """Unlike a global input, a changed input reaches only the pages that recorded it."""
        data = tmp_path / "templates" / "unused.html"
        site = Site(tmp_path, inputs=[data])
        site.page("a.md", title="A")
        site.template("unused.html")
        site.build()
        data.write_text("changed")
        plan = site.build()
        assert plan.pages == frozenset()
        assert plan.changes.modified == {data}

    def test_recorded_dependencies_replace_earlier_ones(self, site: Site) -> None:
        """A page that stops reading a template is no longer rebuilt by its edits."""
        base = site.template("base.html")
        settle_past_racy_window(site)
        site.build(record={"about.md": [base]})
        site.page("about.md", "edited", title="About")
        site.build(record={"about.md": []})
        base.write_text("<html>2")
        assert site.build().pages == frozenset()

    def test_deleting_a_linked_page_rebuilds_the_linkers(self, site: Site) -> None:
        """Pages linking to a deleted page are rebuilt (their link is now broken)."""
        site.build(record={"about.md": [site.root / "blog/post.md"]})
        (site.root / "blog/post.md").unlink()
        plan = site.build()
        assert "about.md" in site.rel(plan.pages)
        assert plan.reasons[site.root / "about.md"][0].kind is ReasonKind.LINK

    def test_retitling_a_linked_page_rebuilds_the_linkers(self, site: Site) -> None:
        """A link shows its target's title, so retitling the target rebuilds the linker."""
        site.build(record={"about.md": [site.root / "blog/post.md"]})
        site.page("blog/post.md", title="Post renamed", tags=["y"])
        assert "about.md" in site.rel(site.build().pages)

    def test_body_edit_of_a_linked_page_leaves_linkers_alone(self, site: Site) -> None:
        """Only the target's title and existence matter to a link."""
        site.build(record={"about.md": [site.root / "blog/post.md"]})
        site.page("blog/post.md", "new body", title="Post", tags=["y"])
        assert site.rel(site.build().pages) == {"blog/post.md"}

    def test_global_input_rebuilds_everything(self, tmp_path: Path) -> None:
        """A change to a global input (the config) marks every page with that reason."""
        config = tmp_path / "config.toml"
        config.write_text("title = 'a'")
        site = Site(tmp_path, global_inputs=[config])
        site.page("a.md", title="A")
        site.page("s/b.md", title="B", tags=["t"])
        site.build()
        config.write_text("title = 'b'")
        plan = site.build()
        assert site.rel(plan.pages) == {"a.md", "s/b.md"}
        assert plan.terms == {"t"}
        assert plan.why(site.root / "a.md")[0].startswith("global input")

    def test_a_cold_plan_names_every_term_without_the_tag_maps(self, tmp_path: Path) -> None:
        """A first plan names every term, cascaded ones too, and builds no term's page list."""
        site = Site(tmp_path)
        site.page("a.md", title="A", tags=["x"])
        site.page("s/_index.md", title="S", cascade={"tags": ["c"]})
        site.page("s/b.md", title="B")
        plan = site.build()
        assert plan.full
        assert plan.terms == {"x", "c"}
        assert plan.removed_terms == frozenset()
        assert site.engine is not None
        assert site.engine.registry.stats.tag_index_builds == 0

    def test_full_rebuild_still_names_what_went(self, tmp_path: Path) -> None:
        """Rebuilding everything, the plan still lists emptied tags and vanished sections."""
        config = tmp_path / "config.toml"
        config.write_text("title = 'a'")
        site = Site(tmp_path, global_inputs=[config])
        site.page("a.md", title="A", tags=["solo"])
        site.page("b.md", title="B", tags=["kept", "dropped"])
        site.page("blog/deep/p.md", title="P")
        site.build()
        config.write_text("title = 'b'")
        (site.root / "a.md").unlink()
        site.page("b.md", title="B", tags=["kept"])
        (site.root / "blog/deep/p.md").unlink()
        plan = site.build()
        assert plan.full
        assert plan.removed_terms == {"solo", "dropped"}
        assert plan.terms == {"kept"}
        assert {"blog/deep", "blog"} <= site.rel(plan.sections)


class TestNavigation:
    @pytest.fixture
    def nav(self, tmp_path: Path) -> Site:
        site = Site(tmp_path, navigation=True)
        for weight in (1, 2, 3, 4, 5):
            site.page(f"s/p{weight}.md", title=f"P{weight}", weight=weight)
        site.build()
        return site

    def test_added_page_rebuilds_its_neighbours(self, nav: Site) -> None:
        """A page inserted between two others changes their prev/next links."""
        nav.page("s/p25.md", title="P2.5", weight=2.5)
        assert nav.rel(nav.build().pages) == {"s/p25.md", "s/p2.md", "s/p3.md"}

    def test_removed_page_rebuilds_its_old_neighbours(self, nav: Site) -> None:
        """Removing a page links its old neighbours to each other."""
        (nav.root / "s/p3.md").unlink()
        plan = nav.build()
        assert nav.rel(plan.pages) == {"s/p2.md", "s/p4.md"}

    def test_reordered_page_rebuilds_old_and_new_neighbours(self, nav: Site) -> None:
        """Moving a page in the order updates the neighbours it left and the ones it joined."""
        nav.page("s/p1.md", title="P1", weight=4.5)
        assert nav.rel(nav.build().pages) == {"s/p1.md", "s/p2.md", "s/p4.md", "s/p5.md"}

    def test_retitled_page_rebuilds_neighbours_showing_its_title(self, nav: Site) -> None:
        """Neighbours show a page's title in their links."""
        nav.page("s/p3.md", title="Three", weight=3)
        assert nav.rel(nav.build().pages) == {"s/p2.md", "s/p3.md", "s/p4.md"}

    def test_navigation_is_opt_in(self, site: Site) -> None:
        """Without ``navigation=True`` neighbours are not rebuilt."""
        site.page("docs/intro.md", title="Intro", tags=["x"], weight=9)
        assert site.rel(site.build().pages) == {"docs/intro.md", "docs/_index.md"}


class TestRemovedOutputs:
    def test_removed_page_lists_its_recorded_outputs(self, site: Site) -> None:
        """Outputs recorded for a page are listed for deletion when its source goes."""
        assert site.engine is not None
        plan = site.engine.plan()
        site.engine.record_outputs(site.root / "about.md", ["about/index.html"])
        site.engine.commit(plan)
        (site.root / "about.md").unlink()
        assert site.build().removed_outputs == {"about/index.html"}


class TestReasonDescribe:
    @given(
        kind=st.sampled_from(list(ReasonKind)),
        parts=st.lists(
            st.one_of(
                st.sampled_from(["sign in.html", " in ", "log in", "in", "a (b)", "of"]),
                st.text(
                    st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
                    min_size=1,
                ).filter(lambda s: s not in {".", ".."}),
            ),
            min_size=1,
            max_size=3,
        ),
        detail=st.text(max_size=10),
    )
    def test_source_survives_whatever_its_words(
        self, kind: ReasonKind, parts: list[str], detail: str
    ) -> None:
        """Every kind shows its source verbatim, relative to the root (" in " included)."""
        root = Path("/site/content")
        rel = "/".join(parts)
        text = Reason(kind, root / rel, detail).describe(root)
        assert rel in text
        if detail:
            assert text.endswith(f"({detail})")

    def test_path_with_in_is_not_mangled(self) -> None:
        """The issue's example: ``templates/sign in.html`` stays whole."""
        root = Path("/site")
        reason = Reason(ReasonKind.DEPENDENCY, root / "templates/sign in.html")
        assert reason.describe(root) == "depends on templates/sign in.html which changed"
        link = Reason(ReasonKind.LINK, root / "log in.md")
        assert link.describe(root) == "links to log in.md whose title or existence changed"

    def test_one_format_per_kind(self) -> None:
        """Each kind reads differently, with and without a source."""
        root = Path("/r")
        with_source = {Reason(k, root / "p.md").describe(root) for k in ReasonKind}
        without = {Reason(k).describe() for k in ReasonKind}
        assert len(with_source) == len(without) == len(ReasonKind)
