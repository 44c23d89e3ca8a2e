"""Bengal sites as incrbuild's protocols, and the small integration a Bengal user needs.

The module has two layers, so that importing it never imports Bengal (which
needs Python 3.14):

- **Wrapping**, on anything shaped like Bengal's objects: :class:`BengalSite`
  presents a Bengal ``Site`` as a :class:`~incrbuild.SiteLike` (Bengal's own
  pages, sections and ``page_by_source_path`` index, never copies);
  :class:`BengalRules` extends an engine's plan with what Bengal's default
  theme shows of one page on others (related posts, tag navigation, docs
  navigation, breadcrumbs, prev/next, listings); :func:`compare` sets a plan
  beside Bengal's own decision.
- **Driving Bengal**: :func:`load_site` and :class:`BengalProject` import
  Bengal when called and raise :class:`ImportError` with an install hint when
  it is missing.
"""

from incrbuild.adapters.bengal._comparison import Comparison, compare
from incrbuild.adapters.bengal._driving import (
    BENGAL_REQUIREMENT,
    AggregatePages,
    BengalBuild,
    BengalProject,
    GeneratedPageTemplates,
    global_inputs,
    load_site,
    require_bengal,
)
from incrbuild.adapters.bengal._rules import (
    NAVIGATION_KEYS,
    SITE_WIDE,
    TAG_INDEX,
    BengalPlan,
    BengalRules,
)
from incrbuild.adapters.bengal._wrapping import BengalSite, discovery_order_key, is_virtual

__all__ = [
    "BENGAL_REQUIREMENT",
    "NAVIGATION_KEYS",
    "SITE_WIDE",
    "TAG_INDEX",
    "AggregatePages",
    "BengalBuild",
    "BengalPlan",
    "BengalProject",
    "BengalRules",
    "BengalSite",
    "Comparison",
    "GeneratedPageTemplates",
    "compare",
    "discovery_order_key",
    "global_inputs",
    "is_virtual",
    "load_site",
    "require_bengal",
]
