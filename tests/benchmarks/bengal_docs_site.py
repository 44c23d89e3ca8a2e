"""Bengal's own documentation site (lbliii/bengal at tag v0.5.1, ``site/``), edited and checked.

A real Bengal site that is not ours: 277 content files, docs layouts with the graph
widget, a dropdown menu, wikilinks, authors, releases and tracks.  Per edit kind, one
after another: our plan and ``BengalProject.build``, then a clean full build of the same
sources in a fresh directory; the oracle (``tests/bengal/oracle.py``) compares them.
Run under Python 3.14 with Bengal 0.5.1 (``nox -s bengal`` makes ``.nox/bengal-py314``)::

    python tests/benchmarks/bengal_docs_site.py GIT_DIR [WORKDIR] [--edits body,title]

GIT_DIR is a clone of https://github.com/lbliii/bengal (bare or not).  The site's
configuration is changed only where a build would otherwise differ for reasons that are
not content: autodoc (it documents Bengal's own source, ``../bengal``), the build badge
(a build time), asset minifying and fingerprinting and health checks (speed).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.bengal import scenario  # noqa: E402

TAG = "v0.5.1"
EDITS = (
    "body",
    "title",
    "description",
    "tags",
    "weight",
    "aliases",
    "date",
    "draft toggle",
    "author metadata",
    "cascade",
    "add",
    "delete",
    "rename",
    "new section",
    "link target retitled",
    "menu entry in config",
    "data file",
    "template override",
    "css asset",
)


def sub(path: Path, pattern: str, repl: str, count: int = 1) -> None:
    text = path.read_text("utf-8")
    new, n = re.subn(pattern, repl, text, count=count, flags=re.M)
    assert n, (path, pattern)
    path.write_text(new, "utf-8")


def apply_edit(name: str, content: Path) -> None:
    """Apply the edit called *name* to the site whose content directory is *content*."""
    root = content.parent
    docs = content / "docs"
    if name == "body":
        p = docs / "get-started" / "_index.md"
        p.write_text(p.read_text() + "\nOne more paragraph.\n")
    elif name == "title":
        sub(docs / "building" / "_index.md", r"^title: (.*)$", r"title: \1 revised")
    elif name == "description":
        sub(docs / "get-started" / "_index.md", r"^description: (.*)$", r"description: \1, revised")
    elif name == "tags":
        sub(docs / "get-started" / "_index.md", r"^- quickstart$", "- quick-start-guide")
    elif name == "weight":
        sub(docs / "get-started" / "_index.md", r"^weight: .*$", "weight: 95")
    elif name == "aliases":
        sub(docs / "get-started" / "_index.md", r"^lang: en$", "lang: en\naliases:\n- /start-here/")
    elif name == "date":
        p = sorted((content / "releases").glob("0.*.md"))[0]
        if re.search(r"^date:", p.read_text(), re.M):
            sub(p, r"^date: .*$", "date: 2021-01-02")
        else:
            sub(p, r"^title: (.*)$", r"title: \1\ndate: 2021-01-02")
    elif name == "draft toggle":
        sub(docs / "get-started" / "_index.md", r"^draft: false$", "draft: true")
    elif name == "author metadata":
        sub(content / "authors" / "lbliii.md", r"^title: (.*)$", r"title: \1 (maintainer)")
    elif name == "cascade":
        sub(
            content / "releases" / "_index.md",
            r"^cascade:$",
            "cascade:\n  description: A Bengal release",
        )
    elif name == "add":
        (docs / "get-started" / "added-page.md").write_text(
            "---\ntitle: An added page\ndescription: Added by the check\n"
            "tags:\n- onboarding\nweight: 50\n---\n\nAdded text.\n"
        )
    elif name == "delete":
        (docs / "get-started" / "added-page.md").unlink()
    elif name == "rename":
        victims = sorted(p for p in (docs / "about").rglob("*.md") if p.name != "_index.md")
        victims[0].rename(victims[0].with_name("renamed-" + victims[0].name))
    elif name == "new section":
        (docs / "new-area").mkdir()
        (docs / "new-area" / "_index.md").write_text(
            "---\ntitle: New area\nweight: 99\n---\n\nA new section.\n"
        )
        (docs / "new-area" / "first.md").write_text(
            "---\ntitle: First of the area\ntags:\n- onboarding\n---\n\nBody.\n"
        )
    elif name == "link target retitled":
        sub(docs / "about" / "_index.md", r"^title: (.*)$", r"title: \1 (renamed)")
    elif name == "menu entry in config":
        sub(
            root / "config" / "_default" / "menu.yaml",
            r"^  extra: \[\]$",
            "  extra:\n  - name: Extra\n    url: /extra/\n    weight: 90",
        )
    elif name == "data file":
        p = root / "data" / "glossary.yaml"
        p.write_text(p.read_text() + "\n")  # a byte added
        sub(p, r"^(\s*-?\s*)(term|name): (.*)$", r"\1\2: \3 (rev)")
    elif name == "template override":
        p = root / "templates" / "partials" / "navigation-components.html"
        p.write_text(p.read_text() + "\n<!-- override revised -->\n")
    elif name == "css asset":
        p = root / "assets" / "fonts.css"
        p.write_text(p.read_text() + "\n/* revised */\n")
    else:
        raise ValueError(name)


def prepare(git_dir: Path, work: Path) -> Path:
    """Export ``site/`` at :data:`TAG` into *work* and make its configuration build-stable."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "--git-dir", str(git_dir), "archive", TAG, "site"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(work)], input=archive, check=True)
    config = work / "site" / "config" / "_default"
    autodoc = config / "autodoc.yaml"
    autodoc.write_text(re.sub(r"enabled: true", "enabled: false", autodoc.read_text()))
    build = config / "build.yaml"
    text = build.read_text()
    text = text.replace("build_badge:\n  enabled: true", "build_badge:\n  enabled: false")
    text = text.replace(
        "  minify: true\n  fingerprint: true", "  minify: false\n  fingerprint: false"
    )
    text = text.replace("health_check:\n  enabled: true", "health_check:\n  enabled: false")
    build.write_text(text)
    return work / "site"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("git_dir", type=Path)
    parser.add_argument("work", type=Path, nargs="?")
    parser.add_argument("--edits", default=",".join(EDITS))
    args = parser.parse_args()
    git_dir = args.git_dir / ".git" if (args.git_dir / ".git").is_dir() else args.git_dir
    work = args.work or Path(tempfile.mkdtemp(prefix="bengal-docs-site-"))
    root = prepare(git_dir, work)
    began = time.time()
    print("| edit | stale | misses | HTML changed | rendered | precision | decision | build |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")

    def show(name: str, outcome: scenario.Outcome) -> None:
        print(scenario.describe(name, outcome), flush=True)

    scenario.run(root, work / "scratch", args.edits.split(","), apply_edit, on_outcome=show)
    print(f"done in {time.time() - began:.0f} s")


if __name__ == "__main__":
    main()
