"""The search plugins the MkDocs plugin knows: MkDocs's ``search`` and Material's
``material/search``.

Both add a page's entries to a list while the page renders (``on_page_context``)
and write ``search/search_index.json`` from that list in ``on_post_build``.  The
plugin reads each rendered page's new entries and, before the index is written,
replaces the list with every page's entries in build order.  Anything else about
them (their configuration, language files) is in ``mkdocs.yml``, digested.
"""

from __future__ import annotations

from typing import Any, Final, final

__all__ = ["MATERIAL_SEARCH", "SearchList", "find_search", "is_known_search"]

#: Material for MkDocs's search plugin class, by module and name (Material is optional).
MATERIAL_SEARCH: Final = ("material.plugins.search.plugin", "SearchPlugin")


def _is_material_search(plugin: Any) -> bool:
    kind = type(plugin)
    return (kind.__module__, kind.__qualname__) == MATERIAL_SEARCH


def is_known_search(plugin: Any) -> bool:
    """Whether *plugin* is one of the search plugins whose index the plugin keeps."""
    from mkdocs.contrib.search import SearchPlugin

    return type(plugin) is SearchPlugin or _is_material_search(plugin)


@final
class SearchList:
    """The entry list of one search plugin's index in this build."""

    def __init__(self, plugin: Any, index: Any, attribute: str) -> None:
        self._plugin = plugin
        self._index = index
        self._attribute = attribute

    @property
    def entries(self) -> list[dict[str, Any]]:
        """The entries added so far in this build, in order."""
        return getattr(self._index, self._attribute)  # type: ignore[no-any-return]

    def replace(self, entries: list[dict[str, Any]]) -> None:
        """Make *entries* the whole index."""
        setattr(self._index, self._attribute, entries)

    def complete(self) -> None:
        """Say the list is the whole index (every page's entries, or a full build's)."""
        if _is_material_search(self._plugin):
            # Under `serve --dirty` Material merges the previous rebuild's index into
            # this one, assuming one page was rebuilt: with the plugin the list is
            # complete, and a merge would duplicate entries.
            self._plugin.search_index_prev = None


def find_search(plugins: Any) -> SearchList | None:
    """The known search plugin's entry list among *plugins*, if one is enabled."""
    from mkdocs.contrib.search import SearchPlugin

    for plugin in plugins.values():
        index = getattr(plugin, "search_index", None)
        if index is None:
            continue
        if type(plugin) is SearchPlugin:
            return SearchList(plugin, index, "_entries")
        if _is_material_search(plugin):
            return SearchList(plugin, index, "entries")
    return None
