"""Progress and cancellation for long jobs.

Every long job in the core is a plain function ``job(..., progress=None, cancel=None)``:

* ``progress(done, total, message)`` is called from the worker thread; it must be cheap and
  thread-safe (the GUI forwards it through a queued signal, the CLI draws a bar).
* ``cancel`` is a :class:`CancelToken`; the job calls ``cancel.raise_if_cancelled()`` between units
  of work and leaves everything it committed so far in a consistent state.
"""
from __future__ import annotations

import threading
from typing import Callable, Optional, Protocol


class Cancelled(Exception):
    """Raised inside a job when its cancel token was set."""


class CancelToken:
    """A thread-safe flag a caller sets to ask a running job to stop at the next safe point."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


class ProgressCallback(Protocol):
    def __call__(self, done: int, total: int, message: str = "") -> None: ...


def no_progress(done: int, total: int, message: str = "") -> None:
    """The progress callback used when the caller passes none."""


def ensure(progress: Optional[ProgressCallback], cancel: Optional[CancelToken]) -> tuple[ProgressCallback, CancelToken]:
    """Fill in defaults so job bodies never test for ``None``."""
    return (progress or no_progress), (cancel or CancelToken())


ProgressFn = Callable[[int, int, str], None]
