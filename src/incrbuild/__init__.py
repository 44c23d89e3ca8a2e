"""incrbuild decides what a static site generator must rebuild after files changed.

Start with :class:`Engine`: give it the host's site (anything shaped like
:class:`SiteLike`) or a :class:`SiteLoader`, call :meth:`Engine.plan`,
render ``plan.pages``, then :meth:`Engine.commit`.  A host extends planning
with :class:`Rule` objects.  Adapters for content trees, in-memory sites,
Bengal and MkDocs live in :mod:`incrbuild.adapters`; fakes and site
generators for tests in :mod:`incrbuild.testing`; the change detector and
the state store in :mod:`incrbuild.lowlevel`.

Every public name is imported on first use (PEP 562), so ``import incrbuild``
costs next to nothing and a command loads only the modules it needs.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # not typing's: importing typing would cost more than this module
if TYPE_CHECKING:  # what type checkers and IDEs see; at run time the table below serves
    from typing import Any

    from incrbuild._detect import ChangeSet, DetectionMode, DetectorStats
    from incrbuild._engine import Engine
    from incrbuild._errors import (
        FrontMatterError,
        IncrbuildError,
        SourceError,
        StateLockedError,
        StateWarning,
        StateWriteError,
    )
    from incrbuild._loading import LoadResult, PageEdit, SiteLoader
    from incrbuild._parallel import (
        Backend,
        Calibration,
        KindPolicy,
        ParallelError,
        ParallelPolicy,
        WorkloadKind,
        calibrate,
    )
    from incrbuild._plan import Plan, PlanStats, Reason, ReasonKind, navigation_order_key
    from incrbuild._registry import IndexRegistry, RegistryStats, tags_from_metadata
    from incrbuild._rules import PageChange, PlanBuilder, Rule, RuleContext
    from incrbuild._watch import (
        ChangeBatch,
        ChangeSource,
        WatchfilesSource,
        WatchSession,
        WatchStats,
    )
    from incrbuild.protocols import PageLike, SectionLike, SiteLike

__version__ = "0.1.0"

__all__ = [
    "Backend",
    "Calibration",
    "ChangeBatch",
    "ChangeSet",
    "ChangeSource",
    "DetectionMode",
    "DetectorStats",
    "Engine",
    "FrontMatterError",
    "IncrbuildError",
    "IndexRegistry",
    "KindPolicy",
    "LoadResult",
    "PageChange",
    "PageEdit",
    "PageLike",
    "ParallelError",
    "ParallelPolicy",
    "Plan",
    "PlanBuilder",
    "PlanStats",
    "Reason",
    "ReasonKind",
    "RegistryStats",
    "Rule",
    "RuleContext",
    "SectionLike",
    "SiteLike",
    "SiteLoader",
    "SourceError",
    "StateLockedError",
    "StateWarning",
    "StateWriteError",
    "WatchSession",
    "WatchStats",
    "WatchfilesSource",
    "WorkloadKind",
    "calibrate",
    "navigation_order_key",
    "tags_from_metadata",
]

#: Which private module defines each public name (a test checks it matches ``__all__``).
_MODULE_OF: dict[str, str] = {
    name: module
    for module, names in {
        "incrbuild._detect": ("ChangeSet", "DetectionMode", "DetectorStats"),
        "incrbuild._engine": ("Engine",),
        "incrbuild._loading": ("LoadResult", "PageEdit", "SiteLoader"),
        "incrbuild._errors": (
            "FrontMatterError",
            "IncrbuildError",
            "SourceError",
            "StateLockedError",
            "StateWarning",
            "StateWriteError",
        ),
        "incrbuild._parallel": (
            "Backend",
            "Calibration",
            "KindPolicy",
            "ParallelError",
            "ParallelPolicy",
            "WorkloadKind",
            "calibrate",
        ),
        "incrbuild._plan": ("Plan", "PlanStats", "Reason", "ReasonKind", "navigation_order_key"),
        "incrbuild._registry": ("IndexRegistry", "RegistryStats", "tags_from_metadata"),
        "incrbuild._rules": ("PageChange", "PlanBuilder", "Rule", "RuleContext"),
        "incrbuild._watch": (
            "ChangeBatch",
            "ChangeSource",
            "WatchfilesSource",
            "WatchSession",
            "WatchStats",
        ),
        "incrbuild.protocols": ("PageLike", "SectionLike", "SiteLike"),
    }.items()
    for name in names
}


#: Names that moved to a public tier of their own; still served, with a warning.
_MOVED: dict[str, str] = {
    "ChangeDetector": "incrbuild.lowlevel",
    "StateStore": "incrbuild.lowlevel",
    "content_digest": "incrbuild.lowlevel",
    "FakeChangeSource": "incrbuild.testing",
    "SyntheticSite": "incrbuild.testing",
    "generate_site": "incrbuild.testing",
}


def __getattr__(name: str) -> Any:
    """Import the module defining public *name* on first use, then cache the name here."""
    module = _MODULE_OF.get(name)
    if module is None and name in _MOVED:
        import warnings

        module = _MOVED[name]
        warnings.warn(
            f"incrbuild.{name} moved to {module}.{name}", DeprecationWarning, stacklevel=2
        )
        return getattr(importlib.import_module(module), name)
    if module is None:
        raise AttributeError(f"module 'incrbuild' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
