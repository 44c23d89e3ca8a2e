"""The public surface: what ``import incrbuild`` offers, and nothing by accident."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import incrbuild

EXPECTED = [
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
            "import sys; before = set(sys.modules); import incrbuild; "
            "bad = [m for m in set(sys.modules) - before if m.startswith(('bengal', 'watchfiles', "
            "'dask', "
            "'distributed', 'incrbuild.adapters'))]; print(bad)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "[]"


LOWLEVEL = [
    "ChangeDetector",
    "Detection",
    "DirRecord",
    "FileRecord",
    "State",
    "StateStore",
    "content_digest",
]
TESTING = ["FakeChangeSource", "MemoryLoader", "RecordingRule", "SyntheticSite", "generate_site"]


class TestTiers:
    @pytest.mark.parametrize(
        ("module", "expected"),
        [("incrbuild.lowlevel", LOWLEVEL), ("incrbuild.testing", TESTING)],
    )
    def test_each_tier_exports_exactly(self, module: str, expected: list[str]) -> None:
        """The low-level and testing tiers list exactly their names, sorted and documented."""
        imported = importlib.import_module(module)
        assert imported.__all__ == expected
        for name in expected:
            assert getattr(getattr(imported, name), "__doc__", None), name

    def test_moved_names_still_resolve_with_a_warning(self) -> None:
        """Names that moved out of the top level still import, with a DeprecationWarning."""
        from incrbuild.testing import generate_site

        with pytest.warns(DeprecationWarning, match=r"incrbuild\.testing\.generate_site"):
            assert incrbuild.generate_site is generate_site  # type: ignore[attr-defined]

    def test_no_public_signature_names_a_private_type(self) -> None:
        """Every annotation on the public classes' methods resolves to a public name."""
        import inspect
        import typing

        public = {
            id(obj)
            for module in (incrbuild, importlib.import_module("incrbuild.lowlevel"))
            for obj in (getattr(module, name) for name in module.__all__)
        }
        for name in incrbuild.__all__:
            obj = getattr(incrbuild, name)
            if not inspect.isclass(obj):
                continue
            for attr, member in vars(obj).items():
                if attr.startswith("_") and attr != "__init__":
                    continue
                function = member.fget if isinstance(member, property) else member
                if not callable(function):
                    continue
                try:
                    hints = typing.get_type_hints(function, localns=_TYPE_CHECKING_NAMES)
                except Exception:  # forward references to TYPE_CHECKING-only names
                    continue
                for parameter, hint in hints.items():
                    if parameter.startswith("_"):
                        continue  # a private parameter (the engine's handle on a plan)
                    for found in _classes_in(hint):
                        if found.__module__.startswith("incrbuild."):
                            assert id(found) in public, f"{name}.{attr}: {found}"


#: Names public modules import only for type checkers.
_TYPE_CHECKING_NAMES = {"Executor": __import__("concurrent.futures").futures.Executor}


def _classes_in(hint: object) -> list[type]:
    import typing

    found: list[type] = []
    if isinstance(hint, type):
        found.append(hint)
    for argument in typing.get_args(hint):
        found.extend(_classes_in(argument))
    return found
