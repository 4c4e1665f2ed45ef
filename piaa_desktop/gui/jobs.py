"""Background jobs of the GUI: one :class:`JobsManager` per window runs them (Vorta style).

    handle = win.jobs.submit(import_folder, folder, cache_dir, with_catalog=True,
                             on_done=self._import_done, on_error=self._import_failed,
                             on_progress=self._import_progress, name="import")
    handle.cancel()        # asks the job to stop at its next safe point
    win.jobs.running("import"); win.jobs.cancel_all(wait_s=30)   # at shutdown

``with_catalog=True`` gives the job its own catalog connection (catalog connections belong to one
thread) as its first argument, opened on the worker and closed when the job ends: the one place that
does so. :func:`run_job` is the primitive underneath (also for pools of small jobs such as previews).

``fn`` is any plain function. When it accepts ``progress`` / ``cancel`` keyword arguments (every long
core job does: ``f(..., progress=None, cancel=None)``), it gets a thread-safe progress callback and the
:class:`~piaa_desktop.core.jobs.CancelToken`. The callbacks (``on_result(value)``, ``on_error(exc)``,
``on_progress(done, total, message)``, ``on_finished()``) always run on the thread that called
:func:`run_job` (the GUI thread), through queued Qt signals, so they may touch widgets. A job that stops
because of its cancel token reports :class:`~piaa_desktop.core.jobs.Cancelled` to ``on_error``.

Progress is throttled (at most one signal every ``PROGRESS_INTERVAL`` seconds, plus the last one), so a
job that reports every item cannot flood the event loop.

"""
from __future__ import annotations

import inspect
import threading
import time
import traceback
from typing import Any, Callable, Optional

import functools
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from piaa_desktop.core.jobs import Cancelled, CancelToken

PROGRESS_INTERVAL = 0.05

# Handles of running jobs: keeps their signal objects alive until the GUI thread has seen them finish.
_ACTIVE: set["JobHandle"] = set()
_POOL: Optional[QThreadPool] = None


def job_pool() -> QThreadPool:
    """The pool of long jobs (import, training, export): separate from the thumbnail loaders, so a
    long job never starves the grid, and a few thumbnails never delay a job."""
    global _POOL
    if _POOL is None:
        _POOL = QThreadPool()
        _POOL.setObjectName("piaa-jobs")
        _POOL.setMaxThreadCount(2)
    return _POOL


class JobSignals(QObject):
    result = Signal(object)
    error = Signal(object)
    progress = Signal(int, int, str)
    finished = Signal()


def _accepts(fn: Callable, name: str) -> bool:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    for p in sig.parameters.values():
        if p.name == name and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            return True
        if p.kind is p.VAR_KEYWORD:
            return True
    return False


class _Job(QRunnable):
    def __init__(self, handle: "JobHandle", fn: Callable, args: tuple, kwargs: dict):
        super().__init__()
        self.setAutoDelete(True)
        self._handle = handle
        self._fn = fn
        self._args = args
        self._kwargs = kwargs

    def run(self) -> None:  # worker thread
        h = self._handle
        signals = h.signals
        last = [0.0]

        def progress(done: int, total: int, message: str = "") -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_INTERVAL or (total and done >= total):
                last[0] = now
                try:
                    signals.progress.emit(int(done), int(total), str(message))
                except RuntimeError:  # the receiver is gone (app closing)
                    pass

        kwargs = dict(self._kwargs)
        if _accepts(self._fn, "progress") and "progress" not in kwargs:
            kwargs["progress"] = progress
        if _accepts(self._fn, "cancel") and "cancel" not in kwargs:
            kwargs["cancel"] = h.cancel_token
        h._started.set()
        try:
            if h.cancel_token.cancelled:
                raise Cancelled()
            value = self._fn(*self._args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - every failure is reported, none kills the app
            h.traceback = traceback.format_exc()
            try:
                signals.error.emit(exc)
            except RuntimeError:
                pass
        else:
            try:
                signals.result.emit(value)
            except RuntimeError:
                pass
        finally:
            h._done.set()
            try:
                signals.finished.emit()
            except RuntimeError:
                pass


class JobHandle:
    """A running job: ``cancel()``, ``done``, ``wait(timeout)``, ``traceback`` (text, after an error)."""

    def __init__(self, name: str, cancel_token: CancelToken):
        self.name = name
        self.cancel_token = cancel_token
        self.signals = JobSignals()
        self.traceback = ""
        self._started = threading.Event()
        self._done = threading.Event()

    def cancel(self) -> None:
        self.cancel_token.cancel()

    @property
    def cancelled(self) -> bool:
        return self.cancel_token.cancelled

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until the job body returned (use in tests and at shutdown only, never in a slot)."""
        return self._done.wait(timeout)

    def __repr__(self) -> str:
        state = "done" if self.done else ("cancelling" if self.cancelled else "running")
        return f"<JobHandle {self.name} {state}>"


def run_job(
    fn: Callable[..., Any],
    *args: Any,
    on_result: Optional[Callable[[Any], None]] = None,
    on_error: Optional[Callable[[BaseException], None]] = None,
    on_progress: Optional[Callable[[int, int, str], None]] = None,
    on_finished: Optional[Callable[[], None]] = None,
    cancel_token: Optional[CancelToken] = None,
    pool: Optional[QThreadPool] = None,
    name: Optional[str] = None,
    **kwargs: Any,
) -> JobHandle:
    """Run ``fn(*args, **kwargs)`` on ``pool`` (default :func:`job_pool`); see the module docstring.

    Must be called from a thread with a Qt event loop (the GUI thread): the callbacks are delivered there.
    """
    handle = JobHandle(name or getattr(fn, "__name__", "job"), cancel_token or CancelToken())
    s = handle.signals
    if on_result is not None:
        s.result.connect(on_result)
    if on_error is not None:
        s.error.connect(on_error)
    if on_progress is not None:
        s.progress.connect(on_progress)
    if on_finished is not None:
        s.finished.connect(on_finished)
    _ACTIVE.add(handle)
    s.finished.connect(lambda: _ACTIVE.discard(handle))
    (pool or job_pool()).start(_Job(handle, fn, args, kwargs))
    return handle


def active_jobs() -> list[JobHandle]:
    """Jobs started with :func:`run_job` whose end the GUI thread has not processed yet."""
    return [h for h in _ACTIVE if not h.done]


def cancel_all(wait_s: float = 5.0) -> bool:
    """Cancel every running job and wait (up to ``wait_s`` in total) for them to stop: at shutdown."""
    jobs = list(_ACTIVE)
    for h in jobs:
        h.cancel()
    deadline = time.monotonic() + wait_s
    ok = True
    for h in jobs:
        ok &= h.wait(max(0.0, deadline - time.monotonic()))
    return ok


class _WithCatalog:
    """``fn(catalog, *args, **kwargs)`` on a catalog connection of its own, opened on the worker thread
    and closed when ``fn`` returns or raises. Passes ``progress`` / ``cancel`` on when ``fn`` takes them."""

    def __init__(self, fn: Callable[..., Any], catalog_path: str, backup_dir: Optional[str] = None):
        self.fn = fn
        self.catalog_path = catalog_path
        self.backup_dir = backup_dir
        self.__name__ = getattr(fn, "__name__", "job")

    def __call__(self, *args: Any, progress=None, cancel=None, **kwargs: Any) -> Any:
        from piaa_desktop.core.catalog import Catalog

        if progress is not None and _accepts(self.fn, "progress"):
            kwargs["progress"] = progress
        if cancel is not None and _accepts(self.fn, "cancel"):
            kwargs["cancel"] = cancel
        cat = Catalog.open(self.catalog_path, backup_dir=self.backup_dir)
        try:
            return self.fn(cat, *args, **kwargs)
        finally:
            cat.close()


class JobsManager(QObject):
    """Runs and tracks the background jobs of one window: ``submit``, ``running``, ``cancel``.

    ``catalog_path`` (and ``backup_dir``) is the catalog that ``with_catalog=True`` jobs open.
    Signals: ``jobStarted(handle)``, ``jobFinished(handle)`` (after its own callbacks ran)."""

    jobStarted = Signal(object)
    jobFinished = Signal(object)

    def __init__(self, catalog_path=None, backup_dir=None, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.catalog_path = str(catalog_path) if catalog_path is not None else None
        self.backup_dir = str(backup_dir) if backup_dir is not None else None
        self._handles: list[JobHandle] = []
        self._closed = False

    def _guard(self, fn: Optional[Callable]) -> Optional[Callable]:
        """A callback that does nothing once the manager is shut down (its window closed its catalog)."""
        if fn is None:
            return None

        def call(*args):
            if not self._closed:
                fn(*args)

        return call

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Optional[Callable[[Any], None]] = None,
        on_error: Optional[Callable[[BaseException], None]] = None,
        on_progress: Optional[Callable[[int, int, str], None]] = None,
        on_finished: Optional[Callable[[], None]] = None,
        with_catalog: "bool | str | Path" = False,
        cancel_token: Optional[CancelToken] = None,
        pool: Optional[QThreadPool] = None,
        name: Optional[str] = None,
        **kwargs: Any,
    ) -> JobHandle:
        """Run ``fn(*args, **kwargs)`` off the GUI thread; callbacks come back on the GUI thread.

        ``with_catalog``: True (this manager's catalog) or a catalog path: ``fn(catalog, *args, ...)``
        gets a connection of its own, closed at the end."""
        if with_catalog:
            path = self.catalog_path if with_catalog is True else str(with_catalog)
            if path is None:
                raise ValueError("with_catalog=True needs a JobsManager with a catalog_path")
            backup = self.backup_dir if with_catalog is True else None
            fn = _WithCatalog(fn, path, backup)
        if self._closed:
            raise RuntimeError("the jobs manager is shut down")
        g = self._guard
        handle = run_job(
            fn, *args, on_result=g(on_done), on_error=g(on_error), on_progress=g(on_progress),
            on_finished=g(on_finished), cancel_token=cancel_token, pool=pool, name=name, **kwargs,
        )
        self._handles.append(handle)
        handle.signals.finished.connect(functools.partial(self._finished, handle))
        self.jobStarted.emit(handle)
        return handle

    def _finished(self, handle: JobHandle) -> None:
        try:
            self._handles.remove(handle)
        except ValueError:
            pass
        self.jobFinished.emit(handle)

    def running(self, name: Optional[str] = None) -> list[JobHandle]:
        """Jobs not finished yet (named ``name``, or all)."""
        return [h for h in self._handles if not h.done and (name is None or h.name == name)]

    def is_running(self, name: str) -> bool:
        return bool(self.running(name))

    def cancel(self, name: Optional[str] = None) -> None:
        for h in self.running(name):
            h.cancel()

    def shutdown(self, wait_s: float = 30.0) -> bool:
        """At window close: no callback runs any more (late results of jobs are dropped), every job is
        cancelled and waited for (up to ``wait_s``). Returns whether they all stopped."""
        self._closed = True
        return self.cancel_all(wait_s)

    def cancel_all(self, wait_s: float = 30.0) -> bool:
        """Cancel every job of this manager and wait (up to ``wait_s`` in all) for them to stop."""
        jobs = self.running()
        for h in jobs:
            h.cancel()
        deadline = time.monotonic() + wait_s
        ok = True
        for h in jobs:
            ok &= h.wait(max(0.0, deadline - time.monotonic()))
        return ok


_DEFAULT: Optional[JobsManager] = None


def default_jobs() -> JobsManager:
    """The manager for widgets used without a window (a dialog in a test): no catalog of its own."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = JobsManager()
    return _DEFAULT
