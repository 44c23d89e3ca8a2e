"""A small real MkDocs project, built in process, and the byte-for-byte oracle.

:class:`Project` writes ``mkdocs.yml`` (theme ``mkdocs`` with an ``overrides``
directory, ``pymdownx.snippets``), pages, snippets and template overrides, and
builds the site three ways: with the plugin and ``dirty=True`` (what is tested),
without it and ``dirty=True`` (plain ``--dirty``, to count what it leaves stale),
and without it from scratch into a fresh directory (the truth).
``SOURCE_DATE_EPOCH`` is fixed so two clean builds are byte-identical: MkDocs
honours it for the ``Build Date UTC`` comment, sitemap dates and the gzip header,
so no output needs a mask.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

#: A fixed build time: MkDocs reads it for every date it writes.
SOURCE_DATE_EPOCH = "1700000000"


def tree(directory: Path) -> dict[str, bytes]:
    """Every file below *directory*: relative POSIX path -> bytes."""
    found: dict[str, bytes] = {}
    for root, _dirs, files in os.walk(directory):
        for name in files:
            path = Path(root, name)
            found[path.relative_to(directory).as_posix()] = path.read_bytes()
    return found


def differences(built: Mapping[str, bytes], truth: Mapping[str, bytes]) -> list[str]:
    """Paths whose bytes differ, or that only one side has, sorted."""
    return sorted(k for k in built.keys() | truth.keys() if built.get(k) != truth.get(k))


class Project:
    """An MkDocs project on disk with in-process builds."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.docs = root / "docs"
        self.config: dict[str, Any] = {
            "site_name": "Oracle",
            "theme": {"name": "mkdocs", "custom_dir": "overrides"},
            "plugins": ["search", "incrbuild"],
            "markdown_extensions": [
                "toc",
                {"pymdownx.snippets": {"base_path": [str(root / "snippets")]}},
            ],
        }
        for name in ("docs", "snippets", "overrides"):
            (root / name).mkdir(parents=True, exist_ok=True)
        self.write_config()

    # -- editing ---------------------------------------------------------------------

    def write_config(self) -> None:
        text = yaml.safe_dump(self.config, sort_keys=False)
        (self.root / "mkdocs.yml").write_text(text, encoding="utf-8")

    def write(self, relative: str, text: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def remove(self, relative: str) -> None:
        path = self.root / relative
        path.unlink()
        parent = path.parent
        while parent != self.root and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent

    def pages(self) -> list[str]:
        """Page sources, relative to ``docs/``, sorted."""
        return sorted(p.relative_to(self.docs).as_posix() for p in self.docs.rglob("*.md"))

    # -- building --------------------------------------------------------------------

    def build(
        self,
        site_dir: Path,
        *,
        plugin: bool,
        dirty: bool,
        serve_url: str | None = None,
        **settings: Any,
    ) -> None:
        """Build into *site_dir* in process, as ``mkdocs build [--dirty]`` would
        (*settings* override ``mkdocs.yml``; *serve_url* builds as ``serve`` does)."""
        from mkdocs.commands.build import build
        from mkdocs.config import load_config

        overrides: dict[str, Any] = {"site_dir": str(site_dir), **settings}
        if not plugin:
            overrides["plugins"] = [p for p in self.config["plugins"] if p != "incrbuild"]
        with _quiet(), _build_date():
            config = load_config(str(self.root / "mkdocs.yml"), **overrides)
            fresh_process(config)
            config.plugins.on_startup(command="build", dirty=dirty)
            try:
                build(config, dirty=dirty, serve_url=serve_url)
            finally:
                config.plugins.on_shutdown()

    def truth(
        self, site_dir: Path, *, serve_url: str | None = None, **settings: Any
    ) -> dict[str, bytes]:
        """A clean build without the plugin into a fresh *site_dir*: the oracle."""
        from mkdocs.config.defaults import MkDocsConfig

        shutil.rmtree(site_dir, ignore_errors=True)
        # As in a new process: plugin instances MkDocs keeps for `serve` (those with
        # on_startup) are not shared with the builds under test, in either direction.
        option = dict(MkDocsConfig._schema)["plugins"]
        kept, option.plugin_cache = option.plugin_cache, {}
        try:
            self.build(site_dir, plugin=False, dirty=False, serve_url=serve_url, **settings)
        finally:
            option.plugin_cache = kept
        return tree(site_dir)


class _quiet:
    """Keep MkDocs's per-build chatter (the --dirty warning, timings) out of test logs."""

    def __enter__(self) -> None:
        self.logger = logging.getLogger("mkdocs")
        self.level = self.logger.level
        self.logger.setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        self.logger.setLevel(self.level)


class _build_date:
    def __enter__(self) -> None:
        self.previous = os.environ.get("SOURCE_DATE_EPOCH")
        os.environ["SOURCE_DATE_EPOCH"] = SOURCE_DATE_EPOCH

    def __exit__(self, *exc: object) -> None:
        if self.previous is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = self.previous


def fresh_process(config: Any) -> None:
    """Make an in-process build start as ``mkdocs build`` in a new process would.

    MkDocs keeps plugin instances that define ``on_startup`` across ``load_config``
    calls in one process (for ``serve``), so builds of these tests share them.
    Material's search keeps the last dirty build's index and merges it into the next
    build's: in a new process there is none.
    """
    for plugin in config.plugins.values():
        if hasattr(plugin, "search_index_prev"):
            plugin.search_index_prev = None


def walk_pages(directory: Path) -> Iterator[Path]:
    yield from sorted(directory.rglob("*.md"))
