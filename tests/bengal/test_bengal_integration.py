"""incrbuild on a real Bengal project: every edit kind, checked against full builds.

Needs Bengal (Python >= 3.14): ``nox -s bengal`` installs it and runs this
directory.  The default run (Python 3.11, no Bengal) skips it.

One module-scoped scenario creates a project with ``bengal new site`` plus
generated pages (a docs tree with cascades and a generated archive page,
tagged pages in several sections), builds it, then applies each kind of edit
in turn.  For each edit it records our plan, Bengal's own incremental decision,
Bengal's decision when handed our changed sources, and the truth: the HTML
files that differ between full builds before and after the edit.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import attrs
import pytest

if os.environ.get("INCRBUILD_REQUIRE_BENGAL"):
    import bengal  # noqa: F401  (nox -s bengal: a missing Bengal is an error, not a skip)
else:
    pytest.importorskip("bengal")

from incrbuild.adapters.bengal import (
    BengalPlan,
    BengalProject,
    BengalSite,
    compare,
    discovery_order_key,
    load_site,
)
from tests.bengal import oracle, sitegen

EDITS = sitegen.EDITS


@attrs.frozen
class Outcome:
    """What one edit did: our plan, the truth, and Bengal's own decisions."""

    plan: BengalPlan
    changed: frozenset[str]
    missed: tuple[str, ...]
    bengal: dict[str, Any]
    with_ours: dict[str, Any]
    handed: frozenset[Path]


def _copy(source: Path, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)


@pytest.fixture(scope="module")
def project_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh ``bengal new site`` project with generated sections, tags and cascades."""
    root = sitegen.new_project(tmp_path_factory.mktemp("bengal"))
    sitegen.add_content(root, pages=30, sections=3, tags=6)
    return root


@pytest.fixture(scope="module")
def scenario(project_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Apply every edit kind in turn; per edit, plan, build three ways and compare."""
    root = project_root
    scratch = tmp_path_factory.mktemp("builds")
    first = oracle.build(root, "full")
    assert first["errors"] == 0
    _copy(root / "public", scratch / "truth")
    outputs = first["outputs"]
    project = BengalProject(root, state_dir=scratch / "state")
    project.engine.commit(project.plan().plan)
    outcomes = {}
    for name in EDITS:
        time.sleep(1.1)  # Bengal's own change detection gets a fresh second, as in real use
        _copy(root / "public", scratch / "pre-public")
        _copy(root / ".bengal", scratch / "pre-bengal")
        sitegen.apply_edit(name, root / "content")
        plan = project.plan()
        bengal = oracle.build(root, "incremental")
        _copy(scratch / "pre-public", root / "public")
        _copy(scratch / "pre-bengal", root / ".bengal")
        handed = plan.changed_sources()
        with_ours = oracle.build(root, "incremental", handed)
        after = oracle.build(root, "full")
        assert after["errors"] == 0
        changed = oracle.changed_html(scratch / "truth", root / "public")
        writers = {**outputs, **after["outputs"]}
        missed = oracle.uncovered(plan, changed, writers)
        outcomes[name] = Outcome(plan, frozenset(changed), tuple(missed), bengal, with_ours, handed)
        project.engine.commit(plan.plan)
        _copy(root / "public", scratch / "truth")
        outputs = after["outputs"]
    _print_table(outcomes)
    return outcomes


def _print_table(outcomes: dict[str, Outcome]) -> None:
    print("\n| edit | HTML changed | our pages | our decision | Bengal pages | Bengal filter |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, outcome in outcomes.items():
        decided = outcome.bengal["decision"] or []
        print(
            f"| {name} | {len(outcome.changed)} | {len(outcome.plan.pages)} "
            f"| {outcome.plan.decision_ns / 1e6:.2f} ms | {len(decided)} "
            f"| {outcome.bengal['filter_ms']} ms |"
        )


class TestSoundness:
    """Every page whose HTML differs between full builds before and after an edit is planned."""

    @pytest.mark.parametrize("edit", EDITS)
    def test_every_changed_output_is_planned(self, scenario: dict[str, Outcome], edit: str) -> None:
        """No changed HTML file falls outside the plan's pages, terms, sections and flags."""
        assert scenario[edit].missed == ()

    @pytest.mark.parametrize("edit", EDITS)
    def test_the_edit_changes_html(self, scenario: dict[str, Outcome], edit: str) -> None:
        """Each edit changes some HTML, so the soundness check above is not vacuous."""
        assert scenario[edit].changed

    def test_plans_are_not_full_rebuilds(self, scenario: dict[str, Outcome]) -> None:
        """No edit here touches the site menu, so no plan rebuilds every page."""
        site_pages = scenario["body"].plan.plan.stats.site_pages
        for outcome in scenario.values():
            assert not outcome.plan.plan.full
            assert len(outcome.plan.pages) < site_pages


class TestHandOff:
    """Bengal accepts the changed sources we hand it."""

    @pytest.mark.parametrize("edit", EDITS)
    def test_bengal_builds_what_we_hand_it(self, scenario: dict[str, Outcome], edit: str) -> None:
        """Bengal's decision, given our changed sources, includes every one of them."""
        outcome = scenario[edit]
        decided = {Path(p) for p in outcome.with_ours["decision"] or ()}
        assert outcome.handed <= decided

    def test_hand_off_is_every_existing_planned_source(
        self, scenario: dict[str, Outcome], project_root: Path
    ) -> None:
        """What we hand over are exactly the planned pages that exist under ``content/``."""
        plan = scenario["add"].plan
        content = project_root / "content"
        expected = {p for p in plan.pages if content in p.parents and p.is_file()}
        assert plan.changed_sources() == expected
        assert content / "area-2" / "newcomer.md" in expected


class TestComparison:
    """Our decision beside Bengal's own, for the same edit."""

    @pytest.mark.parametrize("edit", EDITS)
    def test_we_decide_faster_than_bengal_filters(
        self, scenario: dict[str, Outcome], edit: str
    ) -> None:
        """Our plan (detection, planning, theme rules) takes less than Bengal's filter phase."""
        outcome = scenario[edit]
        bengal_ms = outcome.bengal["filter_ms"]
        if bengal_ms is None:
            pytest.skip("Bengal skipped the build: it saw no change")
        assert outcome.plan.decision_ns / 1e6 < bengal_ms

    def test_compare_reads_bengal_stats(self, scenario: dict[str, Outcome]) -> None:
        """compare() splits pages into ours only, Bengal's only and both, from build stats."""
        outcome = scenario["front matter"]

        @attrs.frozen
        class Page:
            source_path: Path
            metadata: dict[str, Any] = attrs.Factory(dict)

        @attrs.frozen
        class Decision:
            pages_to_build: list[Page]

        @attrs.frozen
        class Stats:
            incremental_decision: Decision
            phase_timings_ms: dict[str, float]

        decided = [Page(Path(p)) for p in outcome.bengal["decision"] or ()]
        stats = Stats(Decision(decided), {"Config/filter": outcome.bengal["filter_ms"]})
        comparison = compare(outcome.plan, stats)
        assert comparison.bengal == {p.source_path for p in decided}
        assert comparison.only_ours | (comparison.ours & comparison.bengal) == comparison.ours
        assert "Bengal:" in comparison.describe()


@pytest.fixture(scope="module")
def site(project_root: Path) -> BengalSite:
    """The project discovered by Bengal (no build)."""
    return load_site(project_root)


class TestRealBengalSite:
    """BengalSite over a real, discovered Bengal site."""

    def test_pages_and_sections_are_bengals_own(self, site: BengalSite) -> None:
        """The wrapper hands out Bengal's own sequences, not copies."""
        assert site.pages is site.bengal.pages
        assert site.sections is site.bengal.sections
        assert site.page_by_source_path is site.bengal.page_by_source_path

    def test_root_is_the_content_directory(self, site: BengalSite, project_root: Path) -> None:
        """root_path is content/, where every page source lives."""
        assert site.root_path == project_root / "content"
        assert all(site.root_path in page.source_path.parents for page in site.pages)

    def test_discovery_order_key_matches_bengal(self, site: BengalSite) -> None:
        """Bengal's page order after discovery is the order discovery_order_key gives."""
        paths = [page.source_path for page in site.pages]
        assert paths == sorted(paths, key=lambda p: discovery_order_key(p, site.root_path))

    def test_registry_borrows_bengals_index(self, project_root: Path, tmp_path: Path) -> None:
        """The engine's registry uses Bengal's page_by_source_path instead of building one."""
        project = BengalProject(project_root, state_dir=tmp_path / "state")
        project.plan(rediscover=False)
        stats = project.engine.registry.stats
        assert (stats.page_index_borrowed, stats.page_index_builds) == (1, 0)


class TestProject:
    """BengalProject: plan, build, explain."""

    def test_unchanged_project_plans_nothing(self, project_root: Path, tmp_path: Path) -> None:
        """After a commit, a plan of the unchanged project is empty."""
        project = BengalProject(project_root, state_dir=tmp_path / "state")
        project.engine.commit(project.plan().plan)
        again = project.plan()
        assert not again.pages
        assert not again.site_wide

    def test_global_inputs_force_a_full_plan(self, project_root: Path, tmp_path: Path) -> None:
        """A configuration change plans a full rebuild."""
        project = BengalProject(project_root, state_dir=tmp_path / "state")
        project.engine.commit(project.plan().plan)
        config = project_root / "config" / "_default" / "site.yaml"
        original = config.read_text(encoding="utf-8")
        try:
            config.write_text(original + "\n# touched\n", encoding="utf-8")
            plan = project.plan()
        finally:
            config.write_text(original, encoding="utf-8")
        assert plan.plan.full
        assert plan.site_wide


class TestBuild:
    """BengalProject.build: Bengal in this process, handed our sources, then a commit."""

    def test_build_hands_over_and_commits(self, tmp_path: Path) -> None:
        """Bengal renders exactly what we hand it; after the build, nothing is left to plan."""
        root = sitegen.new_project(tmp_path)
        sitegen.add_content(root, pages=20)
        project = BengalProject(root, state_dir=tmp_path / "state")
        first = project.build(project.plan())  # the one full build this process may run
        assert not first.template_errors
        time.sleep(1.1)
        sitegen.apply_edit("front matter", root / "content")
        plan = project.plan()
        assert plan.changed_sources()
        stats = project.build(plan)
        comparison = project.explain(plan, stats)
        assert plan.changed_sources() <= comparison.bengal
        assert not project.plan().pages


class TestOracle:
    """The full-build comparison itself."""

    def test_clock_wording_is_not_a_change(self, tmp_path: Path) -> None:
        """Pages differing only in Bengal's "N hours ago" wording (and hash) count as unchanged."""
        for name, when, digest in (("a", "19 hours ago", "69db"), ("b", "20 hours ago", "6c1a")):
            meta = f'<meta name="bengal:content-hash" content="{digest}">'
            sitegen.write(tmp_path / name / "p" / "index.html", f"{meta}<p>Posted {when}</p>")
        assert oracle.changed_html(tmp_path / "a", tmp_path / "b") == set()

    def test_content_and_presence_are_changes(self, tmp_path: Path) -> None:
        """Different text, or a page on one side only, is a change."""
        sitegen.write(tmp_path / "a" / "p" / "index.html", "<p>one</p>")
        sitegen.write(tmp_path / "b" / "p" / "index.html", "<p>two</p>")
        sitegen.write(tmp_path / "b" / "q" / "index.html", "<p>new</p>")
        changed = oracle.changed_html(tmp_path / "a", tmp_path / "b")
        assert changed == {"p/index.html", "q/index.html"}
