"""The end-to-end oracle: a clean full Bengal build in a fresh directory, and what differs from it.

Bengal keeps process-wide caches, so every reference build runs in a fresh
interpreter (:mod:`tests.bengal.worker`) on a fresh copy of the project's
sources, and reports, for each output file, the page that wrote it.  Output
trees are compared file by file after the masks below (each one documented,
with why, in ``docs/bengal.md``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

REPO = Path(__file__).resolve().parents[2]

#: What the worker says about one output file: the page that wrote it.
OutputInfo = Mapping[str, Any]

#: Project directories that are build products or build state, never sources.
BUILD_DIRS = frozenset({"public", ".bengal", ".incrbuild"})


def build(root: Path, mode: str, sources: Iterable[Path] = ()) -> dict[str, Any]:
    """Build the project at *root* with Bengal (``full`` from scratch, or ``incremental``)."""
    if mode == "full":
        shutil.rmtree(root / "public", ignore_errors=True)
        shutil.rmtree(root / ".bengal", ignore_errors=True)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "build.json"
        completed = subprocess.run(
            [sys.executable, "-m", "tests.bengal.worker", str(root), mode, str(out)]
            + [str(s) for s in sources],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"Bengal build failed:\n{completed.stderr[-4000:]}")
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def copy_sources(root: Path, target: Path) -> Path:
    """Copy the project at *root* to *target* without its outputs and build state.

    ``copy2`` keeps modification times, which Bengal shows as ``last_modified``.
    """
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(root, target, ignore=lambda d, names: BUILD_DIRS & set(names))
    return target


def fresh_full_build(root: Path, target: Path) -> dict[str, Any]:
    """A clean full build of *root*'s sources in the fresh directory *target*."""
    return start_fresh_full_build(root, target).result()


@attrs.define
class PendingBuild:
    """A full build running in another interpreter; :meth:`result` waits for it."""

    process: subprocess.Popen[str]
    out: Path

    def result(self) -> dict[str, Any]:
        """Wait for the build and return what the worker reported."""
        _, stderr = self.process.communicate()
        if self.process.returncode != 0:
            raise RuntimeError(f"Bengal build failed:\n{stderr[-4000:]}")
        result: dict[str, Any] = json.loads(self.out.read_text(encoding="utf-8"))
        return result


def start_fresh_full_build(root: Path, target: Path) -> PendingBuild:
    """Start a clean full build of a copy of *root*'s sources in *target* (returns at once)."""
    project = copy_sources(root, target / "project")
    out = target / "build.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.bengal.worker", str(project), "full", str(out)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return PendingBuild(process, out)


# -- masks: output that differs between two clean full builds of the same sources ----------

#: Bengal's ``time_ago`` wording depends on the clock, not on the content (a post dated today
#: reads "19 hours ago", then "20 hours ago"), and so does the page's content-hash meta tag,
#: a digest of the rendered page.
_CLOCK = re.compile(
    r"\b\d+ (?:second|minute|hour|day|week|month|year)s? ago\b|\bjust now\b|\btoday\b"
    r"|\byesterday\b|<meta name=\"bengal:content-hash\" content=\"[0-9a-f]*\">"
)
#: The graph widget prints a Python function's repr, memory address included (as is, or
#: HTML-escaped in a ``data-page-url`` attribute: Bengal's own documentation site).
_ADDRESS = re.compile(r"((?:<|&lt;)function [\w.<>]+?) at 0x[0-9a-f]+(?=>|&gt;)")
#: A page that prints ``site.pages`` (Bengal's own docs do, in a table) shows each page's
#: ``RuntimePage`` repr with its absolute source path: the clean build runs in a copy of the
#: project elsewhere, so the project's directory is masked, the rest of the path kept.
_SOURCE_PATH = re.compile(r"(RuntimePage\(title=.*?, source=')[^']*?/(content|\.bengal)/")
#: Those tables list ``site.pages`` in an order that differs between two clean builds (issue
#: 14 saw it first): each printed list is compared as a sorted list.
_PAGE_REPR = r"RuntimePage\(title=.*?, source='[^']*'\)"
_PAGE_LIST = re.compile(rf"\[{_PAGE_REPR}(?:, {_PAGE_REPR})*\]")
_PAGE_ITEM = re.compile(_PAGE_REPR)
#: JSON outputs stamp the build's own time (build id, generation and update times).
_BUILD_TIME = re.compile(
    r"\"(build_id|build_time|generated|generated_at|updated_at|last_build)\": *\"[0-9T:.+Z-]*\""
)
#: The default theme's ``random_posts`` widget (``page.html``: portfolio's about and contact
#: pages, its projects, its home page) lists ``site.regular_pages | sample(3)``, unseeded: a
#: different sample in every build.  The list is masked, the widget kept.
_RANDOM_POSTS = re.compile(r"(<div class=\"random-posts-list\">).*?(</div>\s*</aside>)", re.DOTALL)
#: Files that are only a digest of another output (``index.json.hash``: of the stamped index).
_DIGEST_SUFFIXES = (".hash",)


def masked(text: str) -> str:
    """*text* with what differs between two clean full builds of the same sources masked."""
    text = _CLOCK.sub("<clock>", text)
    text = _ADDRESS.sub(r"\1 at <address>", text)
    text = _SOURCE_PATH.sub(r"\1<project>/\2/", text)
    text = _PAGE_LIST.sub(lambda found: str(sorted(_PAGE_ITEM.findall(found.group()))), text)
    text = _RANDOM_POSTS.sub(r"\1<random sample>\2", text)
    return _BUILD_TIME.sub(r'"\1": "<build time>"', text)


#: ``changelog.json`` says what changed since the previous build into the same directory;
#: a clean build in a fresh directory has none (everything "added"): only the current state
#: (each page's hash, the page count) is compared.
_CHANGELOG_STATE = ("page_hashes",)


def _canonical(text: str, name: str) -> str:
    """JSON with its objects' keys sorted: Bengal fills some maps in render-completion order."""
    if not name.endswith(".json"):
        return text
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if name == "changelog.json" and isinstance(data, dict):
        stats = data.get("stats") or {}
        data = {key: data.get(key) for key in _CHANGELOG_STATE}
        data["total_pages"] = stats.get("total_pages") if isinstance(stats, dict) else None
    data = _without_page_digests(data)
    if name == "xref.json" and isinstance(data, dict) and isinstance(data.get("entries"), dict):
        # Every tag page claims the cross-reference name "index"; which one keeps it is the
        # order render threads finished in (two clean builds of Bengal's docs disagree).
        data["entries"].pop("index", None)
    return json.dumps(data, sort_keys=True, indent=0)


#: JSON outputs carry digests of rendered output (``content_hash`` of each page in the agent
#: manifest and of each heading's section in a page's ``index.json``, ``page_hashes`` in the
#: changelog).  What they digest is compared itself, after the masks; the digests are not (a
#: digest of text that shows a masked value, such as a memory address or the project's
#: directory, differs between two clean builds), as with ``.hash`` files.


def _without_page_digests(data: Any) -> Any:
    if isinstance(data, dict):
        return {
            key: (
                sorted(value)
                if key == "page_hashes" and isinstance(value, dict)
                else _without_page_digests(value)
            )
            for key, value in data.items()
            if key != "content_hash"
        }
    if isinstance(data, list):
        return [_without_page_digests(item) for item in data]
    return data


def same_output(first: Path, second: Path) -> bool:
    """Whether two output files are equal after the masks."""
    one, other = first.read_bytes(), second.read_bytes()
    if one == other or first.name.endswith(_DIGEST_SUFFIXES):
        return True
    try:
        texts = [_canonical(b.decode("utf-8"), first.name) for b in (one, other)]
    except UnicodeDecodeError:
        return False
    return masked(texts[0]) == masked(texts[1])


def _files(tree: Path) -> set[str]:
    found = set()
    for directory, _, names in os.walk(tree):
        for name in names:
            found.add(Path(directory, name).relative_to(tree).as_posix())
    return found


def differing(first: Path, second: Path, *, suffix: str = "") -> set[str]:
    """Files (relative paths ending in *suffix*) that differ, or exist in one tree only."""
    ones = {f for f in _files(first) if f.endswith(suffix)}
    others = {f for f in _files(second) if f.endswith(suffix)}
    found = ones ^ others
    for relative in ones & others:
        if not same_output(first / relative, second / relative):
            found.add(relative)
    return found


def changed_html(before: Path, after: Path) -> set[str]:
    """The HTML files that differ, appeared or vanished between two output trees."""
    return differing(before, after, suffix=".html")


@attrs.frozen
class HandOffCheck:
    """One incremental build through incrbuild, against a clean full build of the same sources.

    ``stale``: files whose content differs from the full build (any kind of
    file, after the masks), or exist on one side only.  ``changed``: HTML
    files that differ between the full builds before and after the edit.
    ``missed``: changed HTML files the hand-off neither rendered nor removed.
    ``rendered``: the page outputs the hand-off rendered.  ``changed_files``:
    every file (not only HTML) that differs between the full builds.
    """

    stale: frozenset[str]
    changed: frozenset[str]
    missed: frozenset[str]
    rendered: frozenset[str]
    changed_files: frozenset[str] = frozenset()

    @property
    def precision(self) -> float:
        """Of the HTML pages rendered, the share that actually changed."""
        if not self.rendered:
            return 1.0
        return len(self.rendered & self.changed) / len(self.rendered)


def check(
    ours: Path,
    truth: Path,
    before: Path,
    *,
    rendered: Iterable[str],
    removed: Iterable[str],
    page_outputs: Iterable[str],
) -> HandOffCheck:
    """Compare the hand-off's output *ours* with the full build *truth* (and *before* it).

    *page_outputs* are the outputs pages write (the worker's maps, before and
    after); other HTML (search, graph, 404) is regenerated by every hand-off.
    """
    done = frozenset(rendered)
    changed = frozenset(changed_html(before, truth))
    written_by_pages = frozenset(page_outputs)
    missed = (changed & written_by_pages) - done - frozenset(removed)
    return HandOffCheck(
        stale=frozenset(differing(ours, truth)),
        changed=changed,
        missed=missed,
        rendered=frozenset(r for r in done if r.endswith(".html")),
        changed_files=frozenset(differing(before, truth)),
    )
