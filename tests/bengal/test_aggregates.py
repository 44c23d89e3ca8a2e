"""An aggregate page on real Bengal: the authors page's post counts, planned from recorded reads.

The blog template's ``authors/list.html`` shows each author's post count from
``site.indexes.author``: no hand-written rule plans it.  The hand-off records,
per rendered page, the site-wide collections its templates asked the site for
(``Engine.record_reads``), so deleting an authored post, adding one, or a
section's cascade giving its pages an author replans the authors page.  Per
edit, the build through incrbuild is compared with a clean full build (stale
0, misses 0), and the authors page must have changed (the check is not vacuous).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

if os.environ.get("INCRBUILD_REQUIRE_BENGAL"):
    import bengal  # noqa: F401  (nox -s bengal: a missing Bengal is an error, not a skip)
else:
    pytest.importorskip("bengal")

from tests.bengal import scenario as scenario_runner
from tests.bengal import sitegen

AUTHORS = "authors/index.html"
EDITS = ("delete authored post", "cascade author", "add authored post", "body")


def _authored(content: Path) -> list[Path]:
    """Generated pages with their own top-level ``author`` (what Bengal's author index reads)."""
    return [
        p
        for p in sorted(content.glob("area-*/page-*.md"))
        if re.search(r"^author: ", p.read_text(encoding="utf-8"), re.MULTILINE)
    ]


def apply_edit(name: str, content: Path) -> None:
    """The edits that change the authors page's counts, and an unrelated body edit."""
    if name == "delete authored post":
        _authored(content)[0].unlink()
    elif name == "cascade author":
        # area-0's pages have no author of their own: the cascade gives them one.
        index = content / "area-0" / "_index.md"
        text = index.read_text(encoding="utf-8")
        index.write_text(text.replace("cascade:\n", "cascade:\n  author: kida\n", 1), "utf-8")
    elif name == "add authored post":
        text = sitegen.page_text("Authored", tags=["topic-1"], date="2024-04-04", author="kida")
        sitegen.write(content / "area-2" / "authored.md", text)
    else:
        # Body only: the counts stay; the authors page is replanned all the same (any key).
        page = sorted((content / "area-2").glob("page-*.md"))[0]
        page.write_text(page.read_text(encoding="utf-8") + "\nOne more paragraph.\n", "utf-8")


def _counts(root: Path) -> str:
    """The post counts the authors page shows, ending a table row."""
    html = (root / "public" / AUTHORS).read_text(encoding="utf-8")
    return "| authors page: " + ",".join(re.findall(r"(\d+) posts?<", html))


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, scenario_runner.Outcome]:
    """A small blog project with an authors page; each edit built through incrbuild, checked."""
    root = sitegen.new_project(tmp_path_factory.mktemp("aggregates"))
    sitegen.add_content(root, pages=15, sections=3, tags=4)
    assert len(_authored(root / "content")) >= 2
    # The rows' counts go 2 -> 1 -> 4 -> 5 -> 5 here.
    return scenario_runner.run_checked(root, EDITS, apply_edit, note=lambda: _counts(root))


test_hand_off_equals_a_clean_build = scenario_runner.clean_build_test(EDITS)


@pytest.mark.parametrize("edit", EDITS[:3])
def test_the_authors_page_is_replanned_from_its_reads(
    outcomes: dict[str, scenario_runner.Outcome], edit: str
) -> None:
    """The authors page changed (not vacuous) and was rendered, for what its render read."""
    outcome = outcomes[edit]
    assert AUTHORS in outcome.check.changed
    assert AUTHORS in outcome.build.rendered
    plan = outcome.plan.plan
    authors = next(p for p in plan.pages if p.parent.name == "authors")
    shown = "(author in pages)" if edit == "cascade author" else "in pages)"
    assert any(shown in why for why in plan.why(authors)), plan.why(authors)
