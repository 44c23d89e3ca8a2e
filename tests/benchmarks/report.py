"""Write docs/benchmarks.md: incrbuild beside the RFC's baseline, git and the stat floor.

Run ``python tests/benchmarks/report.py`` (``nox -s bench`` runs it after the
pytest-benchmark suites).  Everything in the report is measured in this one
process, on the same generated trees, so ratios compare like with like.  Set
``INCRBUILD_BENCH_LONG=1`` to add 100,000 pages.  Figures are the best of
several runs (the least disturbed by other load) unless marked otherwise.
"""

from __future__ import annotations

import datetime
import gc
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from importlib import metadata
from pathlib import Path
from typing import Any

import fastpaths
from benchsites import EDITS, BenchSite, best_of, stat_relative
from rfc_baseline import CascadeTracker, Counters, all_sections, build_xref_index
from rfc_baseline import incremental_decision as baseline_decision

from incrbuild import DetectionMode, Engine, IndexRegistry
from incrbuild.adapters.files import load_site
from incrbuild.adapters.simple import SimplePage, SimpleSection, SimpleSite
from incrbuild.lowlevel import StateStore, detector_of, state_of

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
IMAGES = DOCS / "img"
LONG = bool(os.environ.get("INCRBUILD_BENCH_LONG"))
SIZES = [1_000, 5_000, 10_000] + ([100_000] if LONG else [])
if os.environ.get("INCRBUILD_BENCH_SIZES"):  # e.g. "1000" for a quick check of the report
    SIZES = [int(size) for size in os.environ["INCRBUILD_BENCH_SIZES"].split(",")]
MODES = [DetectionMode.STAT, DetectionMode.CONTENT, DetectionMode.DIRECTORY_MTIME]
EDIT_ROUNDS = 5
FASTPATH_SIZES = [1_000, 10_000] + ([100_000] if LONG else [])
if os.environ.get("INCRBUILD_BENCH_FASTPATH_SIZES"):
    FASTPATH_SIZES = [int(n) for n in os.environ["INCRBUILD_BENCH_FASTPATH_SIZES"].split(",")]
#: "fastpaths": measure only the issue-16 section; the rest is re-rendered from benchmarks.json.
ONLY = os.environ.get("INCRBUILD_BENCH_ONLY", "")


def repeats_for(pages: int) -> int:
    return 15 if pages <= 10_000 else 5


# -- one size ---------------------------------------------------------------------------


def measure_size(pages: int) -> dict[str, Any]:
    """Every per-size figure of the report, on one generated tree."""
    print(f"[{pages} pages] generating", flush=True)
    site = BenchSite(pages, git=True)
    try:
        return _measure(site)
    finally:
        site.close()


def _measure(site: BenchSite) -> dict[str, Any]:
    pages = site.pages
    repeats = repeats_for(pages)
    row: dict[str, Any] = {"pages": pages}
    files = site.all_files()
    row["files"] = len(files)
    print(f"[{pages} pages] references", flush=True)
    row["floor_s"] = best_of(lambda: [os.stat(name) for name in files], repeats)
    groups = site.files_by_directory()
    row["floor_fd_s"] = best_of(lambda: stat_relative(groups), repeats)
    row["git_s"] = best_of(site.git_status, repeats)

    # The baseline needs a discovered site; discovery itself is timed apart.
    started = time.perf_counter()
    model = load_site(site.content)
    row["discovery_s"] = time.perf_counter() - started
    sections = all_sections(model)
    row["sections"] = len(sections)
    last_build = time.time()
    row["baseline_noop_s"] = best_of(
        lambda: baseline_decision(model, sections, last_build), repeats
    )
    _, counters = baseline_decision(model, sections, last_build)
    row["baseline_syscalls"] = counters.exists_calls + counters.stat_calls
    row["baseline_xref_heading_loop_s"] = best_of(lambda: build_xref_index(model), repeats)

    print(f"[{pages} pages] incrbuild no-op, per mode", flush=True)
    row["modes"] = {}
    for mode in MODES:
        engine = site.open_engine(mode, name=f"state-{mode.value}")
        state = state_of(engine)
        detection = detector_of(engine).detect(state)
        stats = detection.stats
        row["modes"][mode.value] = {
            "noop_detect_s": best_of(lambda e=engine, s=state: detector_of(e).detect(s), repeats),
            "noop_plan_s": best_of(engine.plan, repeats),
            "syscalls": stats.files_stat + stats.dirs_stat + stats.dirs_listed,
            "digests": stats.digests,
        }
    engine = site.open_engine(DetectionMode.STAT, name="state-registry")
    engine.plan()
    row["page_index_builds_first_plan"] = engine.registry.stats.page_index_builds
    row["heading_index_builds_at_discovery"] = engine.registry.stats.heading_index_builds

    print(f"[{pages} pages] edits", flush=True)
    row["edits"] = _measure_edits(site)
    # Per plan of an edit (the baseline builds its indexes lazily, so a no-op builds fewer).
    row["page_index_builds"] = max(e["page_index_builds"] for e in row["edits"].values())
    row["baseline_page_index_builds"] = max(
        e["baseline_page_index_builds"] for e in row["edits"].values()
    )
    row["store"] = _measure_store(site, repeats)
    row["memory"] = _measure_memory(site)
    return row


def _measure_edits(site: BenchSite) -> dict[str, Any]:
    """Each kind of edit, planned by a full scan, from its events, and by the baseline."""
    events = _measure_event_plans(site)
    found: dict[str, Any] = {}
    engines = {mode: site.open_engine(mode, name=f"edit-{mode.value}") for mode in MODES}
    for kind, edit in EDITS.items():
        per_mode: dict[str, list[float]] = {mode.value: [] for mode in MODES}
        misses: dict[str, int] = {mode.value: 0 for mode in MODES}
        planned: list[int] = []
        baseline: list[float] = []
        baseline_planned: list[int] = []
        baseline_misses = 0
        index_builds: list[int] = []
        baseline_index_builds: list[int] = []
        for _ in range(EDIT_ROUNDS):
            before = time.time()
            time.sleep(0.01)  # the baseline compares mtimes with the last build's time
            paths = edit(site)
            for mode, engine in engines.items():
                builds_before = engine.registry.stats.page_index_builds
                started = time.perf_counter()
                plan = engine.plan()
                per_mode[mode.value].append(time.perf_counter() - started)
                changed = plan.changes.added | plan.changes.modified | plan.changes.removed
                misses[mode.value] += sum(1 for path in paths if path not in changed)
                if mode is DetectionMode.STAT:
                    planned.append(len(plan.pages))
                    index_builds.append(engine.registry.stats.page_index_builds - builds_before)
                engine.commit(plan)
            model = load_site(site.content)  # discovery: not part of the baseline's figure
            sections = all_sections(model)
            started = time.perf_counter()
            affected, counters = baseline_decision(model, sections, before)
            baseline_index_builds.append(counters.page_index_builds)
            baseline.append(time.perf_counter() - started)
            baseline_planned.append(len(affected))
            baseline_misses += sum(1 for path in paths if path.exists() and path not in affected)
        found[kind] = {
            "plan_s": {mode: median(values) for mode, values in per_mode.items()},
            "misses": misses,
            "event_plan_s": events[kind],
            "pages_planned": median(planned),
            "baseline_s": median(baseline),
            "baseline_pages": median(baseline_planned),
            "baseline_misses": baseline_misses,
            "page_index_builds": max(index_builds),
            "baseline_page_index_builds": max(baseline_index_builds),
        }
    return found


def _measure_event_plans(site: BenchSite) -> dict[str, float]:
    """Each kind of edit planned from its watcher events, with one engine alive.

    Measured apart from the full-scan engines: four engines' site models in one heap
    make the collector's pauses, not the plan, dominate a sub-millisecond figure.
    """
    engine = site.open_engine(DetectionMode.STAT, name="edit-events")
    found = {}
    for kind, edit in EDITS.items():
        times = []
        for _ in range(EDIT_ROUNDS * 2):
            paths = edit(site)
            started = time.perf_counter()
            plan = engine.plan_paths(paths)
            times.append(time.perf_counter() - started)
            engine.commit(plan)
        found[kind] = median(times)
    return found


def median(values: list[float] | list[int]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def _measure_store(site: BenchSite, repeats: int) -> dict[str, float]:
    engine = site.open_engine(DetectionMode.STAT, name="store")
    state = state_of(engine)
    store = StateStore(site.workdir / "store")
    store.save(state)
    gc.collect()  # what the report's own garbage costs is not the store's figure
    path = site.workdir / "store" / "state.bin"
    return {
        "load_s": best_of(store.load, repeats),
        "save_s": best_of(lambda: store.save(state), repeats),
        "bytes": path.stat().st_size,
    }


def _measure_memory(site: BenchSite) -> dict[str, float]:
    """Peak traced allocation of a cold full plan + commit, and what a warm engine retains."""
    tracemalloc.start()
    try:
        engine: Engine = site.open_engine(DetectionMode.STAT, name="memory")
        _, peak_cold = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        engine.plan()
        retained, peak_noop = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {
        "cold_peak_mb": peak_cold / 2**20,
        "noop_peak_mb": peak_noop / 2**20,
        "retained_mb": retained / 2**20,
    }


# -- owning section, in memory --------------------------------------------------------------


def measure_owner_lookup(section_counts: list[int]) -> list[dict[str, float]]:
    """Time per "which section owns this index page": the RFC's scan vs the reverse map."""
    rows = []
    rng = random.Random(5)
    for count in section_counts:
        sections = []
        pages: list[SimplePage] = []
        for number in range(count):
            directory = Path(f"/site/s{number:05d}")
            index = SimplePage(source_path=directory / "_index.md", metadata={"cascade": {"a": 1}})
            page = SimplePage(source_path=directory / "p.md", metadata={})
            section = SimpleSection(path=directory, pages=[page], index_page=index)
            sections.append(section)
            pages += [index, page]
        model = SimpleSite(root_path=Path("/site"), pages=pages, sections=sections)
        flat = all_sections(model)
        tracker = CascadeTracker(model, flat, Counters())
        registry = IndexRegistry(model)
        registry.section_for_index(sections[0].index_page)  # build the maps once, untimed
        picks = [rng.choice(sections).index_page for _ in range(200)]

        def scan(picks: list[Any] = picks, flat: list[Any] = flat) -> None:
            for index_page in picks:
                for section in flat:
                    if section.index_page == index_page:
                        break

        def reverse(picks: list[Any] = picks, registry: IndexRegistry = registry) -> None:
            for index_page in picks:
                registry.section_for_index(index_page)

        rows.append(
            {
                "sections": count,
                "scan_s": best_of(scan, 5) / len(picks),
                "reverse_s": best_of(reverse, 5) / len(picks),
            }
        )
        del tracker
    return rows


# -- the report -------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    tmp_fs = subprocess.run(
        ["stat", "-f", "-c", "%T", tempfile.gettempdir()], capture_output=True, text=True
    ).stdout.strip()
    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    versions = {
        name: metadata.version(name) for name in ("incrbuild", "attrs", "msgspec", "PyYAML")
    }
    try:
        versions["doit"] = metadata.version("doit")
    except metadata.PackageNotFoundError:
        versions["doit"] = "not installed"
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "date": datetime.date.today().isoformat(),
        "cpu": f"{cpu}, {os.cpu_count()} CPUs",
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "filesystem": tmp_fs or "unknown",
        "git": git,
        "commit": commit,
        **versions,
    }


def ms(seconds: float) -> str:
    if seconds >= 0.1:
        return f"{seconds * 1e3:.0f} ms"
    if seconds >= 0.001:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def plots(results: dict[str, Any]) -> list[str]:
    """Log-log PNGs of time vs pages; returns their paths relative to docs/."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plots", flush=True)
        return []
    IMAGES.mkdir(parents=True, exist_ok=True)
    rows = results["sizes"]
    sizes = [row["pages"] for row in rows]
    made = []

    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.plot(
        sizes, [r["floor_s"] * 1e3 for r in rows], "k--", marker="o", label="os.stat loop (floor)"
    )
    axes.plot(
        sizes,
        [r["floor_fd_s"] * 1e3 for r in rows],
        "k-.",
        marker="d",
        label="os.stat relative to dir fds",
    )
    axes.plot(
        sizes, [r["git_s"] * 1e3 for r in rows], "k:", marker="s", label="git status --porcelain"
    )
    axes.plot(sizes, [r["baseline_noop_s"] * 1e3 for r in rows], marker="x", label="RFC baseline")
    for mode in MODES:
        axes.plot(
            sizes,
            [r["modes"][mode.value]["noop_detect_s"] * 1e3 for r in rows],
            marker="o",
            label=f"incrbuild {mode.value}",
        )
    _finish(axes, "No-op change detection", "ms")
    figure.savefig(IMAGES / "noop-detection.png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    made.append("img/noop-detection.png")

    figure, axes = plt.subplots(figsize=(7, 4.5))
    for kind in EDITS:
        axes.plot(
            sizes,
            [r["edits"][kind]["plan_s"]["stat"] * 1e3 for r in rows],
            marker="o",
            label=f"{kind}: full scan plan",
        )
        axes.plot(
            sizes,
            [r["edits"][kind]["event_plan_s"] * 1e3 for r in rows],
            marker="^",
            linestyle="--",
            label=f"{kind}: from watcher events",
        )
    _finish(axes, "Planning one edit (stat mode)", "ms")
    figure.savefig(IMAGES / "edit-planning.png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    made.append("img/edit-planning.png")

    owners = results["owner_lookup"]
    figure, axes = plt.subplots(figsize=(7, 4.5))
    counts = [row["sections"] for row in owners]
    axes.plot(counts, [row["scan_s"] * 1e6 for row in owners], marker="x", label="RFC: O(S) scan")
    axes.plot(
        counts,
        [row["reverse_s"] * 1e6 for row in owners],
        marker="o",
        label="incrbuild: section_for_index",
    )
    _finish(axes, "Which section owns this index page", "µs per lookup", xlabel="sections")
    figure.savefig(IMAGES / "owner-lookup.png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    made.append("img/owner-lookup.png")
    return made


def _finish(axes: Any, title: str, unit: str, *, xlabel: str = "pages") -> None:
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(unit)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)


def render(results: dict[str, Any], images: list[str]) -> str:
    info = results["machine"]
    rows = results["sizes"]
    biggest = rows[-1] if rows[-1]["pages"] <= 10_000 else rows[-2]
    ten_k = next((r for r in rows if r["pages"] == 10_000), biggest)
    stat_mode = ten_k["modes"]["stat"]
    owners = results["owner_lookup"]
    out: list[str] = []
    add = out.append
    add("# Benchmarks: incrbuild beside the RFC's baseline, git and the floor\n")
    add(
        "Generated by `tests/benchmarks/report.py` (`nox -s bench`); do not edit by hand. "
        "Every figure was measured in one run, on the same generated trees, on this machine:\n"
    )
    add("| | |\n|---|---|")
    for key, value in info.items():
        add(f"| {key} | {value} |")
    add("")
    add("## Headline (10,000 pages)\n")
    add("| what | measured | goal | met? |\n|---|---:|---:|---|")
    floor_ratio = stat_mode["noop_detect_s"] / ten_k["floor_s"]
    fd_floor_ratio = stat_mode["noop_detect_s"] / ten_k["floor_fd_s"]
    baseline_ratio = ten_k["baseline_noop_s"] / stat_mode["noop_detect_s"]
    git_ratio = stat_mode["noop_detect_s"] / ten_k["git_s"]
    store = ten_k["store"]
    flat = owners[-1]["reverse_s"] / owners[0]["reverse_s"]
    headline = [
        ("no-op detection / os.stat floor", f"{floor_ratio:.2f}x", "≤ 1.2x", floor_ratio <= 1.2),
        (
            "no-op detection / fd-relative os.stat floor",
            f"{fd_floor_ratio:.2f}x",
            "(stricter)",
            fd_floor_ratio <= 1.2,
        ),
        (
            "RFC baseline / no-op detection",
            f"{baseline_ratio:.1f}x faster",
            "≥ 2x",
            baseline_ratio >= 2,
        ),
        ("no-op detection / git status", f"{git_ratio:.2f}x", "≤ 3x", git_ratio <= 3),
        (
            "page-index builds per plan: cold / after an edit (RFC baseline)",
            f"{ten_k['page_index_builds_first_plan']} / {ten_k['page_index_builds']} "
            f"({ten_k['baseline_page_index_builds']})",
            "1 (vs 3)",
            max(ten_k["page_index_builds_first_plan"], ten_k["page_index_builds"]) <= 1,
        ),
        (
            f"owning-section lookup, {owners[-1]['sections']:,} vs "
            f"{owners[0]['sections']} sections",
            f"{flat:.2f}x",
            "flat",
            flat < 2,
        ),
        ("state load", ms(store["load_s"]), "≤ 5 ms", store["load_s"] <= 0.005),
        ("state save", ms(store["save_s"]), "≤ 10 ms", store["save_s"] <= 0.010),
        ("state size", f"{store['bytes'] / 1e6:.2f} MB", "≤ 1 MB", store["bytes"] <= 1_000_000),
    ]
    for what, measured, goal, met in headline:
        add(f"| {what} | {measured} | {goal} | {'yes' if met else '**no**'} |")
    add("")
    add("## The RFC's claims next to what we measured\n")
    add("| RFC optimisation | RFC claimed | measured here (10,000 pages unless noted) |")
    add("|---|---|---|")
    owner_100 = next((o for o in owners if o["sections"] == 100), owners[0])
    add(
        "| Page lookup consolidation | 3x fewer index builds | "
        f"{ten_k['baseline_page_index_builds']} builds per incremental build → 1 on a cold plan, "
        f"{ten_k['page_index_builds']} on a warm one (the index is patched in place) |"
    )
    add(
        f"| Section mtime caching | 5-10x faster incremental detection | no-op: "
        f"{ms(ten_k['baseline_noop_s'])} → {ms(stat_mode['noop_detect_s'])} "
        f"({baseline_ratio:.1f}x), *without* the RFC's unsound directory-mtime shortcut; "
        f"{ten_k['baseline_syscalls']:,} → {stat_mode['syscalls']:,} system calls |"
    )
    add(
        "| Parallel thresholds | 1.5-2x faster taxonomy | 1.5-2.0x for 5-50 tag pages on threads "
        "(see [parallel.md](parallel.md)); threads never help CPU-bound work under the GIL |"
    )
    owner_ratio = owner_100["scan_s"] / owner_100["reverse_s"]
    add(
        f"| Cascade reverse lookup | ~10x faster, O(1) | {owner_ratio:.0f}x "
        f"at 100 sections, {owners[-1]['scan_s'] / owners[-1]['reverse_s']:,.0f}x at "
        f"{owners[-1]['sections']:,}; flat |"
    )
    add(
        f"| Xref heading deferral | eliminates O(P) waste | the discovery-time loop cost "
        f"{ms(ten_k['baseline_xref_heading_loop_s'])} and found nothing; incrbuild builds the "
        f"heading index {ten_k['heading_index_builds_at_discovery']} times before parsing |"
    )
    add("")
    for image in images:
        add(f"![{image}]({image})\n")
    add("## No-op detection, every size\n")
    header = (
        "| pages | files | os.stat floor | fd-relative floor | git status | RFC baseline | "
        + " | ".join(m.value for m in MODES)
        + " | stat / floor | stat / fd floor |"
    )
    add(header)
    add("|" + "---:|" * (8 + len(MODES)))
    for r in rows:
        cells = [
            f"{r['pages']:,}",
            f"{r['files']:,}",
            ms(r["floor_s"]),
            ms(r["floor_fd_s"]),
            ms(r["git_s"]),
            ms(r["baseline_noop_s"]),
        ]
        cells += [ms(r["modes"][m.value]["noop_detect_s"]) for m in MODES]
        cells.append(f"{r['modes']['stat']['noop_detect_s'] / r['floor_s']:.2f}x")
        cells.append(f"{r['modes']['stat']['noop_detect_s'] / r['floor_fd_s']:.2f}x")
        add("| " + " | ".join(cells) + " |")
    add("")
    add(
        "Whole no-op `engine.plan()` (detection + model + planning): "
        + ", ".join(f"{r['pages']:,} pages {ms(r['modes']['stat']['noop_plan_s'])}" for r in rows)
        + ".\n"
    )
    add(f"## One edit of each kind (median of {EDIT_ROUNDS} edits)\n")
    add(
        "`plan()` is a full scan (what a CLI build does); *events* is `plan_paths()` from a "
        "watcher's events; *baseline* is the RFC's decision on an already discovered site (its "
        "discovery, which reads every page, is not counted). *misses*: edited files a mode did "
        "not report, over all rounds.\n"
    )
    add(
        "| pages | edit | stat plan() | content plan() | directory-mtime plan() | events | "
        "RFC baseline | pages planned | baseline pages | misses: stat/content/dir-mtime/baseline |"
    )
    add("|" + "---:|" * 10)
    for r in rows:
        for kind, e in r["edits"].items():
            plan_s, miss = e["plan_s"], e["misses"]
            cells = [f"{r['pages']:,}", kind]
            cells += [ms(plan_s[mode.value]) for mode in MODES]
            cells += [ms(e["event_plan_s"]), ms(e["baseline_s"])]
            cells += [f"{e['pages_planned']:.0f}", f"{e['baseline_pages']:.0f}"]
            cells.append("/".join(str(miss[m.value]) for m in MODES) + f"/{e['baseline_misses']}")
            add("| " + " | ".join(cells) + " |")
    add("")
    add("## State store, memory\n")
    add(
        "Memory is traced Python allocation (tracemalloc). *retained* is everything a warm "
        "engine keeps, including the `files` adapter's site model (a page object and "
        "metadata dict per page, which a host like Bengal has anyway); registry plus state "
        "alone at 100,000 pages is measured in [watch.md](watch.md).\n"
    )
    add(
        "| pages | load | save | size | bytes/page | cold plan+commit peak | no-op plan peak "
        "| retained |"
    )
    add("|" + "---:|" * 8)
    for r in rows:
        store, memory = r["store"], r["memory"]
        cells = [f"{r['pages']:,}", ms(store["load_s"]), ms(store["save_s"])]
        cells += [f"{store['bytes'] / 1e6:.2f} MB", f"{store['bytes'] / r['pages']:.0f}"]
        cells += [f"{memory['cold_peak_mb']:.1f} MB", f"{memory['noop_peak_mb']:.1f} MB"]
        cells.append(f"{memory['retained_mb']:.1f} MB")
        add("| " + " | ".join(cells) + " |")
    add("")
    add("## Owning-section lookup (in memory, 200 random index pages)\n")
    add("| sections | RFC O(S) scan | section_for_index | ratio |\n|---:|---:|---:|---:|")
    for o in owners:
        add(
            f"| {o['sections']:,} | {ms(o['scan_s'])} | {ms(o['reverse_s'])} | "
            f"{o['scan_s'] / o['reverse_s']:,.0f}x |"
        )
    add("")
    if results.get("fastpaths"):
        out.extend(render_fastpaths(results["fastpaths"]))
    add(CAVEATS)
    return "\n".join(out)


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _load_sentence(found: dict[str, Any]) -> str:
    """The load averages (1, 5, 15 min, as ``uptime`` prints) when the run began and ended."""
    if "load_before" not in found:
        return ""
    before, after = (", ".join(f"{v:.2f}" for v in found[k]) for k in ("load_before", "load_after"))
    return f" Load average (`uptime`): {before} when this run began, {after} when it ended."


def render_fastpaths(found: dict[str, Any]) -> list[str]:
    """The issue-16 section: each figure beside its reference and its goal."""
    out: list[str] = []
    add = out.append
    rows = found["sizes"]
    add("## Where users feel it: CLI, commit, first build, import (issue 16)\n")
    add(
        f"Measured {found['machine']['date']} at commit {found['machine']['commit']}, "
        "on the machine named at the top, while other agents shared its 2 cores: "
        "each reference ran interleaved with what it is compared to, so the ratios are "
        "the figures to read (best of 7 runs, 3 at 100,000 pages)." + _load_sentence(found) + "\n"
    )
    imports = found["imports"]
    add(
        f"`import incrbuild`: {ms(imports['import_s'])} (goal ≤ 30 ms: "
        f"{_met(imports['import_s'] <= 0.030)}); the modules a no-op `incrbuild plan` "
        f"imports: {ms(imports['cli_import_s'])} (cumulative `-X importtime`, best of 15).\n"
    )
    add("### Fresh-process no-op `incrbuild plan DIR`\n")
    add(
        "| pages | incrbuild plan | git status | pydoit (md5, json) | / git (goal ≤ 3x) "
        "| doit / incrbuild (goal > 1) |"
    )
    add("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        cli = r["cli"]
        git_ratio = cli["incrbuild_s"] / cli["git_s"]
        doit = cli.get("doit_s")
        doit_cells = (
            [ms(doit), f"{doit / cli['incrbuild_s']:.2f}x ({_met(doit > cli['incrbuild_s'])})"]
            if doit
            else ["not run", "-"]
        )
        add(
            f"| {r['pages']:,} | {ms(cli['incrbuild_s'])} | {ms(cli['git_s'])} | {doit_cells[0]} "
            f"| {git_ratio:.1f}x ({_met(git_ratio <= 3)}) | {doit_cells[1]} |"
        )
    add("")
    add("### Commit\n")
    add(
        "| pages | after an event plan (median of 15; goal ≤ 5 ms, flat) | after a full plan "
        "| whole-snapshot save | full commit / save (goal ≤ 2x) |"
    )
    add("|---:|---:|---:|---:|---:|")
    for r in rows:
        c = r["commit"]
        ratio = c["full_commit_s"] / c["snapshot_save_s"]
        add(
            f"| {r['pages']:,} | {ms(c['event_commit_s'])} ({_met(c['event_commit_s'] <= 0.005)})"
            f" | {ms(c['full_commit_s'])} | {ms(c['snapshot_save_s'])} "
            f"| {ratio:.1f}x ({_met(ratio <= 2)}) |"
        )
    add("")
    add("### Cold first plan + commit vs reading, hashing and parsing every page once\n")
    if "cold_load" in found:
        before, after = (", ".join(f"{v:.2f}" for v in load) for load in found["cold_load"])
        add(
            "Measured in a run of their own right after the one above (same code), each "
            "build followed by a floor run, 3 pairs per size. Load average: "
            f"{before} when it began, {after} when it ended.\n"
        )
    add(
        "| pages | cold plan + commit | read+hash+parse floor | ratio (goal ≤ 1.3x) "
        "| best ratio of a build to the floor run after it |"
    )
    add("|---:|---:|---:|---:|---:|")
    for r in rows:
        c = r["cold"]
        ratio = c["cold_s"] / c["floor_s"]
        paired = f"{c['ratio_best']:.2f}x" if "ratio_best" in c else "-"  # since the pairing
        add(
            f"| {r['pages']:,} | {ms(c['cold_s'])} | {ms(c['floor_s'])} "
            f"| {ratio:.2f}x ({_met(ratio <= 1.3)}) | {paired} |"
        )
    add("")
    add("### The racy cliff\n")
    add(
        "A state committed right after its files were written (a first build after a "
        "clone or generation) holds racy records: each is content-checked until a scan "
        "verifies it once the racy window has passed, which now refreshes it (in memory, "
        "and persisted under a free lock when no other commit intervened: a journal entry, "
        "or a new snapshot when the refresh is too large for the journal, as after a first "
        "build; see change-detection.md). "
        "*first*: the first no-op plan after the window; *second*: the next; *aged*: a "
        "no-op plan of a state committed after the tree settled. Goal: second ≤ 1.3x aged.\n"
    )
    add(
        "| pages | first (digests) | second (digests) | aged | second / aged "
        "| CLI first | CLI second | CLI aged | CLI second / aged |"
    )
    add("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        q = r["racy"]
        ratio = q["second_s"] / q["aged_s"]
        cli_ratio = q["cli_second_s"] / q["cli_aged_s"]
        add(
            f"| {r['pages']:,} | {ms(q['first_s'])} ({q['first_digests']:.0f}) "
            f"| {ms(q['second_s'])} ({q['second_digests']:.0f}) | {ms(q['aged_s'])} "
            f"| {ratio:.2f}x ({_met(ratio <= 1.3)}) | {ms(q['cli_first_s'])} "
            f"| {ms(q['cli_second_s'])} | {ms(q['cli_aged_s'])} "
            f"| {cli_ratio:.2f}x ({_met(cli_ratio <= 1.3)}) |"
        )
    add("")
    parsers = next((r["parsers"] for r in rows if "parsers" in r), None)
    if parsers:
        add("### Front matter: PyYAML's C loader vs the alternatives at hand\n")
        add(
            f"Per page, over {parsers['pages']:,} generated pages' front matter. incrbuild "
            "uses `CSafeLoader` (libyaml's parser, PyYAML's Python constructor); most of "
            "its time is that constructor. JSON is a lower bound for any C parser of the "
            "same data, not an option (front matter is YAML or TOML).\n"
        )
        add("| parser | per page | vs CSafeLoader |\n|---|---:|---:|")
        base = parsers["c_safe_loader_s"]
        for label, key in (
            ("PyYAML CSafeLoader", "c_safe_loader_s"),
            ("PyYAML SafeLoader (pure Python)", "safe_loader_s"),
            ("incrbuild parse_front_matter (CSafeLoader + checks)", "parse_front_matter_s"),
            ("json.loads of the same data", "json_s"),
        ):
            add(f"| {label} | {ms(parsers[key])} | {parsers[key] / base:.2f}x |")
        add("")
    million = found.get("million")
    if million:
        add("### Long mode: 1,000,000 pages of about 200 bytes\n")
        add(
            "Measured apart (`tests/benchmarks/million.py`, its own run: see its docstring), "
            "fresh processes through the CLI.\n"
        )
        add("| figure | measured | goal | met? |\n|---|---:|---:|---|")
        add(
            f"| fresh-process no-op `incrbuild plan` | {million['noop_s']:.1f} s | ≤ 5 s "
            f"| {_met(million['noop_s'] <= 5)} |"
        )
        if "floor_s" in million:
            add(
                f"| its floor: a fresh Python listing every directory and stat'ing every "
                f"file, alternating with it | {million['floor_s']:.1f} s "
                f"({million['noop_s'] / million['floor_s']:.2f}x) | - | - |"
            )
        add(
            f"| its peak RSS | {million['noop_rss_mb']:.0f} MB | ≤ 1 GB "
            f"| {_met(million['noop_rss_mb'] <= 1024)} |"
        )
        add(
            f"| store load ({million['store_records']:,} records, "
            f"{million['store_bytes'] / 1e6:.0f} MB) | {million['store_load_s']:.2f} s | ≤ 0.3 s "
            f"| {_met(million['store_load_s'] <= 0.3)} |"
        )
        add(
            f"| cold first commit through the CLI (peak RSS) | {million['cold_commit_s']:.0f} s "
            f"({million['cold_commit_rss_mb']:.0f} MB) | - | - |"
        )
        add("")
    add(FASTPATH_NOTES)
    return out


FASTPATH_NOTES = """Notes on this section:

- The machine is shared with other agents' test suites and benchmarks (load average
  6-8 on 2 cores through this run, as in the previous one at 427bc80, against 1-3.5
  before that): absolute times are 1.5-3x those of a quiet machine and an fsync's
  latency more (event commits of 3-7 ms at this load were 0.5-0.7 ms at load 2).
  Read the ratios, and expect a cell to move between runs: a floor measured in a
  slow minute makes its ratio look better than the code is (see the cold build).
- The store (schema 7, this run): file records are kept column-wise in the snapshot
  (keys one NUL-joined blob, seven integer columns of the narrowest width that fits,
  row flags, digest and front matter blobs cut by lengths), and each directory's
  run of rows. `StateStore.load` builds no object per record; a full scan walks a
  directory's stored listing and its run with one pointer, compares each stat with
  its row, and marks the row on a table over the same columns: a no-op builds no
  record and no key index. Records are built only for files whose stat differs,
  and when a rule asks. Interleaved with the previous schema at load 6.5-7.5 (in
  process, best of 5): load 7-11 ms -> 1.4-1.7 ms at 10,000 files, 172-210 ms ->
  18-35 ms at 100,000. A whole-snapshot write of records held as objects (all of
  them after a cold build) turns them into columns: at 61c1916 each integer column
  is packed at the first width that holds it (tried at C speed, no `min`/`max` over
  Python integers), row flags and digest lengths come from C-speed passes when every
  record has a digest, a directory's run is checked for increasing keys without
  sorting, and the payload is copied once; the bytes are the same as before (schema
  7 unchanged). 100,000 such records, interleaved with the code before at load 5-7:
  `encode_state` 258 -> 183 ms CPU (best of 7), the write with its fsyncs 443 -> 231
  ms best, 492 -> 377 ms median (of 9); the table's *whole-snapshot save* at
  100,000 went 532 -> 299 ms between the two runs. Still above the ~100 ms of the
  record-per-file schema 5: seven attribute passes over 100,000 record objects
  (~50 ms), finding each directory's run from the keys (~35 ms), packing and
  copying; building the columns as the cold build produces its records would
  remove the object passes (not done). The *State store, memory* table above
  predates this store (it is not re-run here).
- Threads: `os.stat` releases the GIL, but the comparison holds it. On this
  machine, at load 4.5-10, two or four threads cost 20-40% more CPU time than one
  and gained no steady wall time (100,000 files: 1.02 s one thread, 1.15 s two,
  1.04 s four; 1,000,000 at load 5.7: 8.5 s one, 8.2 s two), so scans use one
  thread by default (`ChangeDetector(stat_threads=)` is there for file systems
  where a stat waits, as is `stat_executor`).
- A commit after a full plan costs what changed when the site comes from a loader
  that patches it in place (the `files` adapter, the CLI's `watch`): the engine
  keeps the site's page list in step with the committed state and applies the
  plan's changes to that state in place, so the store journals just them. The
  first whole commit of a process (or after a new site, a concurrent commit or a
  racy refresh) still builds the next state over every page (O(pages) in Python);
  the table's figure is the best of three full commits made after the engine's
  first (untimed) one and 15 event commits.
- The cold build and its floor parse with the same `parse_front_matter`
  (PyYAML's CSafeLoader: libyaml parses, PyYAML's Python constructor builds the
  values, and that is most of the floor); each page is read once (the detector's
  bytes feed the loader); full garbage collections are deferred during a plan and
  a commit (`incrbuild._gc`). The cold ratio is load-sensitive. In the run at
  c1dd289 (load 7) the build and its floor were each a best of 3 taken a minute
  apart, and gave 1.20x, 1.54x, 1.05x at 1K, 10K, 100K, against 1.67x, 1.50x,
  1.73x at 427bc80: the 100K build barely moved (22.7 -> 23.0 s) while its floor
  went 13.1 -> 22.0 s, so those "yes" were a floor measured in a busy minute. Since
  then the two alternate (`cold_build`), and the table's rows are that measure,
  re-run apart right after (same code, 3 pairs each, load 2.8-4.4): 1.42x, 1.28x,
  1.34x (best build over best floor), and 1.41x, 1.28x, 1.13x as the best ratio
  of a build to the floor run right after it. So: met at 10,000 pages in this
  run, missed narrowly at 100,000 and clearly at 1,000, where much of the 47 ms
  gap is fixed cost (the commit's two fsyncs, 9-30 ms at load 7; opening the
  engine and the site configuration). The code change of this sitting (the
  snapshot write above) saves 0.1-0.2 s of a 100K cold build, about 1%. What
  the rest beyond the floor is (cProfile of a 100K cold build, load 3-5,
  profiler overhead inflating Python-heavy parts): parsing front matter is about
  57% of the build, as in the floor; the scan (listing, stat, reading and hashing
  each file, its record) about 8%, part of it the floor's too; beyond the floor,
  the tag index built over every page about 8%, the next state built over every
  page about 7%, assembling the site model 3%, each an O(pages) Python loop over
  objects; none of them was cut in this sitting. At 10,000 pages (CPU time, load
  4): build 1.48 s, floor 1.0 s; the loader's work besides parsing 0.19 s, the
  planner 0.09 s, the next state 0.08 s, the snapshot write 0.02 s.
- The racy cliff's 10,000-page *second* plan (72 ms against an aged 39 ms in the
  run at c1dd289, 1.85x) was the refresh's doing: it overlaid a record object equal
  to the stored row on every racy row, so every later scan in that process took the
  per-record path. Since the fifth sitting of issue 16 an equal record stays a row
  (the new snapshot time alone settles it). Interleaved in one process at load 4-5
  (best of 15): second 70.3 -> 38.6 ms, aged 46.7 and 46.2 ms.
- pydoit runs one task per file with an md5 `file_dep` and its json backend: its
  no-op checks each file's mtime against the recorded one (md5 only if it moved),
  as incrbuild's stat check does. Its first (full) run is not timed.
- `git status` is C with a fresh index and stats in parallel threads;
  incrbuild's figure includes starting Python (11-15 ms on a quiet machine),
  importing what it needs, loading the store and stat'ing every file in one
  thread. Since c1dd289 a no-op whose files settled before the commit imports no
  commit machinery (`_transitions`, `_reads`: imported when the engine commits or
  refreshes racy records; `tests/test_lazy_imports.py` holds it), and the CLI's
  console is a plain class. Interleaved with the code before (08d28ee), 21 fresh
  processes each at load 6.5: 10,000 pages 203 -> 190 ms CPU (median), 1,000 pages
  180 -> 173 ms: about 5%, within this load's noise. The cumulative import figure
  above (99 ms, 72 ms at 427bc80) moved with the load, not the code. Ratios to git:
  4.4x -> 4.1x at 10,000 pages, 1.8x -> 2.2x at 100,000 (git's 398 -> 561 ms and
  ours moved with the load), 29x at 1,000 (start-up and imports). What stood in
  the way of the 3x goal at 10,000 pages was what a no-op imported (attrs for the
  public value types, msgspec with `typing_extensions`, `inspect`, `uuid` for the
  store, argparse, pathlib, typing: about 100 ms cumulative at load 7).
- Since the fifth sitting, a fresh `incrbuild plan` first tries `_noop`: it proves
  "nothing changed" from the store's bytes (read with `struct`, `zlib` and a small
  msgpack reader, journal applied; msgspec for a store over 4 MB, where decoding
  its listings in Python would cost more than the import: 0.7-1.3 s against
  0.2-0.3 s for a million names at load 6) and `os.stat`, and prints the same three lines;
  anything else (a change, a racy record, `--json`, a site configuration file, an
  unusable store...) goes to the engine as before (architecture.md). A no-op now
  imports 4.3 ms of incrbuild (cumulative `-X importtime`, load 7) and, with a
  store under 4 MB, none of attrs, msgspec, argparse, typing or pathlib
  (`tests/test_noop_path.py`). The CLI
  rows above were re-measured for it on 2026-12-03 18:20-18:27 UTC (code of commit
  a3e6ec9 on main), at load 7.10, 5.58, 4.11 when the run began and
  6.55, 6.81, 5.23 when it ended, the other tables not. 10,000 pages: 111.6 ms
  against git's 45.8 ms, 2.4x: the goal is met (the lead's quiet-machine figures
  before it: 140-160 ms against 20 ms). What is left is the floor: starting Python
  (15-16 ms) and 10,034 `os.stat` calls in one thread (28-37 ms at load 4-6 for a
  bare loop; the check adds 5-10%), reading and decoding the 1.5 MB store 7-9 ms.
  1,000 pages: 66.8 ms against 9.1 ms (7.3x; 31 ms against 7.4 ms in a run at load
  4): start-up is most of it, and the goal is not met there. Interleaved with the
  code before (67b2968), best of 7 at load 4-6: the no-op 319 -> 121 ms at 10,000
  pages and 138 -> 31 ms at 1,000; a plan that finds one edited page (which pays
  the no-op attempt, up to the first difference, before the engine) 897 -> 855 ms
  and 346 -> 287 ms: the imports it no longer makes up front outweigh the attempt.
  The 100,000-page row was decoded in Python; since 76737b8 a store over 4 MB
  (100,000 pages: about 15 MB) is decoded with msgspec. Re-run for that at
  18:35-18:43 UTC, load 5.59, 6.08, 5.48 rising to 12.65, 10.02, 7.57 (best of 3):
  1190 ms against git's 850 ms, 1.4x (doit 24.2 s); not comparable in absolute
  terms with the row above, measured at load 7.
- The no-op plan builds no site model (nothing changed, so nothing to plan), and
  its commit journals in place; with changes, the `files` loader assembles the
  model from stored front matter as before.
- The 1,000,000-page row is not re-run here: it was measured by `million.py` in a
  run of its own, niced, in the previous sitting at 427bc80, load 7.3-7.8 (the
  cold commit ran apart
  before it, at load 6-8, reused through `INCRBUILD_1M_COLD_JSON`). Against the
  previous row (load 2-4): the no-op 8.0 s -> 6.6 s, its peak RSS 749 -> 353 MB,
  the store load 1.68 s -> 0.44 s (133 MB: reading it 150-210 ms, its CRC-32
  90-140 ms, decoding the directory listings, a million names, 120-170 ms, the
  columns 30 ms; no object per record). The cold commit (793 s, 3.3 GB) is the
  load's and the snapshot write's; it was not worked on. Still missed: the no-op's
  5 s (a million `os.stat` calls and comparisons in one thread, 5-9 µs each at
  this load: the floor of a scan without a watcher, which threads did not lower
  here) and the load's 0.3 s (reading and checksumming 133 MB, and the listings,
  which every no-op needs; an mmap would skip the copy, but a store rewritten in
  place by another tool would then crash a reader with SIGBUS).
"""


CAVEATS = """## Caveats

- A shared 2-vCPU virtual machine: run-to-run noise is ±10-20%; each no-op figure
  is the best of 15 runs (5 at 100K), edits are medians of 5. Ratios, not absolute
  times, are what carries to other machines.
- The file system is the VM's disk with a warm page cache; the floor and every
  scanner benefit equally. A cold cache or NFS changes absolute times by orders of
  magnitude (see [parallel.md](parallel.md) for 200 µs stats).
- `git status` runs as a subprocess (start-up included, a few ms) with its index
  fresh and untracked-cache off; it is C and stats in parallel threads.
- The RFC baseline is a re-implementation from the RFC's description
  (`tests/benchmarks/rfc_baseline.py`), not Bengal's code; it runs on an already
  discovered site, so discovery (reading every page: see the `discovery` field in
  `benchmarks.json`) is excluded, which flatters it. It also stats only regular
  pages, never `_index.md` files, so it cannot see cascade edits; incrbuild's
  stat mode checks every file and every directory listing.
- `directory-mtime` is the RFC's unsound shortcut, offered as an opt-in: its
  *misses* column shows why it is not the default.
- The stat floor is `os.stat` over a prepared list of absolute path strings: no
  directory listing, so it cannot see added or removed files. incrbuild also lists
  every directory (needed for adds and deletes) yet stats each file relative to an
  open directory fd, which saves the kernel walking the full path; so it can beat
  that floor on deep trees. The fd-relative floor does the same trick with no
  listing and no comparison: the stricter reference, and the honest one.
"""


def measure_fastpaths() -> dict[str, Any]:
    """The issue-16 figures at every fast-path size."""
    doit = os.environ.get("INCRBUILD_BENCH_DOIT", "1") != "0"
    found: dict[str, Any] = {"machine": machine(), "load_before": os.getloadavg()}
    found["imports"] = fastpaths.import_time()
    found["sizes"] = [fastpaths.measure(pages, doit=doit) for pages in FASTPATH_SIZES]
    found["load_after"] = os.getloadavg()
    if os.environ.get("INCRBUILD_BENCH_1M_JSON"):  # written by million.py, run apart
        found["million"] = json.loads(Path(os.environ["INCRBUILD_BENCH_1M_JSON"]).read_text())
    return found


def main() -> None:
    """Measure everything and write docs/benchmarks.md, its plots and benchmarks.json."""
    if ONLY in ("fastpaths", "render"):  # "render": only re-render benchmarks.json
        results = json.loads((DOCS / "benchmarks.json").read_text())
        if ONLY == "fastpaths":
            results["fastpaths"] = measure_fastpaths()
        DOCS.mkdir(exist_ok=True)
        (DOCS / "benchmarks.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
        names = ("noop-detection.png", "edit-planning.png", "owner-lookup.png")
        images = [f"img/{name}" for name in names if (IMAGES / name).exists()]
        (DOCS / "benchmarks.md").write_text(render(results, images) + "\n", encoding="utf-8")
        print(f"wrote {DOCS / 'benchmarks.md'}", flush=True)
        return
    results: dict[str, Any] = {"machine": machine(), "sizes": []}
    for pages in SIZES:
        results["sizes"].append(measure_size(pages))
    print("owning-section lookup", flush=True)
    results["owner_lookup"] = measure_owner_lookup([10, 100, 1_000, 10_000])
    results["fastpaths"] = measure_fastpaths()
    DOCS.mkdir(exist_ok=True)
    (DOCS / "benchmarks.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    images = plots(results)
    (DOCS / "benchmarks.md").write_text(render(results, images) + "\n", encoding="utf-8")
    print(f"wrote {DOCS / 'benchmarks.md'}", flush=True)


if __name__ == "__main__":
    main()
