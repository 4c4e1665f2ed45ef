"""Small linear algebra on one BLAS thread.

The personal model's fits and the ranking's pair choice multiply matrices of a few hundred rows by ~70
columns, thousands of times a second. OpenBLAS splits each product over every core; on a busy machine (an
import running, other apps) its threads wait for each other, and another thread's BLAS call (the GUI
thread's) waits behind them: one fit from 120 answers took 1.8-2.7 s against 0.11-0.17 s on one thread
(2 cores at load 7.8; benchmarks/RESULTS.md, "Ranking: a check after every answer"). :func:`one_blas_thread`
runs a block on one BLAS thread (threadpoolctl); nested and concurrent blocks share one limit, restored when
the last ends. Without threadpoolctl it changes nothing.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_depth = 0
_limiter = None
_controller = None


def _limit():
    global _controller
    try:
        if _controller is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        return _controller.limit(limits=1, user_api="blas")
    except Exception:  # noqa: BLE001 - no threadpoolctl, or a BLAS it cannot drive: leave the threads as they are
        return None


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with numpy's BLAS on one thread (the process-wide setting, restored after the last
    block still running ends)."""
    global _depth, _limiter
    with _lock:
        if _depth == 0:
            _limiter = _limit()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _limiter is not None:
                try:
                    _limiter.restore_original_limits()
                finally:
                    _limiter = None
