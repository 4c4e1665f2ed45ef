"""Run plain core jobs on a QThreadPool and get their results back on the GUI thread (Picard style).

    handle = run_job(import_job, catalog_path, folder, cache_dir,
                     on_result=self._import_done, on_error=self._import_failed,
                     on_progress=self._import_progress, cancel_token=token)
    handle.cancel()        # asks the job to stop at its next safe point

``fn`` is any plain function. When it accepts ``progress`` / ``cancel`` keyword arguments (every long
core job does: ``f(..., progress=None, cancel=None)``), it gets a thread-safe progress callback and the
:class:`~piaa_desktop.core.jobs.CancelToken`. The callbacks (``on_result(value)``, ``on_error(exc)``,
``on_progress(done, total, message)``, ``on_finished()``) always run on the thread that called
:func:`run_job` (the GUI thread), through queued Qt signals, so they may touch widgets. A job that stops
because of its cancel token reports :class:`~piaa_desktop.core.jobs.Cancelled` to ``on_error``.

Progress is throttled (at most one signal every ``PROGRESS_INTERVAL`` seconds, plus the last one), so a
job that reports every item cannot flood the event loop.

Catalog connections belong to one thread: a job that needs the catalog opens its own with
``Catalog.open(path)`` and closes it when done (see :func:`piaa_desktop.gui.main_window.import_job`).
"""
from __future__ import annotations

import inspect
import threading
import time
import traceback
from typing import Any, Callable, Optional

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
