"""The public surface: what ``import incrbuild`` offers, and nothing by accident."""

from __future__ import annotations

import subprocess
import sys

import incrbuild

EXPECTED = [
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


class TestPublicAPI:
    def test_all_is_exactly_the_expected_names(self) -> None:
        """``__all__`` lists exactly the intended public names."""
        assert incrbuild.__all__ == EXPECTED

    def test_all_is_sorted(self) -> None:
        """``__all__`` stays sorted so additions are reviewed in one place."""
        assert incrbuild.__all__ == sorted(incrbuild.__all__)

    def test_every_name_exists_and_is_documented(self) -> None:
        """Every public name resolves and carries a docstring."""
        for name in incrbuild.__all__:
            obj = getattr(incrbuild, name)
            assert getattr(obj, "__doc__", None), name

    def test_import_does_not_import_adapters_or_optional_extras(self) -> None:
        """``import incrbuild`` pulls in no adapter, Bengal, watchfiles or dask."""
        code = (
            "import sys, incrbuild; "
            "bad = [m for m in sys.modules if m.startswith(('bengal', 'watchfiles', 'dask', "
            "'distributed', 'incrbuild.adapters'))]; print(bad)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "[]"
