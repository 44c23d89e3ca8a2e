"""A cold build reads each page source once: the detector's bytes feed the loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from incrbuild.adapters.files import open_engine


def make_pages(root: Path, count: int = 6) -> list[Path]:
    made = []
    for i in range(count):
        path = root / f"s{i % 2}" / f"p{i}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\ntitle: P{i}\ntags: [t{i % 3}]\n---\nbody {i}\n")
        made.append(path)
    (root / "s0" / "logo.svg").write_text("<svg/>")
    return made


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every path whose bytes are read through ``Path.read_bytes`` (the loader's own read)."""
    seen: list[Path] = []
    original = Path.read_bytes

    def counting(self: Path) -> bytes:
        seen.append(self)
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    return seen


def test_cold_and_warm_plans_open_no_page_twice(tmp_path: Path, opened: list[Path]) -> None:
    """Cold: every page parsed from the detector's bytes; warm: the edited page likewise."""
    pages = make_pages(tmp_path / "c")
    engine = open_engine(tmp_path / "c", state_dir=tmp_path / "st")
    plan = engine.plan()
    assert plan.stats.pages_read == 6
    assert [p for p in opened if p.suffix == ".md"] == []
    assert engine.site.pages[0].metadata["title"] == "P0"
    engine.commit(plan)
    pages[3].write_text("---\ntitle: P3 new\ntags: [t9]\n---\nbody\n")
    plan = engine.plan()
    assert plan.changes.modified == {pages[3]}
    assert [p for p in opened if p.suffix == ".md"] == []
    page = next(p for p in engine.site.pages if p.source_path == pages[3])
    assert page.metadata["title"] == "P3 new"


def test_bytes_not_taken_are_dropped(tmp_path: Path) -> None:
    """Nothing stays kept after a loader call (a touched page, an asset)."""
    make_pages(tmp_path / "c")
    engine = open_engine(tmp_path / "c", state_dir=tmp_path / "st")
    engine.commit(engine.plan())
    (tmp_path / "c" / "s0" / "logo.svg").write_text("<svg>new</svg>")
    engine.commit(engine.plan())
    loader = engine._loader
    assert loader is not None
    assert loader.contents is not None  # type: ignore[attr-defined]
    assert loader.contents._data == {}  # type: ignore[attr-defined]
