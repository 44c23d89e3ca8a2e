"""What the MkDocs theme shows of a page on other pages, as planning rules.

The ``mkdocs`` and ``readthedocs`` themes render the whole navigation (every
nav page's title and URL, every section's title) and prev/next links on every
page, plus ``404.html``; sitemaps list every nav page.  So a change to what the
nav shows (a page title, an added, removed or renamed page, a reordered or
retitled ``nav:`` entry) reaches every page, and nothing less than the nav's
shown form tells whether it changed: :func:`nav_signature` digests exactly that
form, and :class:`NavigationRule` plans every page when it differs from the last
build's.  A page's TOC shows only on that page, so a heading edit plans that
page alone (it is modified).  :class:`ConfigRule` plans every page when a
configuration key that templates read changed.

Both have the engine's rule shape (``apply(context, out)``); the plugin's
``MkDocsRules`` runs them inside ``Engine.plan()``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol, final

import attrs
import msgspec

from incrbuild import Reason, ReasonKind, RuleContext

__all__ = ["ConfigRule", "NavigationRule", "PageSink", "nav_signature"]


class PageSink(Protocol):
    """The part of the engine's plan builder a rule here writes to."""

    def page(self, path: Path, reason: Reason) -> None:
        """Plan *path* for *reason*."""


def nav_signature(nav: Any, title_for: Callable[[Any], Any]) -> str:
    """Digest the navigation as a theme shows it: structure, titles and URLs, in order.

    *title_for* gives what a page's nav entry shows (its title, and any metadata a
    theme shows there); sections and links carry their own.
    """
    shown: list[Any] = []
    stack: list[tuple[Iterable[Any], int]] = [(iter(nav.items), 0)]
    while stack:
        items, depth = stack[-1]
        item = next(items, None)  # type: ignore[call-overload]
        if item is None:
            stack.pop()
            continue
        if getattr(item, "is_page", False):
            shown.append(["page", depth, title_for(item), item.url])
        elif getattr(item, "is_section", False):
            shown.append(["section", depth, item.title])
            stack.append((iter(item.children or ()), depth + 1))
        else:
            shown.append(["link", depth, item.title, getattr(item, "url", None)])
    encoded = msgspec.json.encode(shown, enc_hook=repr)
    return hashlib.blake2b(encoded, digest_size=16).hexdigest()


@final
@attrs.frozen
class NavigationRule:
    """Plans every page when the navigation they all show changed."""

    pages: tuple[Path, ...]
    """Every documentation page of the build (all show the nav)."""
    old_signature: str
    new_signature: str

    @property
    def changed(self) -> bool:
        """Whether the nav as shown differs from the last build's."""
        return self.old_signature != self.new_signature

    def apply(self, context: RuleContext | None, out: PageSink) -> None:
        """Plan every page if the nav changed."""
        if not self.changed:
            return
        reason = Reason(ReasonKind.SHOWS, None, "the nav (titles, order, pages) every page shows")
        for path in self.pages:
            out.page(path, reason)


@final
@attrs.frozen
class ConfigRule:
    """Plans every page when configuration keys templates read changed."""

    pages: tuple[Path, ...]
    config_file: Path
    keys: str
    """The changed keys, comma-separated; empty when none matter."""

    def apply(self, context: RuleContext | None, out: PageSink) -> None:
        """Plan every page if any key changed."""
        if not self.keys:
            return
        reason = Reason(ReasonKind.GLOBAL, self.config_file, self.keys)
        for path in self.pages:
            out.page(path, reason)
