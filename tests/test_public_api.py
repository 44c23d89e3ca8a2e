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
    "detector_of",
    "state_of",
    "store_of",
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
_TYPE_CHECKING_NAMES = {
    "Executor": __import__("concurrent.futures").futures.Executor,
    # The engine imports these when first needed (a no-op plan needs neither).
    "IndexRegistry": importlib.import_module("incrbuild._registry").IndexRegistry,
    "Rule": importlib.import_module("incrbuild._rules").Rule,
}


def _classes_in(hint: object) -> list[type]:
    import typing

    found: list[type] = []
    if isinstance(hint, type):
        found.append(hint)
    for argument in typing.get_args(hint):
        found.extend(_classes_in(argument))
    return found


#: Every public attribute of a Plan: what a host acts on, nothing of how it was made.
PLAN_PUBLIC = [
    "changes",
    "full",
    "output_reasons",
    "outputs",
    "pages",
    "partial",
    "reasons",
    "removed_outputs",
    "removed_pages",
    "removed_terms",
    "root",
    "sections",
    "stats",
    "term_reasons",
    "terms",
    "why",
]
#: Every public attribute of an Engine: the facade (detector, store and state are private).
ENGINE_PUBLIC = [
    "commit",
    "content_dir",
    "key_for",
    "last_commit_id",
    "path_for",
    "plan",
    "plan_paths",
    "record_dependencies",
    "record_outputs",
    "record_reads",
    "registry",
    "set_site",
    "site",
    "state_dir",
    "taxonomies",
    "tracks",
]


def _public_names(obj: object) -> list[str]:
    return sorted(name for name in dir(obj) if not name.startswith("_"))


def _made_engine_and_plan(tmp_path: object) -> tuple[incrbuild.Engine, incrbuild.Plan]:
    from pathlib import Path

    from incrbuild.adapters.simple import SimplePage, assemble_site

    root = Path(str(tmp_path)) / "content"
    root.mkdir()
    (root / "a.md").write_text("---\ntitle: A\n---\nbody\n")
    site = assemble_site(root, [SimplePage(root / "a.md", {"title": "A"})])
    engine = incrbuild.Engine(site, state_dir=Path(str(tmp_path)) / "state")
    plan = engine.plan()
    engine.commit(plan)
    return engine, plan


def _forbidden_module(module: str) -> bool:
    """A type from a private module or the low-level tier: not for the facade to return."""
    if not module.startswith("incrbuild"):
        return False
    return module == "incrbuild.lowlevel" or any(
        part.startswith("_") and part != "__init__" for part in module.split(".")
    )


class TestClosedFacade:
    """Plan and Engine expose exactly the listed attributes, none of a low-level type."""

    def test_plan_public_attributes_are_exactly_the_listed_ones(self, tmp_path: object) -> None:
        """A new public attribute on Plan must be added here on purpose."""
        _, plan = _made_engine_and_plan(tmp_path)
        assert _public_names(plan) == PLAN_PUBLIC

    def test_engine_public_attributes_are_exactly_the_listed_ones(self, tmp_path: object) -> None:
        """A new public attribute on Engine (class or instance) must be added here on purpose."""
        engine, _ = _made_engine_and_plan(tmp_path)
        assert _public_names(engine) == ENGINE_PUBLIC

    @pytest.mark.parametrize("which", ["plan", "engine"])
    def test_no_public_attribute_is_of_a_private_or_lowlevel_type(
        self, tmp_path: object, which: str
    ) -> None:
        """What each public attribute holds, and what each method is annotated to take and
        return, is a public type of the top tier (values are checked as found at run time)."""
        import inspect
        import typing

        engine, plan = _made_engine_and_plan(tmp_path)
        obj: object = plan if which == "plan" else engine
        lowlevel = importlib.import_module("incrbuild.lowlevel")
        lowlevel_ids = {id(getattr(lowlevel, name)) for name in lowlevel.__all__}
        bad = []
        for name in _public_names(obj):
            member = inspect.getattr_static(type(obj), name, None)
            if callable(member) and not isinstance(member, property):
                hints = typing.get_type_hints(member, localns=_TYPE_CHECKING_NAMES)
                found = _classes_in(hints.get("return"))
                for parameter, hint in hints.items():
                    if parameter != "return":
                        found.extend(_classes_in(hint))
            else:
                found = [type(getattr(obj, name))]
                if isinstance(member, property):
                    hints = typing.get_type_hints(member.fget, localns=_TYPE_CHECKING_NAMES)
                    found.extend(_classes_in(hints.get("return")))
            for cls in found:
                if _forbidden_module(cls.__module__) and (
                    getattr(incrbuild, cls.__name__, None) is not cls or id(cls) in lowlevel_ids
                ):
                    bad.append(f"{which}.{name}: {cls.__module__}.{cls.__qualname__}")
        assert bad == []

    def test_lowlevel_hands_out_what_the_engine_keeps_private(self, tmp_path: object) -> None:
        """Tools reach the detector, store and state through incrbuild.lowlevel."""
        from incrbuild import lowlevel

        engine, _ = _made_engine_and_plan(tmp_path)
        state = lowlevel.state_of(engine)
        assert isinstance(state, lowlevel.State)
        assert state.commit_id == engine.last_commit_id != ""
        assert isinstance(lowlevel.detector_of(engine), lowlevel.ChangeDetector)
        assert lowlevel.store_of(engine).load() == state
        assert engine.tracks(engine.content_dir / "a.md")
        assert not engine.tracks(engine.content_dir / "b.md")


class TestAdaptersUsePublicNamesOnly:
    """Host adapters use incrbuild through its public names only (issue 13)."""

    @pytest.mark.parametrize("adapter", ["bengal", "mkdocs"])
    def test_no_private_incrbuild_names(self, adapter: str) -> None:
        """No ``incrbuild._x`` import and no ``._x`` attribute of another object."""
        import re
        from pathlib import Path

        package = Path(incrbuild.__file__).parent / "adapters" / adapter
        sources = sorted(package.glob("*.py"))
        assert sources
        found = []
        for source in sources:
            for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                if re.search(r"\bincrbuild\._", code):
                    found.append(f"{source.name}:{number}: {line.strip()}")
                for match in re.finditer(r"(\w+)\._(?!_)\w", code):
                    if match.group(1) not in _OWN_OBJECTS[adapter]:
                        found.append(f"{source.name}:{number}: {line.strip()}")
        assert found == []


#: Names whose private attributes an adapter may touch: its own objects and its host's
#: modules and objects (Bengal's and MkDocs's internals are the adapter's business,
#: incrbuild's are not).
_OWN_OBJECTS = {
    "bengal": {"self", "cls", "bengal"},
    "mkdocs": {"self", "cls", "mkdocs", "search"},
}
