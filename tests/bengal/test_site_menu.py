"""Bengal's automatic site menu on real Bengal: a subsection's title is on every page.

Without ``menu.main`` in the configuration, Bengal's menu holds every section under
its parent, and the default theme shows a top-level section's subsections as its
submenu on every page.  Retitling a subsection's index (``docs/guide``) changes every
page's HTML; the plan must render them all (found on Bengal's own documentation site:
retitling ``docs/building`` left 372 pages' menus stale).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

if os.environ.get("INCRBUILD_REQUIRE_BENGAL"):
    import bengal  # noqa: F401  (nox -s bengal: a missing Bengal is an error, not a skip)
else:
    pytest.importorskip("bengal")

from tests.bengal import scenario as scenario_runner
from tests.bengal import sitegen

EDITS = ("subsection title", "subsection page title")


def apply_edit(name: str, content: Path) -> None:
    """Retitle the ``docs/guide`` subsection's index, then a regular page in it."""
    if name == "subsection title":
        page = content / "docs" / "guide" / "_index.md"
    else:
        page = sorted((content / "docs" / "guide").glob("page-*.md"))[0]
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace("title: ", "title: Revised ", 1), encoding="utf-8")


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, scenario_runner.Outcome]:
    """A small project; each edit built through incrbuild and checked against a clean build."""
    root = sitegen.new_project(tmp_path_factory.mktemp("site-menu"))
    sitegen.add_content(root, pages=12, sections=2, tags=3)
    return scenario_runner.run_checked(root, EDITS, apply_edit)


test_hand_off_equals_a_clean_build = scenario_runner.clean_build_test(EDITS)


def test_the_submenu_is_on_pages_outside_the_section(
    outcomes: dict[str, scenario_runner.Outcome],
) -> None:
    """Not vacuous: the subsection's title changed pages outside ``docs``; a page title did not."""
    changed = outcomes["subsection title"].check.changed
    assert any(not p.startswith("docs/") and p.endswith(".html") for p in changed)
    assert not any(p.startswith("area-") for p in outcomes["subsection page title"].check.changed)
