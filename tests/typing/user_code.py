"""Code as a host writes it, checked with ``mypy --strict`` (``nox -s typing``).

Not collected by pytest: it exists to be type-checked.  Each block is a way
users really call the API; a signature too narrow (``list`` where any
sequence would do, a ``Mapping`` whose key type is a union) fails here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from incrbuild import (
    ChangeSet,
    Engine,
    KindPolicy,
    LoadResult,
    PageChange,
    ParallelPolicy,
    Plan,
    PlanBuilder,
    Reason,
    ReasonKind,
    Rule,
    RuleContext,
    SiteLoader,
    WorkloadKind,
)
from incrbuild.adapters.simple import SimplePage, SimpleSite, assemble_site
from incrbuild.lowlevel import State, state_of
from incrbuild.testing import MemoryLoader, RecordingRule

# -- parallel policies from a variable, keyed by strings or by kinds ------------------------
by_name: dict[str, KindPolicy] = {"cpu": ParallelPolicy.defaults(2)["cpu"]}
by_kind: dict[WorkloadKind, KindPolicy] = {WorkloadKind.CPU: by_name["cpu"]}
ParallelPolicy(kinds=by_name).close()
ParallelPolicy(kinds=by_kind).close()

# -- pages with parsed headings, as a Markdown library gives them -----------------------------
toc: list[dict[str, str]] = [{"title": "Intro", "id": "intro"}]
page = SimplePage(Path("/site/content/a.md"), {"title": "A"}, toc_items=toc)
site: SimpleSite = assemble_site(Path("/site/content"), [page])


# -- a host rule ------------------------------------------------------------------------------
class SearchIndexRule:
    """Every changed page's entry is in the search index."""

    def apply(self, context: RuleContext, out: PlanBuilder) -> None:
        for change in context.page_changes:
            if change.added or change.removed or "title" in change.changed_keys:
                out.output("search-index", Reason(ReasonKind.SHOWS, change.path, "entry"))
        if context.full:
            out.output("search-index", Reason(ReasonKind.FULL))


def keys_of(change: PageChange) -> frozenset[str]:
    return change.changed_keys


rules: list[Rule] = [SearchIndexRule(), RecordingRule()]


# -- a host loader ----------------------------------------------------------------------------
class HostLoader:
    def load(
        self, changes: ChangeSet, known_metadata: Mapping[Path, Mapping[str, Any]]
    ) -> LoadResult:
        return LoadResult(site, pages_read=1, errors={Path("/site/content/b.md"): "bad"})


loader: SiteLoader = HostLoader()
memory: SiteLoader = MemoryLoader(Path("/site/content"))


def build(content: str) -> Plan:
    engine = Engine(
        loader=loader,
        content_dir=content,
        rules=rules,
        global_inputs=["config.toml", Path("theme.toml")],
    )
    plan = engine.plan()
    shown: dict[Path, set[str]] = {Path("/site/content/b.md"): {"title"}}
    members: dict[str, list[str]] = {"pages": ["author"], "tag:python": ["title"]}
    for path in plan.pages:
        engine.record_dependencies(path, ["templates/page.html", Path("data/menu.yml")])
        engine.record_reads(path, files=["templates/card.html"], pages=shown, collections=members)
    reasons: tuple[str, ...] = plan.why("search-index") + plan.why(Path("/site/content/a.md"))
    assert reasons is not None
    outputs: frozenset[str] = plan.outputs
    assert outputs is not None
    state: State = state_of(engine)
    assert state.commit_id is not None
    engine.commit(plan, failed=[Path("/site/content/c.md")])
    return plan
