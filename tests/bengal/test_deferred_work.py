"""Work the hand-off leaves undone or reuses, on real Bengal: outputs still equal a clean build.

- The per-page JSON of the pages not rendered (what their ``index.json`` holds) is
  made only when post-processing writes it: for every page when the site graph
  changed (a retitle), for a page whose file is missing, for none otherwise.
- Front matter is not parsed again for a file whose text an earlier discovery
  of the same project parsed (every plan discovers the site).
- A full build's query indexes digest each entry once, when saved, not at every
  page added (the authors page counts posts with ``site.indexes.author``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

if os.environ.get("INCRBUILD_REQUIRE_BENGAL"):
    import bengal  # noqa: F401  (nox -s bengal: a missing Bengal is an error, not a skip)
else:
    pytest.importorskip("bengal")

from incrbuild.adapters.bengal._handoff import memoized_frontmatter
from tests.bengal import scenario as scenario_runner
from tests.bengal import sitegen

#: An unrendered page whose ``index.json`` is deleted before a body edit elsewhere.
LOST = "area-2/page-0011"
EDITS = ("body, a companion file gone", "title", "title again", "body")


def apply_edit(name: str, content: Path) -> None:
    """The edits; the first also deletes a page's ``index.json`` that the edit does not plan."""
    if name == "body, a companion file gone":
        (content.parent / "public" / LOST / "index.json").unlink()
        sitegen.apply_edit("body", content)
    elif name == "title again":
        sitegen.apply_edit("title", content)
    else:
        sitegen.apply_edit(name, content)


@pytest.fixture(scope="module")
def project_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small blog project (its authors page counts each author's posts)."""
    root = sitegen.new_project(tmp_path_factory.mktemp("deferred"))
    sitegen.add_content(root, pages=12, sections=3, tags=3)
    assert (root / "content" / f"{LOST}.md").is_file()
    return root


@pytest.fixture(scope="module")
def outcomes(project_root: Path) -> dict[str, scenario_runner.Outcome]:
    """Each edit built through incrbuild and checked."""
    return scenario_runner.run_checked(project_root, EDITS, apply_edit)


test_hand_off_equals_a_clean_build = scenario_runner.clean_build_test(EDITS)


def test_the_lost_file_was_not_rendered_but_written(
    outcomes: dict[str, scenario_runner.Outcome], tmp_path: Path
) -> None:
    """Not vacuous: the page whose ``index.json`` was deleted was not rendered."""
    outcome = outcomes["body, a companion file gone"]
    assert f"{LOST}/index.html" not in outcome.build.rendered
    assert outcome.build.rendered


def test_front_matter_is_parsed_once_per_text() -> None:
    """A text parsed before gets a copy of its metadata; a changed text is parsed."""
    import patitas

    text = "---\ntitle: One\ntags: [a, b]\n---\n\nBody.\n"
    with memoized_frontmatter({}) as first:
        metadata, body = patitas.parse_frontmatter(text)
    assert metadata == {"title": "One", "tags": ["a", "b"]}
    assert body.strip() == "Body."
    metadata["tags"].append("changed by Bengal")
    with memoized_frontmatter(first) as second:
        again, _ = patitas.parse_frontmatter(text)
        other, _ = patitas.parse_frontmatter(text.replace("One", "Two"))
    assert again == {"title": "One", "tags": ["a", "b"]}
    assert other["title"] == "Two"
    assert set(second) == {text, text.replace("One", "Two")}
    assert patitas.parse_frontmatter.__module__ != __name__


def test_saved_query_indexes_carry_their_entries_digests(
    outcomes: dict[str, scenario_runner.Outcome], project_root: Path
) -> None:
    """Each saved index entry's digest is that of its pages, as every add would have left it."""
    from bengal.cache.query_index import IndexEntry

    saved = sorted((project_root / ".bengal" / "indexes").glob("*.json"))
    assert saved
    entries = 0
    for path in saved:
        for data in json.loads(path.read_text(encoding="utf-8"))["entries"].values():
            entry = IndexEntry.from_cache_dict(data)
            assert data["content_hash"] == entry._compute_hash(), (path.name, data["key"])
            assert data["content_hash"] != ""
            entries += 1
    assert entries
