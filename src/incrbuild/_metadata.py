"""Front matter as the planner compares it across builds: one home for the shared helpers.

Stored front matter is JSON-like (see :func:`normalise_metadata`); two values
are equal when their sorted JSON encodings are, so ``1`` and ``1.0`` or a
reordered mapping do not count as edits while any visible change does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import msgspec

__all__ = [
    "DEFAULT_TAXONOMIES",
    "INDEX_NAME",
    "LISTING_KEYS",
    "NAVIGATION_KEYS",
    "cascade_of",
    "changed_keys",
    "encoded",
    "navigation_order_key",
    "normalise_metadata",
    "relative_display",
    "view",
]

#: The taxonomies indexed when the host names none: front matter ``tags``.
DEFAULT_TAXONOMIES: tuple[str, ...] = ("tags",)
#: The file name that makes a page its directory's section index.
INDEX_NAME: Final = "_index.md"
#: Front matter keys that change how a page appears in section and tag listings.
LISTING_KEYS: Final = frozenset({"title", "date", "weight", "draft", "tags"})
#: Front matter keys that change a page's place or label in prev/next navigation.
NAVIGATION_KEYS: Final = frozenset({"title", "date", "weight", "draft"})


def normalise_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Return *metadata* as plain JSON-like values, as stored and compared across builds."""
    # A plain dict is converted as it is (msgspec builds new containers, never sharing
    # the input's); another mapping is copied first, or msgspec would stringify it whole.
    plain = metadata if type(metadata) is dict else dict(metadata)
    try:
        result = msgspec.to_builtins(plain, str_keys=True, enc_hook=str)
    except (TypeError, ValueError):
        result = {str(k): repr(v) for k, v in metadata.items()}
    if type(result) is dict:
        return result
    return dict(result) if isinstance(result, Mapping) else {}


def navigation_order_key(metadata: Mapping[str, Any], source_path: Path) -> tuple[Any, ...]:
    """The default prev/next order within a section: weight, then date, title and path."""
    weight = metadata.get("weight")
    number = float(weight) if isinstance(weight, int | float) else math.inf
    return (number, str(metadata.get("date", "")), str(metadata.get("title", "")), source_path)


def encoded(value: Any) -> bytes:
    """*value* as canonical bytes: equal bytes, equal front matter value."""
    return msgspec.json.encode(value, order="sorted", enc_hook=str)


def changed_keys(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> frozenset[str]:
    """Top-level keys whose encoded values differ (a key only one side has counts)."""
    before = old or {}
    after = new or {}
    return frozenset(
        key
        for key in before.keys() | after.keys()
        if key not in before or key not in after or encoded(before[key]) != encoded(after[key])
    )


def view(metadata: Mapping[str, Any] | None, keys: frozenset[str]) -> tuple[bytes, ...] | None:
    """The values of *keys* in *metadata*, comparable across builds (``None``: no page)."""
    if metadata is None:
        return None
    return tuple(encoded(metadata.get(key)) for key in sorted(keys))


def cascade_of(metadata: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The ``cascade`` mapping of an index page's front matter (empty if none)."""
    if metadata is None:
        return {}
    cascade = metadata.get("cascade")
    return cascade if isinstance(cascade, Mapping) else {}


def relative_display(path: Path, root: Path | None) -> str:
    """*path* as shown to people: POSIX and relative to *root* when below it."""
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return str(path)
