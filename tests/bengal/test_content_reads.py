"""A page whose *content* prints a site-wide collection, on real Bengal.

Bengal substitutes ``{{ ... }}`` expressions in Markdown while it parses a page
(even in inline code), so a page's text can show ``site.pages``: Bengal's own
documentation has migration guides that do, and print every page, generated tag
pages included.  Such a page shows every page's title and every tag page: adding
a page, retitling one or adding a tag changes it.  The hand-off records the
collections a page's content read (as it does for its templates) and keeps them
while Bengal reuses the page's cached parse.
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

READER = "area-0/all-pages.md"
READER_HTML = "area-0/all-pages/index.html"
EDITS = ("retitle a page", "body of the reader", "add a tag", "add a page")

#: Bengal's docs print a collection in inline code; a page listing the site's pages.
TEXT = """\
---
title: Every page
---

Hugo's `.Site.Pages` is `{{ site.pages }}` here.
"""


def apply_edit(name: str, content: Path) -> None:
    """Edits elsewhere that change what ``site.pages`` prints, and one of the reader."""
    if name == "body of the reader":
        page = content / READER
        page.write_text(page.read_text(encoding="utf-8") + "\nMore.\n", "utf-8")
        return
    page = sorted((content / "area-1").glob("page-*.md"))[0]
    text = page.read_text(encoding="utf-8")
    if name == "retitle a page":
        page.write_text(text.replace("title: ", "title: Retitled ", 1), "utf-8")
    elif name == "add a tag":
        page.write_text(
            text.replace("---\n", "---\ntags: [brand-new-tag]\n", 1)
            if "tags:" not in text
            else text.replace("tags: [", "tags: [brand-new-tag, ", 1),
            "utf-8",
        )
    else:
        sitegen.write(content / "area-1" / "added.md", sitegen.page_text("Added page"))


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, scenario_runner.Outcome]:
    """A small project with a page printing ``site.pages``; each edit built and checked."""
    root = sitegen.new_project(tmp_path_factory.mktemp("content-reads"))
    sitegen.add_content(root, pages=12, sections=2, tags=3)
    sitegen.write(root / "content" / READER, TEXT)
    return scenario_runner.run_checked(root, EDITS, apply_edit)


test_hand_off_equals_a_clean_build = scenario_runner.clean_build_test(EDITS)


@pytest.mark.parametrize("edit", [e for e in EDITS if e != "body of the reader"])
def test_the_reader_changed_with_edits_elsewhere(
    outcomes: dict[str, scenario_runner.Outcome], edit: str
) -> None:
    """Not vacuous: each edit elsewhere changed the reader's HTML, and it was rendered."""
    outcome = outcomes[edit]
    assert READER_HTML in outcome.check.changed
    assert READER_HTML in outcome.build.rendered
