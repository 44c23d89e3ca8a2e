"""Whole and partial (watcher) commits reach the same stored facts for the same edits."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from incrbuild import Engine
from incrbuild.adapters.files import open_engine
from incrbuild.lowlevel import State, state_of
from tests.test_recorded_reads import EDITS, Site, apply_edit, seed


def facts_of(state: State) -> dict[str, object]:
    """What a commit stores about pages, whichever path built it (stat records aside)."""
    return {
        "front_matter": {key: record.metadata for key, record in state.facts.items()},
        "dependencies": dict(state.dependencies),
        "dependents": dict(state.dependents),
        "outputs": dict(state.outputs),
        "reads": dict(state.reads),
        "readers": dict(state.readers),
    }


def build(site: Site, engine: Engine, touched: list[Path] | None) -> None:
    plan = engine.plan() if touched is None else engine.plan_paths(touched)
    assert plan.partial == (touched is not None)
    for path in plan.removed_pages:
        site.outputs.pop(path.relative_to(site.root).as_posix(), None)
    for path in plan.pages:
        rel = path.relative_to(site.root).as_posix()
        site.outputs[rel] = site.render(rel, engine)
        engine.record_outputs(path, [rel.replace(".md", ".html")])
    engine.commit(plan)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits=EDITS)
def test_watched_and_scanned_commits_store_the_same_facts(
    edits: list[tuple[str, int, str]],
) -> None:
    """Each edit committed through plan_paths on one tree and plan() on a copy: same facts."""
    workdir = Path(tempfile.mkdtemp(prefix="incrbuild-transitions-"))
    try:
        roots = [workdir / "watched" / "content", workdir / "scanned" / "content"]
        sites, engines = [], []
        for root in roots:
            seed(root)
            sites.append(Site(root))
            engines.append(open_engine(root, state_dir=root.parent / "state"))
        for site, engine in zip(sites, engines, strict=True):
            build(site, engine, None)
        counters = [[0], [0]]
        for edit in edits:
            touched = [
                apply_edit(root, edit, counter)
                for root, counter in zip(roots, counters, strict=True)
            ]
            if touched[0] is None:
                continue
            build(sites[0], engines[0], [roots[0] / touched[0]])
            build(sites[1], engines[1], None)
            watched, scanned = (facts_of(state_of(engine)) for engine in engines)
            assert watched == scanned, edit
            assert sites[0].outputs == sites[1].outputs
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
