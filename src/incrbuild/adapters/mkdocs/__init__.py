"""incrbuild for MkDocs 1.6: the ``incrbuild`` plugin and its planning rules.

Add ``incrbuild`` to ``plugins:`` in ``mkdocs.yml`` (after ``search``); then
``mkdocs build --dirty`` and ``mkdocs serve --dirty`` rebuild exactly what
changed and leave a site equal to a clean build.  See ``docs/mkdocs.md``.
"""

from __future__ import annotations

from incrbuild.adapters.mkdocs._config import ConfigImpact, config_digests, config_impact
from incrbuild.adapters.mkdocs._plugin import (
    SUPPORTED_MKDOCS,
    IncrbuildPlugin,
    IncrbuildPluginConfig,
    MkDocsRules,
)
from incrbuild.adapters.mkdocs._rules import ConfigRule, NavigationRule, nav_signature

__all__ = [
    "SUPPORTED_MKDOCS",
    "ConfigImpact",
    "ConfigRule",
    "IncrbuildPlugin",
    "IncrbuildPluginConfig",
    "MkDocsRules",
    "NavigationRule",
    "config_digests",
    "config_impact",
    "nav_signature",
]
