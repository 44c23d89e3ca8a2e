"""``mkdocs serve`` without ``--dirty``: rebuilds after the first one made incremental.

MkDocs 1.6's ``serve`` builds into a temporary directory and, by default, cleans
it and builds everything on every change (``dirty=False``).  The plugin makes the
rebuilds after the first build dirty ones it plans itself, which leave the
directory byte-identical to a clean build (the oracle's claim).

The seam is the narrowest ``mkdocs/commands/serve.py`` offers: its ``builder``
closure calls the module's ``build`` with ``dirty=is_dirty``.  The server's
builder is replaced by a wrapper that, while the original runs, binds that
module's ``build`` to one forcing ``dirty=True``.  Anything else is unchanged: the
closure still reloads ``mkdocs.yml`` and sets the serve URL.  MkDocs's warning
about dirty builds is filtered out during those calls (the user did not ask for
``--dirty``; the plugin vouches for the result).  If ``serve.py`` is not shaped
as expected the builder is left alone: full rebuilds, as without the plugin.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

__all__ = ["DIRTY_WARNING", "make_rebuilds_incremental"]

log = logging.getLogger("mkdocs.plugins.incrbuild")

#: The start of the warning ``mkdocs.commands.build`` logs for every dirty build.
DIRTY_WARNING: Final = "A 'dirty' build is being performed"


class _DropDirtyWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(DIRTY_WARNING)


def make_rebuilds_incremental(server: Any, builder: Callable[..., None]) -> bool:
    """Replace ``server.builder`` by a wrapper whose builds are dirty; ``False`` if
    *builder* is not the one ``mkdocs.commands.serve`` made (then nothing changes)."""
    import mkdocs.commands.serve as serve_module

    code = getattr(builder, "__code__", None)
    # The names the closure looks up at call time: serve.py's module namespace.
    namespace: dict[str, Any] | None = getattr(builder, "__globals__", None)
    if (
        namespace is not vars(serve_module)
        or code is None
        or "build" not in code.co_names
        or not callable(namespace.get("build"))
        or getattr(server, "builder", None) is not builder
    ):
        return False

    def incremental_builder(config: Any = None) -> None:
        assert namespace is not None
        original = namespace["build"]

        def dirty_build(config: Any, *args: Any, **kwargs: Any) -> None:
            kwargs["dirty"] = True
            original(config, *args, **kwargs)

        build_log = logging.getLogger("mkdocs.commands.build")
        drop = _DropDirtyWarning()
        build_log.addFilter(drop)
        namespace["build"] = dirty_build
        try:
            builder(config)
        finally:
            namespace["build"] = original
            build_log.removeFilter(drop)

    server.builder = incremental_builder
    return True
