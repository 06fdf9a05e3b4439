"""Runs what the find bar asks on the open document, in a worker, and says where the hits are.

The controller knows the document, the cursor and the selection (fed from the view's
``cursor_moved``/``selection_changed``); it never moves the cursor itself: ``found`` carries the
match for whoever owns the view, and replacements leave as ``replace_ready``/``replace_all_ready``
for the edit commands (one undo step for Replace all).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

from mmhex.core.search import (
    DEFAULT_FIND_ALL_LIMIT,
    FindResult,
    Match,
    find_all,
    find_next,
    fork_guard,
    iter_matches,
    non_overlapping,
)
from mmhex.ui.search.find_bar import FindBar, FindRequest
from mmhex.ui.search.results import SearchResultsModel
from mmhex.ui.search.worker import Job, format_rate

REPLACE_ALL_LIMIT = 10_000_000  # matches gathered for one Replace all (one undo step)


class SearchController(QObject):
    found = Signal(object, bool)  # Match, wrapped
    not_found = Signal()
    results_ready = Signal()  # a find-all has finished (or stopped) and the list is complete
    replace_ready = Signal(object, bytes)  # Match, replacement
    replace_all_ready = Signal(object, bytes)  # list[Match], replacement

    def __init__(
        self,
        bar: FindBar,
        results: SearchResultsModel,
        *,
        pool: QThreadPool | None = None,
        find_all_limit: int = DEFAULT_FIND_ALL_LIMIT,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.bar = bar
        self.results = results
        self.pool = pool
        self.find_all_limit = find_all_limit
        self.document: Any = None
        self.cursor = 0
        self.selection = (0, 0)
        self.last_match: Match | None = None
        self.job: Job | None = None
        self._scope: tuple[int, int] | None = None
        bar.find_requested.connect(self.run_find)
        bar.find_all_requested.connect(self.run_find_all)
        bar.replace_requested.connect(self.run_replace)
        bar.replace_all_requested.connect(self.run_replace_all)
        bar.cancel_requested.connect(self.cancel)

    # ----------------------------------------------------------------- state from the view
    def set_document(self, document: Any) -> None:
        self.cancel()
        self.document = document
        self.last_match = None
        self._scope = None
        self.results.clear()
        editable = bool(document is not None and getattr(document, "editing", False))
        self.bar.set_editable(editable)

    def set_cursor(self, offset: int) -> None:
        self.cursor = offset

    def set_selection(self, start: int, end: int) -> None:
        self.selection = (start, end)
        self.bar.set_selection_available(end > start)
        if (start, end) != (self._last_span()):
            self._scope = None  # a new selection by hand: it is the next 'Selection' scope

    def _last_span(self) -> tuple[int, int] | None:
        return None if self.last_match is None else (self.last_match.start, self.last_match.end)

    # ----------------------------------------------------------------- menu commands
    def show_find(self) -> None:
        """Ctrl+F."""
        self.bar.show_find()

    def show_replace(self) -> None:
        """Ctrl+R."""
        self.bar.show_replace()

    def find_all(self) -> None:
        request = self.bar.current_request()
        if request is None:
            self.bar.show_find()
            return
        self.run_find_all(request)

    def find_next(self) -> None:
        self._from_bar(backward=False)

    def find_previous(self) -> None:
        self._from_bar(backward=True)

    def _from_bar(self, *, backward: bool) -> None:
        request = self.bar.current_request(backward=backward)
        if request is None:
            self.bar.show_find()
            return
        self.run_find(request)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    # ----------------------------------------------------------------- running
    def _scope_for(self, request: FindRequest) -> tuple[int, int] | None:
        if not request.in_selection:
            return None
        if self._scope is None:
            start, end = self.selection
            self._scope = (start, end) if end > start else None
        return self._scope

    def _on_last_hit(self) -> bool:
        """Whether the selection is still the hit found last (the view selected it)."""
        hit = self.last_match
        return hit is not None and self.selection == (hit.start, hit.end)

    def _position(self, request: FindRequest) -> int:
        """Search from the hit shown (next: one byte on, so overlapping hits are not skipped),
        else from the cursor."""
        if self._on_last_hit():
            assert self.last_match is not None
            return self.last_match.start + (0 if request.backward else 1)
        return self.cursor

    def _job(self, work: Callable[[Any, Any], Any], total: int) -> Job:
        """A search job in a process of its own: Cancel kills it, even inside a regex that
        would backtrack forever, and a crash in it cannot take the window down."""
        document = self.document
        return Job(
            work,
            max(total, 1),
            path=document.path,
            isolated=True,
            fork_guard=lambda: fork_guard(document),
            parent=self,
        )

    def _start(
        self,
        job: Job,
        on_success: Callable[[Any], None],
        on_stop: Callable[[], None] | None = None,
    ) -> bool:
        """Run ``job``; when it ends the bar is updated first, then the follow-up runs.

        (Each cross-thread connection is a separate queued call, so the order is kept by
        handling every outcome in one slot.)
        """
        if self.document is None or (self.job is not None and self.job.running):
            return False
        if getattr(self.document, "reads_held", False):
            # An in-place save is moving the file's bytes (Document.reads_held).
            self.bar.show_message("Saving… try again when it finishes.", error=False)
            return False
        self.job = job
        self.bar.set_busy(True)
        job.progressed.connect(self.bar.set_progress)

        def succeeded(result: Any) -> None:
            self.bar.set_busy(False)
            on_success(result)

        def stopped(message: str, error: bool) -> None:
            self.bar.set_busy(False)
            self.bar.show_message(message, error=error)
            if on_stop is not None:
                on_stop()

        job.succeeded.connect(succeeded)
        job.failed.connect(lambda message: stopped(message, True))
        job.cancelled.connect(lambda: stopped("Search cancelled.", False))
        job.start(self.pool)
        return True

    def run_find(self, request: FindRequest) -> None:
        document = self.document
        if document is None:
            return
        scope = self._scope_for(request)
        position = self._position(request)
        total = (scope[1] - scope[0]) if scope else document.size

        def work(progress, _emit) -> FindResult | None:
            return find_next(
                document,
                request.compiled,
                position,
                backward=request.backward,
                scope=scope,
                wrap=request.wrap,
                progress=progress,
            )

        self._start(self._job(work, total), self._found)

    def _found(self, result: FindResult | None) -> None:
        # A regex match longer than the longest match searched may be cut or missed: say where.
        note = f" Note: {result.note}." if result is not None and result.overlong else ""
        if result is None or result.match is None:
            self.bar.show_message("Not found." + note)
            self.not_found.emit()
            return
        self.last_match = result.match
        self.results.current = result.match
        self.bar.show_message(
            f"Found at {result.match.start:#x}"
            + (" (wrapped around)." if result.wrapped else ".")
            + note
        )
        self.found.emit(result.match, result.wrapped)

    def run_find_all(self, request: FindRequest) -> None:
        document = self.document
        if document is None:
            return
        scope = self._scope_for(request)
        total = (scope[1] - scope[0]) if scope else document.size
        limit = self.find_all_limit

        def work(progress, emit):
            return find_all(
                document, request.compiled, scope=scope, limit=limit, progress=progress,
                on_batch=emit,
            )  # fmt: skip

        job = self._job(work, total)
        self.results.begin(document.read, request.compiled.description)
        job.batch.connect(self.results.add_batch)
        if not self._start(job, self._all_found, self._all_stopped):
            self.results.finish(truncated=False)

    def _all_found(self, result) -> None:
        self.results.finish(truncated=result.truncated)
        rate = (
            format_rate(self.job.total / self.job.elapsed) if self.job and self.job.elapsed else ""
        )
        self.bar.show_message(f"{result.summary}" + (f" · {rate}" if rate else ""))
        self.results_ready.emit()

    def _all_stopped(self) -> None:
        self.results.finish(truncated=True)
        self.results_ready.emit()

    # ----------------------------------------------------------------- replacing
    def run_replace(self, request: FindRequest, replacement: bytes) -> None:
        """Replace the selected hit (if the selection is one), then find the next."""
        hit = self.last_match
        if hit is not None and self._on_last_hit():
            self.replace_ready.emit(hit, replacement)  # any length: the document resizes
        self.run_find(request)

    def run_replace_all(self, request: FindRequest, replacement: bytes) -> None:
        document = self.document
        if document is None:
            return
        scope = self._scope_for(request)
        total = (scope[1] - scope[0]) if scope else document.size

        def work(progress, _emit):
            kept: list[Match] = []
            skipped = 0
            for match in non_overlapping(
                iter_matches(document, request.compiled, scope=scope, progress=progress)
            ):
                kept.append(match)
                if len(kept) >= REPLACE_ALL_LIMIT:
                    break
            return kept, skipped

        job = self._job(work, total)
        self._start(job, lambda result: self._replace_all_found(result, replacement))

    def _replace_all_found(self, result: tuple[list[Match], int], replacement: bytes) -> None:
        matches, skipped = result
        if not matches:
            self.bar.show_message("Nothing to replace.")
            return
        note = f"; {skipped:,} of another length left alone" if skipped else ""
        self.bar.show_message(f"Replacing {len(matches):,} matches{note}.")
        self.replace_all_ready.emit(matches, replacement)
