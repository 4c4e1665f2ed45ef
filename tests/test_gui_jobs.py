"""gui.jobs.run_job: results, errors, progress and cancellation come back on the GUI thread."""
from __future__ import annotations

import threading

import pytest

pytest.importorskip("pytestqt")

from piaa_desktop.core.jobs import CancelToken, Cancelled  # noqa: E402
from piaa_desktop.gui.jobs import run_job  # noqa: E402


def _collect():
    out = {"result": [], "error": [], "progress": [], "threads": set(), "finished": 0}
    return out


def test_result_and_progress_arrive_on_gui_thread(qtbot):
    got = _collect()
    main = threading.get_ident()

    def job(n, progress=None, cancel=None):
        for i in range(n):
            progress(i + 1, n, f"item {i + 1}")
        return ("done", threading.get_ident())

    def on_result(v):
        got["result"].append(v)
        got["threads"].add(threading.get_ident())

    def on_progress(d, t, m):
        got["progress"].append((d, t, m))
        got["threads"].add(threading.get_ident())

    h = run_job(job, 50, on_result=on_result, on_progress=on_progress)
    qtbot.waitUntil(lambda: bool(got["result"]), timeout=10000)
    assert got["result"][0][0] == "done"
    assert got["result"][0][1] != main  # the body ran on a worker thread
    assert got["threads"] == {main}  # every callback on the GUI thread
    # throttled, but the last report always arrives
    assert got["progress"][-1] == (50, 50, "item 50")
    assert 1 <= len(got["progress"]) <= 50
    assert h.done


def test_error_is_reported_with_traceback(qtbot):
    errors = []

    def job():
        raise ValueError("bad photo")

    h = run_job(job, on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=10000)
    assert isinstance(errors[0], ValueError)
    assert "bad photo" in h.traceback


def test_cancel_token_stops_a_job(qtbot):
    errors, results = [], []
    started = threading.Event()
    token = CancelToken()

    def job(progress=None, cancel=None):
        started.set()
        while True:
            cancel.raise_if_cancelled()
            threading.Event().wait(0.005)

    h = run_job(job, on_error=errors.append, on_result=results.append, cancel_token=token)
    assert started.wait(10)
    h.cancel()
    qtbot.waitUntil(lambda: bool(errors), timeout=10000)
    assert isinstance(errors[0], Cancelled) and not results
    assert token.cancelled


def test_plain_function_without_progress_or_cancel(qtbot):
    results = []
    run_job(lambda a, b: a + b, 2, 3, on_result=results.append)
    qtbot.waitUntil(lambda: bool(results), timeout=10000)
    assert results == [5]
