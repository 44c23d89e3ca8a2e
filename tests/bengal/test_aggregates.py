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


def _count(root: Path) -> str:
    html = (root / "public" / AUTHORS).read_text(encoding="utf-8")
    found = re.findall(r"(\d+) posts?<", html)
    return ",".join(found)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, scenario_runner.Outcome]:
    """A small blog project with an authors page; each edit built through incrbuild, checked."""
    root = sitegen.new_project(tmp_path_factory.mktemp("aggregates"))
    sitegen.add_content(root, pages=15, sections=3, tags=4)
    assert len(_authored(root / "content")) >= 2
    counts: dict[str, str] = {}

    def seen(name: str, outcome: scenario_runner.Outcome) -> None:
        counts[name] = _count(root)
        print(scenario_runner.describe(name, outcome), "| authors page:", counts[name])

    print("\n" + scenario_runner.HEADER)  # the counts go 2 -> 1 -> 4 -> 5 -> 5 here
    return scenario_runner.run(
        root, tmp_path_factory.mktemp("truth"), EDITS, apply_edit, on_outcome=seen
    )


@pytest.mark.parametrize("edit", EDITS)
def test_hand_off_equals_a_clean_build(
    outcomes: dict[str, scenario_runner.Outcome], edit: str
) -> None:
    """Every output equals the clean full build's; no changed page was left out."""
    check = outcomes[edit].check
    assert sorted(check.stale) == []
    assert sorted(check.missed) == []


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
