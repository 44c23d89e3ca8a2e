"""A site whose configuration sets ``menu.main``, on real Bengal: sections are no menu entries.

Bengal 0.5.1 builds a configured main menu from its items (names and URLs as
written) and the pages whose front matter names a menu; the default theme's
``base.html`` falls back to the automatic menu (every section) only when that
menu is empty.  So a new top-level section, or a retitled section index, is
not on every page of such a site, and the plan leaves the other pages alone.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

if os.environ.get("INCRBUILD_REQUIRE_BENGAL"):
    import bengal  # noqa: F401  (nox -s bengal: a missing Bengal is an error, not a skip)
else:
    pytest.importorskip("bengal")

from tests.bengal import scenario as scenario_runner
from tests.bengal import sitegen

MENU = "menu:\n  main:\n    - name: Elsewhere\n      url: /elsewhere/\n      weight: 90\n"
EDITS = ("new section", "top-level index retitled", "section removed")
#: The edits the narrower rule plans for: fewer pages than the site's.
NARROWED = EDITS[:2]


def apply_edit(name: str, content: Path) -> None:
    """A new top-level section, a top-level index's title, the new section deleted."""
    if name == "new section":
        sitegen.apply_edit(name, content)
    elif name == "top-level index retitled":
        index = content / "area-0" / "_index.md"
        text = index.read_text(encoding="utf-8")
        index.write_text(text.replace("title: ", "title: Retitled ", 1), encoding="utf-8")
    else:
        shutil.rmtree(content / "fresh-area")


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, scenario_runner.Outcome]:
    """A small project with a configured main menu; each edit built and checked."""
    root = sitegen.new_project(tmp_path_factory.mktemp("configured-menu"))
    sitegen.add_content(root, pages=12, sections=2, tags=3)
    sitegen.write(root / "config" / "_default" / "menu.yaml", MENU)
    return scenario_runner.run_checked(root, EDITS, apply_edit)


test_hand_off_equals_a_clean_build = scenario_runner.clean_build_test(EDITS)


@pytest.mark.parametrize("edit", NARROWED)
def test_the_menu_does_not_plan_every_page(
    outcomes: dict[str, scenario_runner.Outcome], edit: str
) -> None:
    """Not vacuous: the plan renders fewer pages than the site has, and some HTML changed."""
    outcome = outcomes[edit]
    assert len(outcome.build.rendered) < len(outcomes["first build"].build.rendered)
    assert outcome.check.changed
