"""Plans and commits run with full garbage collections deferred, and leave the collector as found.

A cold plan of a large site builds millions of objects that all survive; each full
collection walks them all (about 3 s of a 15 s cold build at 100,000 pages).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from incrbuild._gc import DEFERRED_THRESHOLD, full_collections_deferred
from incrbuild._state import StateStore
from incrbuild.adapters.files import FilesLoader, open_engine


@pytest.fixture
def threshold() -> Iterator[tuple[int, int, int]]:
    """The collector's thresholds before the test, put back after it whatever happens."""
    saved = gc.get_threshold()
    enabled = gc.isenabled()
    yield saved
    gc.set_threshold(*saved)
    if enabled:
        gc.enable()


def test_plan_and_commit_defer_full_collections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threshold: tuple[int, int, int]
) -> None:
    content = tmp_path / "c"
    content.mkdir()
    (content / "p.md").write_text("---\ntitle: P\n---\nbody\n")
    seen: dict[str, int] = {}
    load = FilesLoader.load

    def observing_load(self: FilesLoader, *args: Any) -> Any:
        seen["plan"] = gc.get_threshold()[2]
        return load(self, *args)

    save = StateStore.save

    def observing_save(self: StateStore, *args: Any, **options: Any) -> bool:
        seen["commit"] = gc.get_threshold()[2]
        return save(self, *args, **options)

    monkeypatch.setattr(FilesLoader, "load", observing_load)
    monkeypatch.setattr(StateStore, "save", observing_save)
    engine = open_engine(content, state_dir=tmp_path / "state")
    engine.commit(engine.plan())
    assert seen == {"plan": DEFERRED_THRESHOLD, "commit": DEFERRED_THRESHOLD}
    assert gc.get_threshold() == threshold


def test_the_threshold_comes_back_after_an_error(threshold: tuple[int, int, int]) -> None:
    inside = []

    def fail() -> None:
        with full_collections_deferred():
            inside.append(gc.get_threshold()[2])
            raise KeyError("x")

    with pytest.raises(KeyError):
        fail()
    assert inside == [DEFERRED_THRESHOLD]
    assert gc.get_threshold() == threshold


def test_nested_uses_leave_the_threshold_to_the_outermost(threshold: tuple[int, int, int]) -> None:
    with full_collections_deferred():
        with full_collections_deferred():
            pass
        assert gc.get_threshold()[2] == DEFERRED_THRESHOLD  # the inner one did not restore
    assert gc.get_threshold() == threshold


def test_a_disabled_collector_or_a_host_retuning_it_is_left_alone(
    threshold: tuple[int, int, int],
) -> None:
    gc.disable()
    with full_collections_deferred():
        assert gc.get_threshold() == threshold
    gc.enable()
    with full_collections_deferred():
        gc.set_threshold(500, 5, 5)  # the host changed its mind meanwhile: its choice stands
    assert gc.get_threshold() == (500, 5, 5)
