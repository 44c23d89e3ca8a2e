"""incrbuild decides what a static site generator must rebuild after files changed.

Start with :class:`Engine`: give it the host's site (anything shaped like
:class:`SiteLike`), call :meth:`Engine.plan`, render ``plan.pages``, then
:meth:`Engine.commit`.  Adapters for content trees, in-memory sites and
Bengal live in :mod:`incrbuild.adapters`.
"""

from __future__ import annotations

from incrbuild._detect import (
    ChangeDetector,
    ChangeSet,
    DetectionMode,
    DetectorStats,
    content_digest,
)
from incrbuild._engine import Engine, SiteLoader
from incrbuild._errors import (
    FrontMatterError,
    IncrbuildError,
    SourceError,
    StateLockedError,
    StateWarning,
    StateWriteError,
)
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
from incrbuild._state import StateStore
from incrbuild._synthetic import SyntheticSite, generate_site
from incrbuild._watch import (
    ChangeBatch,
    ChangeSource,
    FakeChangeSource,
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
    "ChangeDetector",
    "ChangeSet",
    "ChangeSource",
    "DetectionMode",
    "DetectorStats",
    "Engine",
    "FakeChangeSource",
    "FrontMatterError",
    "IncrbuildError",
    "IndexRegistry",
    "KindPolicy",
    "PageLike",
    "ParallelError",
    "ParallelPolicy",
    "Plan",
    "PlanStats",
    "Reason",
    "ReasonKind",
    "RegistryStats",
    "SectionLike",
    "SiteLike",
    "SiteLoader",
    "SourceError",
    "StateLockedError",
    "StateStore",
    "StateWarning",
    "StateWriteError",
    "SyntheticSite",
    "WatchSession",
    "WatchStats",
    "WatchfilesSource",
    "WorkloadKind",
    "calibrate",
    "content_digest",
    "generate_site",
    "navigation_order_key",
    "tags_from_metadata",
]
