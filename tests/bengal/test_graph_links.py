"""The knowledge graph's counts on real Bengal: unrendered pages keep the links their render gave.

Every page's ``index.json`` carries Bengal's contextual graph with each node's
``incoming_refs``, counted from every page's links.  A render sets a page's
links from its parse; in Bengal 0.5.1 a ``[[...]]`` reference after a
tab set or inside a page with link cards is not among them, while the page's
HTML links to it.  Bengal's graph extracts the links of a page without any from
its HTML, so a page the hand-off did not render counted one link more than in
a full build, and every page's graph data went stale on an unrelated body edit
(found on Bengal's own documentation site: 179 pages).  The hand-off now
records each render's links and gives them back to the pages it does not render.
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

from tests.bengal import scenario as scenario_runner
from tests.bengal import sitegen

#: The page both references point to, and its output's per-page JSON.
TARGET = "docs/page-0005"
TARGET_JSON = "docs/page-0005/index.json"
EDITS = ("unrelated body", "linking page body", "unrelated body again")

#: A tab set, then a reference: the render's links leave the reference out.
TABS = """\
---
title: Tabs then a reference
---

::::{tab-set}

:::{tab-item} One
First tab.
:::

:::{tab-item} Two
Second tab.
:::

::::

See [[docs/page-0005|the fifth page]] for more.
"""

#: Link cards, then a reference: the render's links are the cards' only.
CARDS = """\
---
title: Cards then a reference
---

:::{cards}
:columns: 2

:::{card} Tabs
:link: ../tabs/

The page with tabs.
:::{/card}

:::{/cards}

- [[docs/page-0005|The fifth page]]
"""


def apply_edit(name: str, content: Path) -> None:
    """Body edits: of a page that links nowhere, of a linking page, and again elsewhere."""
    if name == "linking page body":
        page = content / "area-0" / "tabs.md"
    else:
        page = sorted((content / "area-1").glob("page-*.md"))[0]
    page.write_text(page.read_text(encoding="utf-8") + "\nOne more paragraph.\n", "utf-8")


def _incoming(root: Path) -> str:
    """The target's ``incoming_refs`` in its own contextual graph, ending a table row."""
    data = json.loads((root / "public" / TARGET_JSON).read_text(encoding="utf-8"))
    node = next(n for n in data["graph"]["nodes"] if n.get("isCurrent"))
    return f"| incoming: {int(node['incoming_refs'])}"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, scenario_runner.Outcome]:
    """A small project with the two linking pages; each edit built through incrbuild, checked."""
    root = sitegen.new_project(tmp_path_factory.mktemp("graph-links"))
    sitegen.add_content(root, pages=12, sections=2, tags=3)
    sitegen.write(root / "content" / "area-0" / "tabs.md", TABS)
    sitegen.write(root / "content" / "area-0" / "cards.md", CARDS)
    return scenario_runner.run_checked(root, EDITS, apply_edit, note=lambda: _incoming(root))


test_hand_off_equals_a_clean_build = scenario_runner.clean_build_test(EDITS)


def test_the_linking_pages_were_not_rendered(
    outcomes: dict[str, scenario_runner.Outcome],
) -> None:
    """Not vacuous: on the unrelated edits, the pages whose links differ were left unrendered."""
    for edit in ("unrelated body", "unrelated body again"):
        rendered = outcomes[edit].build.rendered
        assert "area-0/tabs/index.html" not in rendered
        assert "area-0/cards/index.html" not in rendered
