"""What a change to ``mkdocs.yml`` means for a build: nothing, re-render every page, or everything.

Each top-level key's value (after every plugin's ``on_config``) is digested;
comparing digests with the last build's names the keys that changed, and each
key belongs to one class.  Keys not named here count as :attr:`ConfigImpact.FULL`,
so a key a future MkDocs adds can only cost work, never correctness.
"""

from __future__ import annotations

import enum
import hashlib
import re
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import msgspec

__all__ = ["IGNORED_KEYS", "RENDER_KEYS", "ConfigImpact", "config_digests", "config_impact"]


class ConfigImpact(enum.IntEnum):
    """How much of the site a configuration change reaches (ordered: max wins)."""

    NONE = 0
    """Nothing written changes (the dev server's address, deploy settings)."""
    RENDER = 1
    """Every page's template output may change; no page's Markdown conversion does."""
    FULL = 2
    """Markdown conversion, the set of files or their URLs may change: rebuild everything."""


#: Keys that change nothing MkDocs writes.
IGNORED_KEYS: Final = frozenset(
    {"config_file_path", "dev_addr", "remote_branch", "remote_name", "strict", "watch"}
)
#: Keys only templates read (or that Page objects, made afresh each build, read):
#: a change re-renders every page without re-reading any Markdown.
RENDER_KEYS: Final = frozenset(
    {
        "copyright",
        "edit_uri",
        "edit_uri_template",
        "extra",
        "extra_css",
        "extra_javascript",
        "google_analytics",
        "nav",
        "repo_name",
        "repo_url",
        "site_author",
        "site_description",
        "site_name",
        "site_url",
        "theme",
    }
)


def config_impact(old: Mapping[str, str], new: Mapping[str, str]) -> tuple[ConfigImpact, str]:
    """Return the impact of going from digests *old* to *new*, and the keys that decided it."""
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    impact = ConfigImpact.NONE
    deciding: list[str] = []
    for key in changed:
        if key in IGNORED_KEYS:
            continue
        level = ConfigImpact.RENDER if key in RENDER_KEYS else ConfigImpact.FULL
        if level > impact:
            impact, deciding = level, []
        if level == impact:
            deciding.append(key)
    return impact, ", ".join(deciding)


def config_digests(config: Mapping[str, Any]) -> dict[str, str]:
    """Digest every key of a loaded MkDocs configuration."""
    digests: dict[str, str] = {}
    for key in config:
        try:
            value = config[key]
        except Exception:  # a lazily validated option that cannot be read: always "changed"
            value = object()
        encoded = msgspec.json.encode(_plain(value), order="sorted", enc_hook=_fallback)
        digests[key] = hashlib.blake2b(encoded, digest_size=16).hexdigest()
    return digests


def _plain(value: Any) -> Any:
    """Turn MkDocs's configuration objects into JSON-like data that shows every setting."""
    from mkdocs.plugins import PluginCollection
    from mkdocs.theme import Theme

    if isinstance(value, Theme):
        return {
            "name": value.name,
            "dirs": list(value.dirs),
            "static_templates": sorted(value.static_templates),
            "vars": {k: _plain(value[k]) for k in value},
        }
    if isinstance(value, PluginCollection):
        return [
            [name, type(plugin).__module__, type(plugin).__qualname__, _plain(plugin)]
            for name, plugin in value.items()
        ]
    if isinstance(value, types.ModuleType):
        # A hooks module: its source is its configuration.
        return _file_digest(getattr(value, "__file__", None))
    config = getattr(value, "config", None)
    if config is not None and isinstance(config, Mapping):
        return {k: _plain(v) for k, v in config.items()}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return items if isinstance(value, list | tuple) else sorted(items, key=repr)
    return value


def _file_digest(path: str | None) -> str:
    if path is None:
        return "no file"
    try:
        return hashlib.blake2b(Path(path).read_bytes(), digest_size=16).hexdigest()
    except OSError as error:
        return f"unreadable: {error.strerror}"


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _fallback(value: Any) -> Any:
    # Objects without a JSON form (compiled patterns, callables such as a slugify
    # function): their repr without memory addresses, so two loads of one file agree.
    # Were a repr still unstable, the cost would be a full build, never a stale one.
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    return _ADDRESS.sub("", repr(value))
