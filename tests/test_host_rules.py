"""A host's own planning rules, written outside the package against the public API only.

Nothing here imports a private module: this is what a host adapter (Bengal,
MkDocs, anyone's) can do.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml

from incrbuild import Engine, PageChange, Plan, PlanBuilder, Reason, ReasonKind, Rule, RuleContext
from incrbuild.adapters.files import open_engine

AUTHORS_PAGE = "authors.md"


@attrs.frozen
class AuthorsAndSearchRule:
    """A host theme: an "authors" page lists each page's author, a search index every page."""

    seen: list[RuleContext] = attrs.field(factory=list, eq=False)

    def apply(self, context: RuleContext, out: PlanBuilder) -> None:
        self.seen.append(context)
        if context.full:
            out.output("search-index", Reason(ReasonKind.FULL))
            return
        authors = context.root / AUTHORS_PAGE
        for change in context.page_changes:
            out.output("search-index", Reason(ReasonKind.SHOWS, change.path, "search entry"))
            if change.path != authors and (
                change.added or change.removed or "author" in change.changed_keys
            ):
                out.page(authors, Reason(ReasonKind.SHOWS, change.path, "author"))


def write(root: Path, rel: str, body: str = "", **front: Any) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    text = f"---\n{yaml.safe_dump(front, sort_keys=True)}---\n{body}\n" if front else body
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    write(root, "_index.md", title="Home")
    write(root, AUTHORS_PAGE, title="Authors")
    write(root, "blog/one.md", "one", title="One", author="ann", tags=["x"])
    write(root, "blog/two.md", "two", title="Two", author="bob")
    return root


def engine_with(content: Path, *rules: Rule) -> Engine:
    engine = open_engine(content, state_dir=content.parent / "state", rules=rules)
    engine.commit(engine.plan())
    return engine


def rel(plan: Plan, root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in plan.pages}


class TestHostRule:
    def test_rule_adds_a_page_and_an_output_with_reasons(self, content: Path) -> None:
        """A host rule plans a page and a named output; ``why`` explains both."""
        engine = engine_with(content, AuthorsAndSearchRule())
        write(content, "blog/one.md", "one", title="One", author="cyd", tags=["x"])
        plan = engine.plan()
        assert rel(plan, content) == {"blog/one.md", AUTHORS_PAGE}
        assert plan.outputs == frozenset({"search-index"})
        assert plan.why(content / AUTHORS_PAGE) == (
            "shows something of blog/one.md, which changed (author)",
            "blog/one.md: source modified",
        )
        assert plan.why("search-index") == (
            "shows something of blog/one.md, which changed (search entry)",
            "blog/one.md: source modified",
        )
        assert plan.output_reasons["search-index"] == (
            Reason(ReasonKind.SHOWS, content / "blog/one.md", "search entry"),
        )

    def test_unrelated_key_edit_leaves_the_aggregate_alone(self, content: Path) -> None:
        """A body edit changes no front matter key: the search index only."""
        engine = engine_with(content, AuthorsAndSearchRule())
        write(content, "blog/two.md", "new body", title="Two", author="bob")
        plan = engine.plan()
        assert rel(plan, content) == {"blog/two.md"}
        assert plan.outputs == frozenset({"search-index"})

    def test_added_and_removed_pages_reach_the_rule(self, content: Path) -> None:
        """``PageChange.added`` / ``removed`` tell a new page from a deleted one."""
        rule = AuthorsAndSearchRule()
        engine = engine_with(content, rule)
        write(content, "blog/three.md", "three", title="Three", author="dee")
        (content / "blog/two.md").unlink()
        plan = engine.plan()
        changes = {c.path.name: c for c in rule.seen[-1].page_changes}
        assert changes["three.md"].added
        assert not changes["three.md"].removed
        assert changes["two.md"].removed
        assert not changes["two.md"].added
        assert changes["two.md"].old is not None
        assert changes["two.md"].old["author"] == "bob"
        assert changes["three.md"].changed_keys == frozenset({"title", "author"})
        assert AUTHORS_PAGE in rel(plan, content)
        assert plan.removed_pages == frozenset({content / "blog/two.md"})

    def test_full_rebuild_is_visible_to_the_rule(self, content: Path) -> None:
        """The first plan is full: the rule sees ``context.full`` and plans its output."""
        rule = AuthorsAndSearchRule()
        engine = open_engine(content, state_dir=content.parent / "state", rules=[rule])
        plan = engine.plan()
        assert rule.seen[-1].full
        assert plan.full
        assert plan.outputs == frozenset({"search-index"})
        assert plan.why("search-index") == ("no usable state: full build",)

    def test_no_op_plans_nothing(self, content: Path) -> None:
        """No change, no page changes: a rule costs nothing and adds nothing."""
        rule = AuthorsAndSearchRule()
        engine = engine_with(content, rule)
        plan = engine.plan()
        assert not plan.pages
        assert not plan.outputs
        assert rule.seen[-1].page_changes == ()


@attrs.frozen
class SeesEarlierRules:
    """A rule that reads what the built-in and earlier rules planned."""

    found: dict[str, Any] = attrs.field(factory=dict, eq=False)

    def apply(self, context: RuleContext, out: PlanBuilder) -> None:
        self.found["pages"] = dict(out.pages)
        self.found["terms"] = dict(out.terms)
        self.found["sections"] = dict(out.sections)
        self.found["outputs"] = dict(out.outputs)
        self.found["context"] = context


class TestRuleContext:
    def test_later_rules_see_what_earlier_ones_planned(self, content: Path) -> None:
        """Built-in rules run first, then host rules in order, over one builder."""
        first, second = AuthorsAndSearchRule(), SeesEarlierRules()
        engine = engine_with(content, first, second)
        write(content, "blog/one.md", "one", title="One!", author="ann", tags=["x"])
        engine.plan()
        pages = second.found["pages"]
        assert content / "blog/one.md" in pages  # built-in: own source
        assert content / AUTHORS_PAGE not in pages  # no author change
        assert "x" in second.found["terms"]  # built-in: the retitled member's tag
        assert content / "blog" in second.found["sections"]  # built-in: listing
        assert "search-index" in second.found["outputs"]  # the earlier host rule

    def test_builder_views_are_read_only(self, content: Path) -> None:
        """A rule adds through the builder's methods, never by mutating its views."""
        out_pages = None

        @attrs.frozen
        class Mutator:
            def apply(self, context: RuleContext, out: PlanBuilder) -> None:
                nonlocal out_pages
                out_pages = out.pages

        engine = engine_with(content, Mutator())
        write(content, "blog/one.md", "changed", title="One", author="ann", tags=["x"])
        engine.plan()
        assert out_pages is not None
        with pytest.raises(TypeError):
            out_pages[content / "x.md"] = ()  # type: ignore[index]

    def test_context_reads_the_last_build(self, content: Path) -> None:
        """Stored front matter, directories seen, recorded dependents, key/path conversion."""
        rule = SeesEarlierRules()
        engine = open_engine(content, state_dir=content.parent / "state", rules=[rule])
        plan = engine.plan()
        template = content.parent / "page.html"
        template.write_text("<html>")
        engine.record_dependencies(content / "blog/one.md", [template])
        engine.commit(plan)
        write(content, "blog/one.md", "one", title="One", author="eve", tags=["x"])
        engine.plan()
        context: RuleContext = rule.found["context"]
        assert context.root == content
        assert context.previous_metadata(content / "blog/one.md") == {
            "title": "One",
            "author": "ann",
            "tags": ["x"],
        }
        assert context.previous_metadata(content / "nowhere.md") is None
        assert context.existed_before(content / "blog")
        assert not context.existed_before(content / "news")
        assert context.dependents(template) == frozenset({content / "blog/one.md"})
        assert context.path_for(context.key_for(content / "blog/two.md")) == content / "blog/two.md"
        (change,) = context.page_changes
        assert isinstance(change, PageChange)
        assert change.changed_keys == frozenset({"author"})

    def test_rules_run_inside_the_timed_planning_phase(self, content: Path) -> None:
        """A host rule's time counts in ``stats.planning_ns`` (a lower bound, not a speed test)."""

        @attrs.frozen
        class Slow:
            def apply(self, context: RuleContext, out: PlanBuilder) -> None:
                time.sleep(0.02)

        engine = engine_with(content, Slow())
        plan = engine.plan()
        assert plan.stats.planning_ns >= 20_000_000
        assert plan.stats.total_ns >= plan.stats.planning_ns

    def test_section_plans_the_index_page(self, content: Path) -> None:
        """``out.section`` plans the listing and the section's index page, with the reason."""
        write(content, "docs/_index.md", title="Docs")
        write(content, "docs/a.md", title="A")

        @attrs.frozen
        class Listing:
            def apply(self, context: RuleContext, out: PlanBuilder) -> None:
                for change in context.page_changes:
                    if "colour" in change.changed_keys:
                        out.section(context.root / "docs", Reason(ReasonKind.SHOWS, change.path))

        engine = engine_with(content, Listing())
        write(content, "docs/a.md", title="A", colour="red")
        plan = engine.plan()
        assert content / "docs" in plan.sections
        assert plan.why(content / "docs/_index.md")[0] == (
            "shows something of docs/a.md, which changed"
        )


def documented_theme_rule() -> type:
    """The example rule of docs/architecture.md, executed as written."""
    text = (Path(__file__).parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = text.split("```python\n", 1)[1].split("```", 1)[0]
    definitions = block.split("\ncontent = ", 1)[0]  # the rule, not the driving lines
    namespace: dict[str, Any] = {}
    exec(compile(definitions, "architecture.md", "exec"), namespace)
    rule: type = namespace["ThemeRule"]
    return rule


class TestDocumentedRule:
    def test_the_architecture_example_does_what_it_says(self, tmp_path: Path) -> None:
        """Retitling a post plans it, the home page and the feed; the sitemap stays."""
        root = tmp_path / "content"
        write(root, "_index.md", title="Home")
        write(root, "posts/a.md", "a", title="A", date="2024-01-01")
        write(root, "about.md", "about", title="About")
        engine = engine_with(root, documented_theme_rule()())
        write(root, "posts/a.md", "a", title="A, retitled", date="2024-01-01")
        plan = engine.plan()
        assert rel(plan, root) >= {"posts/a.md", "_index.md"}
        assert plan.outputs == frozenset({"feed"})
        assert plan.why("feed") == (
            "shows something of posts/a.md, which changed (feed entry)",
            "posts/a.md: source modified",
        )
        engine.commit(plan)
        write(root, "about.md", "about, longer", title="About")
        assert engine_plan_outputs(engine) == frozenset()
        write(root, "posts/b.md", "b", title="B", date="2024-02-01")
        assert engine_plan_outputs(engine) == frozenset({"feed", "sitemap"})


def engine_plan_outputs(engine: Engine) -> frozenset[str]:
    plan = engine.plan()
    engine.commit(plan)
    return plan.outputs
