"""The facade: one object a host asks "what must I rebuild?" and tells "I built it"."""

from __future__ import annotations

import contextlib
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, final

import attrs

from incrbuild._detect import (
    DEFAULT_RACY_WINDOW_NS,
    ChangeDetector,
    Detection,
    DetectionMode,
    unchecked_record,
)
from incrbuild._errors import StateLockedError, StateWarning, StateWriteError
from incrbuild._gc import full_collections_deferred
from incrbuild._layout import DEFAULT_STATE_DIR_NAME
from incrbuild._loading import LoadResult, SiteLoader
from incrbuild._metadata import DEFAULT_TAXONOMIES
from incrbuild._paths import absolute, require_absolute
from incrbuild._plan import Plan, PlanBasis, PlanStats, plan_basis
from incrbuild._state import (
    CorruptRecordError,
    FileRecord,
    State,
    StateStore,
    copy_files,
    records_not_in,
)
from incrbuild.protocols import PageLike, SiteLike, is_generated

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from incrbuild._planner import Planner
    from incrbuild._registry import IndexRegistry
    from incrbuild._rules import Rule
    from incrbuild._transitions import Commit, Recorded

__all__ = ["DEFAULT_STATE_DIR_NAME", "Engine"]


@final
class Engine:
    """Plans incremental builds of one site and remembers what each build saw.

    Give it the host's discovered *site*, or a *loader* that discovers the
    site after detection (so a warm build reads only changed sources).  Call
    :meth:`plan`, render ``plan.pages`` (recording what each page read with
    :meth:`record_dependencies`), then :meth:`commit` once the build succeeded.
    *rules* are the host's :class:`~incrbuild.Rule` objects: they run after
    the built-in ones, in order, inside every plan (and its timing).

    Files outside the content directory: a change to one of *global_inputs*
    rebuilds every page; *inputs* (templates, data a page may read) are
    fingerprinted by every plan as well, but a change to one reaches only the
    pages that recorded reading it.  A dependency that is neither is first
    fingerprinted after a build, and only if written long enough before the plan
    to prove the build read those bytes; else its readers are rebuilt once more.
    """

    def __init__(
        self,
        site: SiteLike | None = None,
        *,
        loader: SiteLoader | None = None,
        content_dir: Path | str | None = None,
        state_dir: Path | str | None = None,
        mode: DetectionMode = DetectionMode.STAT,
        racy_window_ns: int = DEFAULT_RACY_WINDOW_NS,
        navigation: bool = False,
        global_inputs: Iterable[Path | str] = (),
        inputs: Iterable[Path | str] = (),
        stat_executor: Executor | None = None,
        ignore: Callable[[str], bool] | None = None,
        lock_timeout: float = 30.0,
        changed_contents: Callable[[str, bytes], None] | None = None,
        rules: Sequence[Rule] = (),
        taxonomies: Iterable[str] = DEFAULT_TAXONOMIES,
    ) -> None:
        if site is None and loader is None:
            raise TypeError("Engine needs a site or a loader")
        if site is not None:
            require_absolute(site.root_path, "the site's root_path")
        root = content_dir if content_dir is not None else None if site is None else site.root_path
        if root is None:
            raise TypeError("Engine with a loader needs content_dir")
        # Arguments are made absolute now, against this call's working directory (see _paths).
        self.content_dir = absolute(root)
        self.state_dir = (
            absolute(state_dir)
            if state_dir is not None
            else self.content_dir / DEFAULT_STATE_DIR_NAME
        )
        self._store = StateStore(self.state_dir, lock_timeout=lock_timeout)
        detector_options: dict[str, Any] = {}
        if ignore is not None:
            detector_options["ignore"] = ignore
        if changed_contents is not None:  # see ChangeDetector: lets a loader skip a re-read
            detector_options["changed_contents"] = changed_contents
        own_key = _key_below(self.content_dir, self.state_dir)
        if own_key:
            # The engine's own files are never content, wherever the host puts them.
            detector_options["exclude"] = (own_key,)
        self._detector = ChangeDetector(
            self.content_dir,
            mode=mode,
            racy_window_ns=racy_window_ns,
            stat_executor=stat_executor,
            **detector_options,
        )
        # The planner and the indexes are made when first needed: a no-op plan needs
        # neither, and a fresh ``incrbuild plan`` process then skips their imports.
        self._planner_options = (navigation, tuple(rules))
        self._planner_made: Planner | None = None
        self._site = site
        self._loader = loader
        # Front-matter keys whose values are terms with pages of their own (Hugo: categories).
        self.taxonomies = tuple(taxonomies)
        self._registry: IndexRegistry | None = None
        self._global_keys = frozenset(self._detector.key_for(p) for p in global_inputs)
        # Fingerprinted by each plan's detection, before the build reads them, so a commit
        # records them even when they were written just before the plan.
        self._input_keys = frozenset(self._detector.key_for(p) for p in inputs)
        self._state: State | None = None
        # The current site's (non-generated) pages by key, kept for a loader's site that it
        # patches in place, so a whole commit costs what changed (see _apply_whole).  They
        # agree with ``_pages_synced`` (a committed state: a key has front matter there iff
        # it is a page here and has a record) for every key outside ``_pages_suspect``.
        self._pages: dict[str, PageLike] | None = None
        self._pages_suspect: set[str] = set()
        self._pages_synced: State | None = None
        # The detection and state of a no-op plan that skipped loading the site model.
        self._deferred: tuple[Detection, State] | None = None
        self._state_stamp: object = None
        self._recorded_lock = threading.Lock()
        self._recorded_deps: dict[str, tuple[str, ...]] = {}
        self._recorded_outputs: dict[str, tuple[str, ...]] = {}
        self._recorded_reads: dict[str, tuple[str, ...]] = {}
        # Watcher paths planned but not yet committed: each partial plan re-checks them.
        self._uncommitted_paths: set[Path] = set()
        # Events are trusted only relative to a committed full scan; until one is
        # committed (and after any uncommitted full plan), plan_paths() scans everything.
        self._needs_full_scan = True

    # -- keys and commits ------------------------------------------------------------

    def key_for(self, path: Path | str) -> str:
        """The key a path is stored under: POSIX, relative to the content directory."""
        return self._detector.key_for(absolute(path))

    def path_for(self, key: str) -> Path:
        """The absolute path of stored key *key*."""
        return self._detector.path_for(key)

    @property
    def last_commit_id(self) -> str:
        """The identifier of the last commit (``""`` before the first one).

        It changes with every :meth:`commit`, by this engine or another process
        sharing the state directory, so a host can tell whether what it stored
        beside the engine's state belongs to the same build.
        """
        return self._load_state().commit_id

    def tracks(self, path: Path | str) -> bool:
        """Whether the state the last plan was made against holds a record of *path*'s file.

        Files the change detector does not follow (below a symbolic link to a
        directory, outside the content directory and read by no page) have none,
        so a host must treat them as changed every time.  Costs no system call
        once a plan was made, so a host may ask it of every file.
        """
        state = self._state if self._state is not None else self._load_state()
        return self.key_for(path) in state.files

    # -- the site -----------------------------------------------------------------

    @property
    def site(self) -> SiteLike:
        """The current site (after a loader ran, the one it returned)."""
        if self._site is None and self._deferred is not None:
            self._load_site(*self._deferred)  # the last plan changed nothing and skipped it
        if self._site is None:
            raise RuntimeError("the site is loaded by the first plan(); call plan() first")
        return self._site

    @property
    def registry(self) -> IndexRegistry:
        """The shared index registry of the current site."""
        if self._registry is None:
            from incrbuild._registry import IndexRegistry

            self._registry = IndexRegistry(self.site, taxonomies=self.taxonomies)
        return self._registry

    @property
    def _planner(self) -> Planner:
        if self._planner_made is None:
            from incrbuild._planner import Planner

            navigation, rules = self._planner_options
            self._planner_made = Planner(
                key_for=self._detector.key_for,
                path_for=self._detector.path_for,
                navigation=navigation,
                rules=rules,
            )
        return self._planner_made

    def set_site(self, site: SiteLike) -> None:
        """Replace the site after the host re-discovered it; the registry starts afresh."""
        require_absolute(site.root_path, "the site's root_path")
        from incrbuild._registry import IndexRegistry

        self._site = site
        self._registry = IndexRegistry(site, taxonomies=self.taxonomies)
        self._deferred = None
        self._pages = self._pages_synced = None  # a new site: its pages are listed anew

    # -- state ----------------------------------------------------------------------

    def _load_state(self) -> State:
        """Return the last committed state, re-read only if the file changed on disk."""
        stamp = self._store_stamp()
        if self._state is None or stamp != self._state_stamp:
            self._state = self._store.load()
            self._state_stamp = stamp
        return self._state

    # -- planning -----------------------------------------------------------------------

    def plan(self) -> Plan:
        """Detect what changed since the last commit and decide what to rebuild."""
        return self._full_plan(relist=False)

    def _full_plan(self, *, relist: bool) -> Plan:
        with full_collections_deferred():  # a cold plan builds millions of live objects
            return self._full_plan_deferred(relist=relist)

    def _full_plan_deferred(self, *, relist: bool) -> Plan:
        started = time.perf_counter_ns()
        self._needs_full_scan = True
        previous = self._load_state()
        extra = set(previous.dependents) | self._global_keys | self._input_keys
        try:
            detection = self._detector.detect(previous, extra_keys=extra, relist=relist)
            plan = self._plan_detection(detection, previous, started)
        except CorruptRecordError as error:
            return self._plan_without_state(str(error), started)
        if previous.commit_id and _unchanged(detection):
            self._refresh_verified(previous, detection)
        return plan

    def _plan_without_state(self, problem: str, started: int) -> Plan:
        """Plan as if nothing were stored: the store is corrupt (a full rebuild)."""
        warnings.warn(
            f"{self._store.path}: {problem}; treating every file as changed (a full rebuild)",
            StateWarning,
            stacklevel=3,
        )
        self._store.mark_unusable()
        previous = self._state = State()
        if self._loader is not None:
            self._site = self._registry = None
            self._pages = self._pages_synced = None
        detection = self._detector.detect(previous, extra_keys=self._global_keys | self._input_keys)
        return self._plan_detection(detection, previous, started)

    def _refresh_verified(self, state: State, detection: Detection) -> None:
        """Refresh the records a no-op scan verified, so the next scan trusts their stat.

        What git does for racily clean entries: a file content-checked because it
        was written close to the last commit (or whose stat changed but not its
        bytes) gets its record re-stamped with this scan's snapshot.  Sound because
        the scan stat'ed every file after the snapshot was taken, so any later
        write gives a ctime at or after it, which the next scan sees as changed or
        racy.  Done in memory, then persisted under the lock if it is free and no
        other commit intervened (a journal entry, or a new snapshot when the journal
        is due for compaction); a re-checked record equal to the stored one is left as
        it is, since the raised snapshot time alone settles it;
        the commit id stays, since what was built did not change.
        """
        if self._detector.mode is not DetectionMode.STAT:
            return  # content mode checks everything anyway; directory-mtime skips files
        files = state.files
        if len(files) != len(detection.files):
            # A record the scan did not see (a file outside the root no page reads any
            # more) would be vouched for by a snapshot that never checked it: leave the
            # refresh to the next commit, which drops such records.
            return
        floor = detection.snapshot_ns - self._detector.racy_window_ns
        refreshed: dict[str, FileRecord] = {}
        settled = False
        # A record the scan did not hash is the stored one (its stat matched, not racy):
        # a scan that hashed nothing has no file to re-stamp, so skip the walk over all
        # records (about 1 us each: a tenth of a second at 100,000 files).
        if detection.stats.digests:
            from incrbuild._transitions import carry_front_matter  # not on a plain no-op

            for key, record in records_not_in(detection.files, files):
                known = files.get(key)
                if record is known:
                    continue
                record = carry_front_matter(record, known)
                settled = settled or (record.mtime_ns < floor and record.ctime_ns < floor)
                if record != known:
                    # An equal record stays as it is stored (a row of the loaded
                    # columns): the new snapshot time alone makes the next scan trust
                    # it, on the columns' fast path, and a journal entry records it.
                    refreshed[key] = record
        # Directories are re-stamped only where the listing is the same: a listing that
        # changed (an untracked entry came or went) is the next commit's to record.
        dirs = {
            k: v
            for k, v in detection.dirs.items()
            if (old := state.dirs.get(k)) is not v
            and old is not None
            and (old.files, old.dirs) == (v.files, v.dirs)
        }
        settled = settled or any(v.stat[0] < floor and v.stat[3] < floor for v in dirs.values())
        if not settled:
            return  # nothing would be trusted by the next scan: not worth a write
        if state is self._pages_synced:
            self._pages_synced = None  # records may be dropped below: list the pages anew
        from incrbuild._transitions import drop_unverified

        files.update(refreshed)
        state.dirs.update(dirs)
        drop_unverified(state, detection)
        state.snapshot_ns = detection.snapshot_ns
        if state is not self._state or self._state_file_changed():
            return
        try:
            with self._store.locked(wait=False):
                if self._store.current_commit_id() == state.commit_id:
                    self._store.save(state, only_if_ours=True)
        except (StateLockedError, StateWriteError):
            return  # another writer is busy, or the store is read-only: memory will do
        self._state_stamp = self._store_stamp()

    def plan_paths(self, paths: Iterable[Path | str]) -> Plan:
        """Plan from the paths a file watcher reported, in time proportional to them.

        Everything not named is taken as unchanged, so use this only with a
        watcher you trust for that interval; :class:`~incrbuild.WatchSession`
        decides when to fall back to :meth:`plan`.  Falls back by itself when
        there is no committed state in memory or another process committed.
        """
        started = time.perf_counter_ns()
        previous = self._state
        reason = self._event_plan_doubt(previous)
        if reason:
            # Every symbolic link must be known to map events on its target back to it.
            plan = self._full_plan(relist=not self._detector.links_known)
            return attrs.evolve(plan, stats=attrs.evolve(plan.stats, fallback=reason))
        assert previous is not None  # otherwise there is a reason: "no committed state"
        if self._loader is not None and self._site is None:
            if self._deferred is None:
                return self.plan()
            self._load_site(*self._deferred)  # a no-op plan skipped it; events need it
        extra = set(previous.dependents) | self._global_keys | self._input_keys
        self._uncommitted_paths.update(map(absolute, paths))
        checked = frozenset(self._uncommitted_paths)
        detection = self._detector.detect_paths(previous, checked, extra_keys=extra)
        return self._plan_detection(detection, previous, started, watched_paths=checked)

    def _event_plan_doubt(self, previous: State | None) -> str:
        """Why watcher events alone cannot be trusted for the next plan ("" if they can)."""
        detector = self._detector
        if not detector.links_known:
            return "symbolic links not known yet (first scan)"
        if self._needs_full_scan:
            return "the last full plan was not committed"
        if previous is None or not previous.commit_id:
            return "no committed state"
        if self._state_file_changed():
            return "another process committed"
        if not detector.links_watchable:
            return "a symbolic link points outside the content directory"  # no events there
        return ""

    def _state_file_changed(self) -> bool:
        return self._store_stamp() != self._state_stamp

    def _store_stamp(self) -> object:
        """Identify the stored state's current version cheaply."""
        return self._store.stamp()

    def _plan_detection(
        self,
        detection: Detection,
        previous: State,
        started: int,
        *,
        watched_paths: frozenset[Path] = frozenset(),
    ) -> Plan:
        pages_read = 0
        if (
            self._loader is not None
            and self._site is None
            and previous.commit_id
            and not detection.partial
            and _unchanged(detection)
        ):
            # Nothing changed, so nothing is rebuilt: no site model is needed (a CLI
            # no-op reads no page and decodes no front matter).
            return self._unloaded_plan(detection, previous, started)
        if self._loader is not None:
            known: Mapping[Path, Mapping[str, Any]] = (
                _FactsView(previous.facts, self._detector) if previous.commit_id else {}
            )
            result = self._loader.load(detection.changes, known)
            pages_read = result.pages_read
            if result.errors:
                detection = _with_errors(detection, result.errors, self._detector)
            site = result.site
            if result.refreshed is not None and site is self._site and self._registry is not None:
                # The loader patched the site in place: update the indexes in proportion.
                registry = self._registry
                for edit in result.removed:
                    registry.page_removed(edit.page, edit.section)
                    for section in reversed(edit.sections_removed):
                        registry.section_removed(section)
                for edit in result.added:
                    for section in edit.sections_added:
                        registry.section_added(section)
                    registry.page_added(edit.page, edit.section)
                registry.refresh_pages(result.refreshed)
                self._pages_patched(result)
            else:
                self.set_site(site)
        planning_started = time.perf_counter_ns()
        plan = self._planner.plan(
            detection,
            previous,
            self.registry,
            global_keys=self._global_keys,
            watched_paths=watched_paths,
        )
        finished = time.perf_counter_ns()
        plan.stats.pages_read = pages_read
        plan.stats.planning_ns = finished - planning_started
        plan.stats.total_ns = finished - started
        return plan

    def _pages_patched(self, result: LoadResult) -> None:
        """Follow the loader's in-place edits of the site in the page list, in proportion."""
        pages = self._pages
        if pages is None:
            return
        key_for = self._detector.key_for
        suspect = self._pages_suspect
        for page in [e.page for e in result.removed]:
            key = key_for(page.source_path)
            suspect.add(key)
            if pages.get(key) is page:
                del pages[key]
        for page in [*(e.page for e in result.added), *(result.refreshed or ())]:
            key = key_for(page.source_path)
            suspect.add(key)
            if is_generated(page):
                pages.pop(key, None)
            else:
                pages[key] = page

    def _unloaded_plan(self, detection: Detection, previous: State, started: int) -> Plan:
        pages = len(previous.facts)  # counted on the stored columns: no record is built
        stats = PlanStats(detector=detection.stats, site_pages=pages)
        self._deferred = (detection, previous)
        stats.total_ns = time.perf_counter_ns() - started
        return Plan(
            changes=detection.changes,
            pages=frozenset(),
            root=self.content_dir,
            stats=stats,
            _basis=PlanBasis(detection, previous),
        )

    def _load_site(self, detection: Detection, previous: State) -> None:
        """Build the site model a plan skipped (it changed nothing) when a commit needs it."""
        assert self._loader is not None
        self._deferred = None
        known: Mapping[Path, Mapping[str, Any]] = (
            _FactsView(previous.facts, self._detector) if previous.commit_id else {}
        )
        self.set_site(self._loader.load(detection.changes, known).site)

    # -- what the build saw ----------------------------------------------------------------

    def record_dependencies(self, page: PageLike | Path, inputs: Iterable[Path | str]) -> None:
        """Record the files *page* read while rendering (templates, data, linked pages).

        The set replaces what was recorded for the page before; it is stored at
        :meth:`commit`.  Safe to call from several rendering threads.
        """
        key = self._page_key(page)
        deps = tuple(sorted({self._detector.key_for(Path(p)) for p in inputs} - {key}))
        with self._recorded_lock:
            self._recorded_deps[key] = deps

    def record_reads(
        self,
        page: PageLike | Path,
        *,
        files: Iterable[Path | str] = (),
        pages: Mapping[Path, Iterable[str]] | None = None,
        collections: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        """Record what *page*'s render showed of other pages: learned dependencies.

        *files* are inputs it read (templates, data, snippets), added to those
        :meth:`record_dependencies` recorded for it in this build.  *pages* maps
        other pages' source paths to the front matter keys shown of each
        (``"content"``: the body or summary).  *collections* maps the collections
        it iterated to the keys shown of each member: ``"pages"``,
        ``"section:<dir relative to the content root, POSIX>"``, ``"tag:<term>"``,
        ``"taxonomy:tags"``; the key ``"*"`` stands for every key (for a host that
        learns what a render iterated, not which fields it showed).  The page is
        replanned when one of those keys of such a page changes, the page comes
        or goes, or a collection gains or loses a member.  Replaces the page's
        earlier reads; stored at :meth:`commit` for pages with a source file (a
        page the host generates has no stored facts: plan it with a
        :class:`~incrbuild.Rule`).  Safe to call from several rendering threads.
        """
        from incrbuild._reads import encode_reads

        key = self._page_key(page)
        key_for = self._detector.key_for
        entries = encode_reads(
            {key_for(absolute(path)): keys for path, keys in (pages or {}).items()},
            collections or {},
        )
        added = {key_for(absolute(p)) for p in files} - {key}
        with self._recorded_lock:
            self._recorded_reads[key] = entries
            if added:
                known = self._recorded_deps.get(key, ())
                self._recorded_deps[key] = tuple(sorted(added.union(known)))

    def record_outputs(self, page: PageLike | Path, outputs: Iterable[str]) -> None:
        """Record the output files *page* produced, listed for deletion if its source goes."""
        key = self._page_key(page)
        with self._recorded_lock:
            self._recorded_outputs[key] = tuple(sorted(outputs))

    def _page_key(self, page: PageLike | Path) -> str:
        path = page if isinstance(page, Path) else page.source_path
        return self._detector.key_for(path)

    # -- committing --------------------------------------------------------------------------

    def commit(self, plan: Plan, *, failed: Iterable[Path] = ()) -> None:
        """Persist what *plan* saw, once the host has built it successfully.

        Pages in *failed* are stored as unknown so the next plan rebuilds them.
        If another process committed since *plan* was made, entries either side
        changed are dropped, so the next plan re-checks them: more work, no miss.
        """
        with full_collections_deferred():  # a first commit builds a record per file
            self._commit(plan, failed)

    def _commit(self, plan: Plan, failed: Iterable[Path]) -> None:
        from incrbuild._transitions import (
            Recorded,
            completed,
            copy_state,
            merge_concurrent,
            next_state_unchanged,
        )

        basis = plan_basis(plan)
        if basis is None:
            raise ValueError("commit() needs a plan made by this engine's plan()")
        detection, base = basis.detection, basis.previous
        failed_keys = {self._detector.key_for(p) for p in failed}
        with self._recorded_lock:
            recorded = Recorded(self._recorded_deps, self._recorded_outputs, self._recorded_reads)
            self._recorded_deps, self._recorded_outputs, self._recorded_reads = {}, {}, {}
        base_id = base.commit_id
        with self._store.locked():
            current_id = self._store.current_commit_id()
            synced = False  # whether the page list agrees with the state committed
            if detection.partial and current_id == base_id and base is self._state:
                synced = base is self._pages_synced
                state = self._apply_partial(plan, base, recorded, failed_keys)
            elif (
                self._site is None
                and not detection.partial
                and current_id == base_id
                and base is self._state
                and _unchanged(detection)
            ):
                # A no-op plan that loaded no site model: the state carries over in place.
                state = next_state_unchanged(base, self._commit_of(plan, recorded, failed_keys))
            elif (
                self._loader is not None
                and self._pages is not None
                and self._site is not None
                and not detection.partial
                and current_id == base_id
                and base is self._state
                and base is self._pages_synced
            ):
                # The loader patched its site in place and reported each edit: the next
                # state is the last one plus what changed.
                state = self._apply_whole(plan, base, recorded, failed_keys)
                synced = True
            else:
                if detection.partial:
                    base = copy_state(base)
                    plan = attrs.evolve(plan, _basis=PlanBasis(completed(detection, base), base))
                if self._site is None and self._loader is not None:
                    self._load_site(detection, base)
                state = self._next_state(plan, base, recorded, failed_keys)
                synced = True
            if current_id != base_id:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", StateWarning)
                    current = self._store.load()
                state = merge_concurrent(base, current, state)
                warnings.warn(
                    f"{self.state_dir}: another build committed since this plan was made; "
                    "entries either build changed will be re-checked next time",
                    StateWarning,
                    stacklevel=2,
                )
                synced = False
            try:
                self._store.save(state)
            except BaseException:
                if state is base:
                    # Changed in place but not stored: the next plan reads the store again.
                    self._state = self._pages_synced = None
                raise
        self._state = state
        self._pages_synced = state if synced else None
        if detection.partial:
            self._uncommitted_paths.difference_update(basis.watched_paths)
        else:
            self._uncommitted_paths.clear()
            self._needs_full_scan = False
        # Files left unrecorded (unreadable, failed) must be looked at again next time.
        path_for = self._detector.path_for
        self._uncommitted_paths.update(path_for(k) for k in detection.error_keys | failed_keys)
        self._state_stamp = self._store_stamp()

    def _commit_of(self, plan: Plan, recorded: Recorded, failed_keys: set[str]) -> Commit:
        from incrbuild._transitions import Commit

        basis = plan_basis(plan)
        assert basis is not None
        key_for = self._detector.key_for
        return Commit(
            detection=basis.detection,
            changed_keys=frozenset(key_for(p) for p in plan.changes.changed),
            failed_keys=frozenset(failed_keys),
            recorded=recorded,
            fingerprint_settled=self._detector.fingerprint_settled,
        )

    def _apply_partial(
        self, plan: Plan, state: State, recorded: Recorded, failed_keys: set[str]
    ) -> State:
        """Apply a partial (watcher) detection to the in-memory state, in proportion to it."""
        from incrbuild._transitions import next_state_partial

        commit = self._commit_of(plan, recorded, failed_keys)
        key_for = self._detector.key_for
        registry = self.registry
        metadata: dict[str, Mapping[str, Any] | None] = {}
        for path in plan.changes.added | plan.changes.modified:
            page = registry.page_for(path)
            metadata[key_for(path)] = None if page is None or is_generated(page) else page.metadata
        state, seen = next_state_partial(state, commit, metadata)
        # Whatever this may have changed of a key's page record is checked by the next
        # whole commit made in place (see next_state_in_place).
        detection = commit.detection
        self._pages_suspect.update(
            seen, detection.files, detection.removed_keys, failed_keys, commit.changed_keys
        )
        return state

    def _apply_whole(
        self, plan: Plan, state: State, recorded: Recorded, failed_keys: set[str]
    ) -> State:
        """A whole commit made in place on *state*, from the page list kept in step with it."""
        from incrbuild._transitions import next_state_in_place

        assert self._pages is not None
        commit = self._commit_of(plan, recorded, failed_keys)
        state, seen = next_state_in_place(
            state, commit, self._pages, self._pages_suspect, os.fspath(self.content_dir)
        )
        self._pages_suspect = seen
        return state

    def _next_state(
        self, plan: Plan, base: State, recorded: Recorded, failed_keys: set[str]
    ) -> State:
        """The state after a whole detection: the site's pages, and what the build recorded."""
        from incrbuild._transitions import next_state

        commit = self._commit_of(plan, recorded, failed_keys)
        key_for = self._detector.key_for
        pages = {
            key_for(page.source_path): page for page in self.site.pages if not is_generated(page)
        }
        state, seen = next_state(base, commit, pages, os.fspath(self.content_dir))
        # A page first seen as an input is stored without front matter: suspect.
        self._pages, self._pages_suspect = pages, seen
        return state


def _unchanged(detection: Detection) -> bool:
    """Whether *detection* found nothing added, modified, removed or unreadable."""
    changes = detection.changes
    return not (changes.added or changes.modified or changes.removed or changes.errors)


def _key_below(root: Path, path: Path) -> str | None:
    """Return *path*'s POSIX key below *root* (``None`` if it is not below it)."""
    for candidate in {path.absolute(), path.resolve()}:
        with contextlib.suppress(ValueError):
            return candidate.relative_to(root).as_posix()
    return None


def _with_errors(
    detection: Detection, errors: Mapping[Path, str], detector: ChangeDetector
) -> Detection:
    """Add the site loader's errors to a detection: reported, rebuilt, checked again next time."""
    keys = {detector.key_for(path) for path in errors}
    files = copy_files(detection.files)
    for key in keys:  # kept known, so that the file's later removal is a change
        files[key] = unchecked_record(files.get(key))
    known = {path for path, _ in detection.changes.errors}  # one message per file
    more = [(path, message) for path, message in errors.items() if path not in known]
    changes = attrs.evolve(
        detection.changes, errors=tuple(sorted({*detection.changes.errors, *more}))
    )
    return attrs.evolve(
        detection, changes=changes, files=files, error_keys=detection.error_keys | keys
    )


class _FactsView(Mapping[Path, Mapping[str, Any]]):
    """Stored front matter by site path, converting keys only for what is looked up."""

    def __init__(self, facts: Mapping[str, FileRecord], detector: ChangeDetector) -> None:
        self._facts = facts
        self._detector = detector

    def __getitem__(self, path: Path) -> Mapping[str, Any]:
        return self._facts[self._detector.key_for(path)].metadata

    def __contains__(self, path: object) -> bool:
        return isinstance(path, Path) and self._detector.key_for(path) in self._facts

    def __iter__(self) -> Iterator[Path]:
        return map(self._detector.path_for, self._facts)

    def __len__(self) -> int:
        return len(self._facts)
