"""GUI stalls per user action: the real main window over a synthetic catalog of ``--n`` photos (default
100,000), every common action done the way a user does it, the longest GUI-thread stall of each measured.

    python benchmarks/gui_actions.py [--n 100000] [--dir /tmp/piaa-actions] [--reuse] [--json] [--no-write]
                                     [--only NAME[,NAME]] [--profile NAME]

Set-up (skipped with ``--reuse`` when it exists): ``DIR/pristine`` gets a catalog from
:func:`piaa_desktop.lab.synthetic.make_synthetic_catalog` (no image files; embeddings of the current
backbone's size), keywords on 30 % of the photos (``benchmarks/search_bench.add_keywords``) and a personal
model trained once from its ratings (``core.personal.operations.personalize``: its first read stores the
feature rows, as on a user's machine after the first training). Each run copies it to ``DIR/run`` first,
so every run starts from the same catalog (the actions rate and flag photos).

Measured in a child process (a fresh interpreter, QT_QPA_PLATFORM=offscreen): ``MainWindow(app_paths(dir),
settings=Settings())`` at 1280 x 800, shown and active; start-up jobs settle; then each action, preceded by a
quiet pump (background jobs finished, 300 ms of nothing), done through the real input path: QTest key
presses to the focused widget (the window's shortcuts: F5, Space, G, 1-5, P, X, Ctrl+A, Ctrl+G, Ctrl+Z, C,
Ctrl+T, Ctrl+= / Ctrl+-), the View menu's sort QActions, the toolbar combos' ``activated`` signal (what a
pick in their popup emits), mouse clicks on grid cells, keys typed into the search bar, the scroll bar, wheel
events, window resizes. Per action:

* longest stall: the longest gap between two ticks of a 5 ms QTimer heartbeat on the GUI thread (wall)
  from the first input until the result is on screen and 300 ms more (later work of the same action counts);
* in that gap: the GUI thread's own CPU (``time.thread_time``) and its run-queue wait (time runnable but
  waiting for a core, ``/proc/thread-self/schedstat``): the rest of the gap is the GIL (worker threads) or I/O;
* time to result: from the (last) input until the result is on screen (the model has the new order, the
  loupe shows the photo, the rating is in the model, ...).

Also: the window's open time, and the longest stall between actions (background jobs finishing, e.g. the
personal model re-trained after ratings). Synthetic photos have no image files: the grid paints
placeholders and the loupe says it cannot decode (decoding runs on worker threads anyway).

Writes its section of benchmarks/RESULTS.md (``## GUI stalls per user action at 100,000 photos``).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SECTION = "GUI stalls per user action at 100,000 photos"
LIMIT_MS = 100.0

# (json key, label in the table); the child measures every one, the test checks every one is there
ACTIONS: tuple[tuple[str, str], ...] = (
    ("sort:generic", "sort: Generic score (View › Sort by)"),
    ("sort:personal", "sort: Personal score"),
    ("sort:rating", "sort: Rating"),
    ("sort:name", "sort: File name"),
    ("sort:capture_time", "sort: Capture time (back)"),
    ("sort_combo", "sort from the toolbar combo (Generic score, then back)"),
    ("refresh_order", "F5 (refresh order)"),
    ("filter_rating_3", "rating filter ★★★ and up (toolbar combo)"),
    ("filter_rating_any", "rating filter back to any"),
    ("filter_picks", "flag filter Picks"),
    ("filter_flag_all", "flag filter back to all"),
    ("click_photo", "click a photo in the grid"),
    ("grid_arrows", "Right arrow x10 in the grid"),
    ("loupe_enter", "Space: grid to loupe"),
    ("loupe_right", "Right arrow x10 in the loupe"),
    ("loupe_leave", "G: loupe back to the grid"),
    ("loupe_enter_return", "Enter: grid to loupe (second time)"),
    ("loupe_leave_space", "Space: loupe back to the grid"),
    ("rate_one", "rate 1 photo, keys 1-5 (worst of 5)"),
    ("rate_200", "rate 200 selected photos, keys 1-5 (worst of 5)"),
    ("rate_in_rating_sort", "rate 1 photo while sorted by rating (the order holds)"),
    ("flag_pick", "P: pick"),
    ("flag_reject", "X: reject"),
    ("undo_rating", "Ctrl+Z: undo a rating"),
    ("select_all", "Ctrl+A: select all"),
    ("select_none", "Ctrl+D: select none"),
    ("rate_all", "Ctrl+A, then 3: rate every photo of the library (the 3 measured)"),
    ("undo_rate_all", "Ctrl+Z: undo that rating of every photo"),
    ("reject_all", "Ctrl+A, then X: reject every photo (the X measured)"),
    ("undo_reject_all", "Ctrl+Z: undo that reject of every photo"),
    ("label_all", "Ctrl+A, then 6: red label on every photo (the 6 measured)"),
    ("collapse_stacks", "Ctrl+G: collapse stacks"),
    ("expand_stacks", "Ctrl+G: expand stacks"),
    ("rate_collapsed", "rate 1 photo in Rating order while stacks are collapsed"),
    ("keep_best", "Photo › Keep best of each stack (picks the best, rejects the rest)"),
    ("search_type", "search: type kw:Paris (60 ms a key)"),
    ("search_clear", "search: clear it (Ctrl+A, Backspace)"),
    ("folder_click", "library tree: click a folder"),
    ("folder_all", "library tree: back to All photos"),
    ("compare_enter", "C: compare 2 selected photos"),
    ("compare_leave", "C: compare back to the grid"),
    ("double_click", "double-click a photo: grid to loupe"),
    ("develop_on", "D: develop panel shown (on the loupe)"),
    ("develop_off", "D: develop panel hidden"),
    ("ranking_enter", "R: \"which do you prefer?\" view"),
    ("ranking_leave", "R: back to the grid"),
    ("scroll_drag", "scroll bar dragged top to bottom (300 steps)"),
    ("scroll_pages", "scroll bar page jumps x100 (trough clicks)"),
    ("wheel", "mouse wheel x60 notches"),
    ("page_down_keys", "PageDown key x10 in the grid"),
    ("zoom_keys", "Ctrl+= x3 then Ctrl+- x3 (thumbnail size)"),
    ("zoom_slider", "thumbnail size slider dragged (20 steps)"),
    ("resize", "window resized 1280x800 -> 1000x700 -> 1280x800"),
    ("personal_update", "Ctrl+T: personal model re-trained, library re-scored (worker) and shown"),
)


# ============================================================================ the child (the measurement)
def child(data_dir: str, only: list[str], profile: str, pace: float) -> dict:
    """Runs in a fresh interpreter: opens the window, does every action, returns what it measured."""
    import cProfile
    import io
    import pstats
    import traceback

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QElapsedTimer, QPoint, QPointF, Qt, QTimer
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QAbstractSlider, QApplication

    app = QApplication.instance() or QApplication([])
    from piaa_desktop.core.library import GRID_SORTS, RATING_FILTERS, query_ids
    from piaa_desktop.core.paths import app_paths
    from piaa_desktop.core.settings import Settings
    from piaa_desktop.gui.jobs import active_jobs
    from piaa_desktop.gui.main_window import MainWindow

    K = Qt.Key
    NOMOD, CTRL, SHIFT = Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
    out: dict = {"actions": {}, "errors": {}, "load_start": os.getloadavg()[0]}
    clock = QElapsedTimer()
    clock.start()

    try:  # opened once (on the GUI thread: thread-self is this thread), read with pread at each tick
        sched_fd = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
    except OSError:
        sched_fd = None

    def runqueue_ms() -> float:
        # Linux: time this thread spent runnable but waiting for a core (schedstat's 2nd field, ns)
        if sched_fd is None:
            return 0.0
        try:
            return int(os.pread(sched_fd, 128, 0).split()[1]) / 1e6
        except (OSError, ValueError, IndexError):
            return 0.0

    class Beat:
        """The longest gap between two heartbeat ticks since :meth:`reset`, with the GUI thread's CPU and
        run-queue wait in that gap (the approach of benchmarks/search_bench.py)."""

        def reset(self) -> None:
            self.max = self.cpu_at_max = self.rq_at_max = self.cpu_max = 0.0
            self.last, self.cpu_last, self.rq_last = clock.nsecsElapsed() / 1e6, time.thread_time() * 1e3, runqueue_ms()

        def beat(self) -> None:
            now, cpu, rq = clock.nsecsElapsed() / 1e6, time.thread_time() * 1e3, runqueue_ms()
            if now - self.last > self.max:
                self.max, self.cpu_at_max, self.rq_at_max = now - self.last, cpu - self.cpu_last, rq - self.rq_last
            self.cpu_max = max(self.cpu_max, cpu - self.cpu_last)
            self.last, self.cpu_last, self.rq_last = now, cpu, rq

        def snapshot(self) -> dict:
            self.beat()  # the gap up to now counts too
            return {"stall_ms": round(self.max, 1), "cpu_in_gap_ms": round(self.cpu_at_max, 1),
                    "runqueue_in_gap_ms": round(self.rq_at_max, 1), "max_busy_ms": round(self.cpu_max, 1)}

    beat = Beat()
    beat.reset()
    hb = QTimer()
    hb.setInterval(5)
    hb.timeout.connect(beat.beat)

    def pump(ms: float) -> None:
        end = time.perf_counter() + ms / 1000
        while True:
            app.processEvents()
            if time.perf_counter() >= end:
                return
            time.sleep(0.001)

    def wait_until(pred, timeout: float) -> bool:
        end = time.perf_counter() + timeout
        while not pred():
            if time.perf_counter() > end:
                return False
            app.processEvents()
            time.sleep(0.001)
        return True

    # ------------------------------------------------------------------ the window
    paths = app_paths(data_dir)
    t = time.perf_counter()
    w = MainWindow(paths, settings=Settings())
    w.resize(1280, 800)
    w.show()
    app.processEvents()
    out["window_open_s"] = round(time.perf_counter() - t, 2)
    t_open = time.perf_counter()
    w.activateWindow()
    wait_until(lambda: QApplication.activeWindow() is w, 5)
    out["window_active"] = QApplication.activeWindow() is w
    hb.start()
    personal = w.features.personal
    library = w.features.library
    if pace != 1.0:  # quick runs (the test): the re-training after a rating starts sooner, as if the user paused
        personal.train_timer.setInterval(max(1, int(personal.train_timer.interval() * pace)))

    def idle() -> bool:
        return (not active_jobs() and not personal.train_timer.isActive()
                and not any(t.isActive() for t in (getattr(library, "_rerun_t", None),) if t is not None))

    between = {"stall_ms": 0.0, "after": ""}
    settle_ms = 300 * pace

    def quiet(after: str, limit_s: float = 300.0) -> None:
        """Background work finished and 300 ms of nothing; its longest stall is kept as 'between actions'."""
        beat.reset()
        for _ in range(3):
            wait_until(idle, limit_s)
            pump(settle_ms)
            if idle():
                break
        snap = beat.snapshot()
        if snap["stall_ms"] > between["stall_ms"]:
            between.update(snap, after=after)

    t = time.perf_counter()
    beat.reset()
    quiet("start-up", limit_s=600)
    out["startup"] = dict(beat.snapshot(), settle_s=round(time.perf_counter() - t, 2))
    between["stall_ms"] = 0.0
    n_all = w.model.rowCount()
    out["n"] = n_all
    out["window_active"] = QApplication.activeWindow() is w

    def key(k, mods=NOMOD) -> float:
        """One key press as the keyboard sends it: to the focused widget (the window's shortcuts answer).
        Returns when it was pressed (QTest delivers it synchronously: the work it starts at once is done)."""
        t = time.perf_counter()
        QTest.keyClick(QApplication.focusWidget() or w, k, mods)
        return t

    def keys(k, n: int, every_ms: float, mods=NOMOD) -> float:
        last = time.perf_counter()
        for i in range(n):
            last = key(k, mods)
            if i < n - 1:
                pump(every_ms * pace)
        return last

    def click_row(row: int, mods=NOMOD) -> None:
        rect = w.grid.visualRect(w.model.index(row, 0))
        QTest.mouseClick(w.grid.viewport(), Qt.MouseButton.LeftButton, mods, rect.center())

    def grid_ready(row: int = 0) -> None:
        """The grid shown and focused, scrolled to the top, ``row`` current and alone selected."""
        if w.current_view() != "grid":
            w.show_view("grid")
        w.grid.scrollToTop()
        pump(20)
        click_row(row)
        w.grid.setFocus()
        pump(20)

    def first_ids(n: int = 20) -> list:
        return [w.model.id_at(r) for r in range(min(n, w.model.rowCount()))]

    last_key = ["start-up"]

    def measure(name: str, do, done=None, timeout: float = 60.0, prep=None) -> dict | None:
        """``prep()`` (not measured), a quiet pump, then ``do()`` (returns the time of its last input, or
        None for its start); the result is on screen when ``done()``; 300 ms more are measured."""
        if only and name.split("#")[0] not in only:
            return None
        try:
            if prep is not None:
                prep()
            quiet(last_key[0])
            last_key[0] = name
            pr = cProfile.Profile() if name.split("#")[0] in profile.split(",") else None
            beat.reset()
            t0 = time.perf_counter()
            if pr is not None:
                pr.enable()
            t_input = do() or t0
            ok = True
            if done is not None:
                ok = wait_until(done, timeout)
            t_done = time.perf_counter()
            pump(settle_ms)
            if pr is not None:
                pr.disable()
                s = io.StringIO()
                pstats.Stats(pr, stream=s).sort_stats("cumtime").print_stats(35)
                print(f"==== profile of {name}\n{s.getvalue()}", file=sys.stderr)
            res = beat.snapshot()
            res["at_s"] = round(time.perf_counter() - t_open, 2)
            res["result_ms"] = round((t_done - t_input) * 1000, 1) if done is not None and ok else None
            if not ok:
                res["timed_out"] = True
            return res
        except Exception:  # noqa: BLE001 - one broken action is reported, the others still run
            out["errors"][name] = traceback.format_exc()[-3000:]
            return None

    def record(name: str, res) -> None:
        if res is not None:
            out["actions"][name] = res
            say(name, res)

    def say(name: str, res: dict) -> None:
        print(f"{res['at_s']:8.1f} s  {name:20s} stall {res['stall_ms']:7.0f} ms (GUI CPU {res['cpu_in_gap_ms']:.0f}, "
              f"run queue {res['runqueue_in_gap_ms']:.0f}), result {res.get('result_ms')} ms", file=sys.stderr, flush=True)

    def worst(name: str, samples: list) -> None:
        samples = [s for s in samples if s is not None]
        if samples:
            top = dict(max(samples, key=lambda s: s["stall_ms"]))
            top["samples_stall_ms"] = [s["stall_ms"] for s in samples]
            if any(s.get("timed_out") for s in samples):
                top["timed_out"] = True
            out["actions"][name] = top
            say(name, top)

    # ------------------------------------------------------------------ sort (View › Sort by)
    records = w.model.records()

    def expected_order(sort: str) -> list:
        return query_ids(w.catalog, sort, None, 0, None, True, records=w.model.records())[:20]

    for sk in [s for s in GRID_SORTS if s != w.sort_key()] + [w.sort_key()]:
        exp = expected_order(sk)
        record(f"sort:{sk}", measure(f"sort:{sk}", lambda sk=sk: w.sort_actions[sk].trigger(),
                                     lambda exp=exp: first_ids() == exp, prep=grid_ready))
    # the toolbar's combo: what choosing an item in its popup emits
    base = w.sort_key()
    samples = []
    for sk in ("generic", base):
        i = GRID_SORTS.index(sk)
        exp = expected_order(sk)

        def pick(i=i):
            w.sort_combo.setCurrentIndex(i)
            w.sort_combo.activated.emit(i)
        samples.append(measure("sort_combo", pick, lambda exp=exp: first_ids() == exp, prep=grid_ready))
    worst("sort_combo", samples)

    # ------------------------------------------------------------------ F5 after a rating moved a photo
    def stale_order() -> None:
        w.sort_actions["rating"].trigger()
        grid_ready(0)
        r = w.model.record(w.model.id_at(0)).rating
        key(K.Key_1 if r != 1 else K.Key_2)  # the top photo would move down: the order holds, "new order ready"
        quiet("(set-up of F5)")
        w.say("")

    record("refresh_order", measure("refresh_order", lambda: key(K.Key_F5),
                                    lambda: not w.order_is_stale() and w.status_text() == "Re-sorted", prep=stale_order))
    if not only or "refresh_order" in only:
        w.sort_actions[base].trigger()

    # ------------------------------------------------------------------ filters (toolbar combos)
    def combo(c, value):
        i = c.findData(value)

        def pick():
            c.setCurrentIndex(i)
            c.activated.emit(i)
        return pick

    three = [v for v, _t in RATING_FILTERS].index(3)
    record("filter_rating_3", measure("filter_rating_3", combo(w.rating_combo, RATING_FILTERS[three][0]),
                                      lambda: 0 < w.model.rowCount() < n_all, prep=grid_ready))
    record("filter_rating_any", measure("filter_rating_any", combo(w.rating_combo, 0),
                                        lambda: w.model.rowCount() == n_all))
    record("filter_picks", measure("filter_picks", combo(w.flag_combo, "picked"),
                                   lambda: 0 < w.model.rowCount() < n_all, prep=grid_ready))
    record("filter_flag_all", measure("filter_flag_all", combo(w.flag_combo, "all"),
                                      lambda: w.model.rowCount() == n_all))

    # ------------------------------------------------------------------ grid and loupe
    def click7() -> float:
        t = time.perf_counter()
        click_row(7)
        return t

    record("click_photo", measure("click_photo", click7, lambda: w.current_id() == w.model.id_at(7),
                                  prep=lambda: grid_ready(0)))
    record("grid_arrows", measure("grid_arrows", lambda: keys(K.Key_Right, 10, 80),
                                  lambda: w.grid.currentIndex().row() == 13, prep=lambda: grid_ready(3)))
    record("loupe_enter", measure("loupe_enter", lambda: key(K.Key_Space), lambda: w.current_view() == "loupe",
                                  prep=lambda: grid_ready(2)))
    record("loupe_right", measure("loupe_right", lambda: keys(K.Key_Right, 10, 100),
                                  lambda: w.grid.currentIndex().row() == 12,
                                  prep=lambda: w.current_view() == "loupe" or (grid_ready(2), w.show_view("loupe"))))
    record("loupe_leave", measure("loupe_leave", lambda: key(K.Key_G), lambda: w.current_view() == "grid",
                                  prep=lambda: w.current_view() == "loupe" or (grid_ready(2), w.show_view("loupe"))))
    record("loupe_enter_return", measure("loupe_enter_return", lambda: key(K.Key_Return),
                                         lambda: w.current_view() == "loupe", prep=lambda: grid_ready(4)))
    record("loupe_leave_space", measure("loupe_leave_space", lambda: key(K.Key_Space),
                                        lambda: w.current_view() == "grid",
                                        prep=lambda: w.current_view() == "loupe" or (grid_ready(4), w.show_view("loupe"))))

    # ------------------------------------------------------------------ culling keys
    digit = {r: getattr(K, f"Key_{r}") for r in range(10)}

    def rated(pids, r):
        return lambda: all((rec := w.model.record(p)) is not None and rec.rating == r for p in pids)

    samples = []
    for r in range(1, 6):
        pid = w.model.id_at(6)
        samples.append(measure("rate_one", lambda r=r: key(digit[r]), rated([pid], r), prep=lambda: grid_ready(6)))
    worst("rate_one", samples)

    def select_200() -> None:
        grid_ready(10)
        w.select_rows(range(10, 210), current=10)
        w.grid.setFocus()

    samples = []
    for r in range(1, 6):
        pids = [w.model.id_at(k) for k in range(10, 210)]
        samples.append(measure("rate_200", lambda r=r: key(digit[r]), rated(pids, r), prep=select_200, timeout=120))
    worst("rate_200", samples)

    def rating_sort_ready() -> None:
        if w.sort_key() != "rating":
            w.sort_actions["rating"].trigger()
        grid_ready(3)

    rs = {}

    def rate_top() -> float:
        rs["pid"] = w.model.id_at(3)
        rs["r"] = 1 if w.model.record(rs["pid"]).rating != 1 else 2
        return key(digit[rs["r"]])

    record("rate_in_rating_sort", measure("rate_in_rating_sort", rate_top,
                                          lambda: w.model.record(rs["pid"]).rating == rs["r"], prep=rating_sort_ready))
    if w.sort_key() != base:
        w.sort_actions[base].trigger()

    def flagged(row, f):
        pid = w.model.id_at(row)
        return lambda: (rec := w.model.record(pid)) is not None and rec.flag == f

    record("flag_pick", measure("flag_pick", lambda: key(K.Key_P), flagged(8, 1), prep=lambda: grid_ready(8)))
    record("flag_reject", measure("flag_reject", lambda: key(K.Key_X), flagged(9, -1), prep=lambda: grid_ready(9)))

    undo_state = {}

    def rate_then_undo_prep() -> None:
        grid_ready(11)
        pid = w.model.id_at(11)
        undo_state["pid"], undo_state["before"] = pid, w.model.record(pid).rating
        key(digit[4 if undo_state["before"] != 4 else 2])

    record("undo_rating", measure("undo_rating", lambda: key(K.Key_Z, CTRL),
                                  lambda: w.model.record(undo_state["pid"]).rating == undo_state["before"],
                                  prep=rate_then_undo_prep))

    record("select_all", measure("select_all", lambda: key(K.Key_A, CTRL),
                                 lambda: f"{w.model.rowCount()} selected" in w.count_label.text(), prep=grid_ready))
    record("select_none", measure("select_none", lambda: key(K.Key_D, CTRL),
                                  lambda: "selected" not in w.count_label.text() and not w.grid.selectionModel().hasSelection()))

    # ------------------------------------------------------------------ the whole library at once
    # Ctrl+A (measured above) in the set-up, then the key; the result: sampled photos across the grid carry
    # the new value (undo: their old one). A worker may write it: the time to result counts until then.
    whole: dict = {}

    def sample_ids() -> list:
        n = w.model.rowCount()
        return [w.model.id_at(r) for r in sorted({0, 1, n // 3, n // 2, (2 * n) // 3, n - 2, n - 1}) if 0 <= r < n]

    def all_selected() -> None:
        grid_ready(0)
        key(K.Key_A, CTRL)
        wait_until(lambda: w.selected_count() == w.model.rowCount(), 30)

    def whole_prep(field: str):
        def prep() -> None:
            all_selected()
            whole[field] = {p: getattr(w.model.record(p), field) for p in sample_ids()}
        return prep

    def whole_has(field: str, value):
        return lambda: all(getattr(w.model.record(p), field) == value for p in whole[field])

    def whole_undone(field: str):
        return lambda: all(getattr(w.model.record(p), field) == v for p, v in whole[field].items())

    def undo_prep(field: str, k, value):
        def prep() -> None:  # measured alone: do the change first
            if field not in whole or not whole_has(field, value)():
                whole_prep(field)()
                key(k)
                wait_until(whole_has(field, value), 120)
            w.grid.setFocus()
        return prep

    record("rate_all", measure("rate_all", lambda: key(digit[3]), lambda: whole_has("rating", 3)(),
                               prep=whole_prep("rating"), timeout=120))
    record("undo_rate_all", measure("undo_rate_all", lambda: key(K.Key_Z, CTRL), lambda: whole_undone("rating")(),
                                    prep=undo_prep("rating", digit[3], 3), timeout=120))
    record("reject_all", measure("reject_all", lambda: key(K.Key_X), lambda: whole_has("flag", -1)(),
                                 prep=whole_prep("flag"), timeout=120))
    record("undo_reject_all", measure("undo_reject_all", lambda: key(K.Key_Z, CTRL), lambda: whole_undone("flag")(),
                                      prep=undo_prep("flag", K.Key_X, -1), timeout=120))
    record("label_all", measure("label_all", lambda: key(digit[6]), lambda: whole_has("color_label", "red")(),
                                prep=whole_prep("color_label"), timeout=120))
    if not only or any(k in only for k in ("rate_all", "undo_rate_all", "reject_all", "undo_reject_all", "label_all")):
        if "color_label" in whole and whole_has("color_label", "red")():
            key(K.Key_Z, CTRL)  # the library as it was for the actions after these
            wait_until(whole_undone("color_label"), 120)
        grid_ready(0)

    def say_nothing() -> None:
        grid_ready(0)
        w.say("")

    record("collapse_stacks", measure("collapse_stacks", lambda: key(K.Key_G, CTRL),
                                      lambda: w.collapse_stacks and w.status_text().startswith(("Stacks collapsed", "No stacks")),
                                      prep=say_nothing, timeout=120))
    record("expand_stacks", measure("expand_stacks", lambda: key(K.Key_G, CTRL),
                                    lambda: not w.collapse_stacks and w.status_text().startswith("Stacks expanded"),
                                    prep=lambda: (w.collapse_stacks or w.set_collapse_stacks(True), say_nothing()), timeout=120))

    def collapsed_rating_sort() -> None:
        if not w.collapse_stacks:
            w.set_collapse_stacks(True)
        rating_sort_ready()

    record("rate_collapsed", measure("rate_collapsed", rate_top, lambda: w.model.record(rs["pid"]).rating == rs["r"],
                                     prep=collapsed_rating_sort, timeout=120))
    if w.collapse_stacks:
        w.set_collapse_stacks(False)
    if w.sort_key() != base:
        w.sort_actions[base].trigger()

    # Photo > Keep best of each stack (the menu action), then Ctrl+Z: the library as it was for the rest
    cull = w.features.culling
    record("keep_best", measure("keep_best", lambda: cull.act_stacks.trigger(),
                                lambda: not cull.writing() and w.status_text().startswith(("Kept the best", "No stacks")),
                                prep=say_nothing, timeout=120))
    if (not only or "keep_best" in only) and w.status_text().startswith("Kept the best"):
        key(K.Key_Z, CTRL)
        wait_until(lambda: not cull.writing() and w.status_text().startswith("Undid"), 120)
        grid_ready(0)

    # ------------------------------------------------------------------ search bar (Ctrl+F)
    finished: list = []
    library.searchFinished.connect(lambda text, n: finished.append(text))
    query = "kw:Paris"

    def focus_search() -> None:
        grid_ready(0)
        key(K.Key_F, CTRL)
        finished.clear()

    def type_query() -> float:
        edit = library.search_bar.edit
        last = time.perf_counter()
        for ch in query:
            last = time.perf_counter()
            QTest.keyClicks(edit, ch)
            pump(60 * pace)
        return last

    record("search_type", measure("search_type", type_query, lambda: query in finished, prep=focus_search))

    def clear_query() -> float:
        edit = library.search_bar.edit
        QTest.keyClick(edit, K.Key_A, CTRL)
        t = time.perf_counter()
        QTest.keyClick(edit, K.Key_Backspace)
        return t

    def search_shown() -> None:
        if library.search_bar.edit.text() != query:
            focus_search()
            type_query()
            wait_until(lambda: query in finished, 30)
        library.search_bar.edit.setFocus()
        finished.clear()

    record("search_clear", measure("search_clear", clear_query, lambda: "" in finished and w.model.rowCount() == n_all,
                                   prep=search_shown))

    # ------------------------------------------------------------------ library tree
    tree = library.tree

    def click_tree(kind: str, value) -> float:
        item = tree.item_for(kind, value)
        tree.scrollToItem(item)
        rect = tree.visualItemRect(item)
        t = time.perf_counter()
        QTest.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, NOMOD, rect.center())
        return t

    folders = sorted(f["path"] for f in w.catalog.folders())
    record("folder_click", measure("folder_click", lambda: click_tree("folder", folders[0]),
                                   lambda: 0 < w.model.rowCount() < n_all, prep=grid_ready))
    record("folder_all", measure("folder_all", lambda: click_tree("all", None), lambda: w.model.rowCount() == n_all))

    # ------------------------------------------------------------------ compare (C)
    def two_selected() -> None:
        grid_ready(0)
        w.select_rows([0, 1], current=0)
        w.grid.setFocus()

    record("compare_enter", measure("compare_enter", lambda: key(K.Key_C), lambda: w.current_view() == "compare",
                                    prep=two_selected))
    record("compare_leave", measure("compare_leave", lambda: key(K.Key_C), lambda: w.current_view() == "grid",
                                    prep=lambda: w.current_view() == "compare" or (two_selected(), key(K.Key_C))))

    def dclick5() -> float:
        rect = w.grid.visualRect(w.model.index(5, 0))
        t = time.perf_counter()
        # what the window system sends: press, release, then the second press as a double-click, release
        QTest.mouseClick(w.grid.viewport(), Qt.MouseButton.LeftButton, NOMOD, rect.center())
        QTest.mouseDClick(w.grid.viewport(), Qt.MouseButton.LeftButton, NOMOD, rect.center())
        return t

    record("double_click", measure("double_click", dclick5, lambda: w.current_view() == "loupe",
                                   prep=lambda: grid_ready(0)))
    dev = w.features.develop.dock
    record("develop_on", measure("develop_on", lambda: key(K.Key_D), lambda: dev.isVisible() and not dev.visibleRegion().isEmpty(),
                                 prep=lambda: (grid_ready(1), dev.hide(), w.grid.setFocus())))
    record("develop_off", measure("develop_off", lambda: key(K.Key_D), lambda: not dev.isVisible(),
                                  prep=lambda: dev.isVisible() or (dev.show(), dev.raise_())))
    record("ranking_enter", measure("ranking_enter", lambda: key(K.Key_R), lambda: w.current_view() == "ranking",
                                    prep=lambda: grid_ready(0)))
    record("ranking_leave", measure("ranking_leave", lambda: key(K.Key_R), lambda: w.current_view() == "grid",
                                    prep=lambda: w.current_view() == "ranking" or (grid_ready(0), key(K.Key_R))))

    # ------------------------------------------------------------------ scrolling
    sb = w.grid.verticalScrollBar()

    def drag_scroll() -> None:
        steps = 300 if pace >= 1 else max(30, int(300 * pace))  # quick runs: fewer steps
        for k in range(steps + 1):
            sb.setValue(int(sb.maximum() * k / steps))  # what dragging the handle does
            pump(5 * pace)

    record("scroll_drag", measure("scroll_drag", drag_scroll, prep=grid_ready))

    def page_jumps() -> None:
        for _ in range(100 if pace >= 1 else max(10, int(100 * pace))):  # page by page back up, as clicks in the trough
            sb.triggerAction(QAbstractSlider.SliderAction.SliderPageStepSub)
            pump(10 * pace)

    record("scroll_pages", measure("scroll_pages", page_jumps, prep=lambda: (grid_ready(), sb.setValue(sb.maximum()))))

    def wheel_down() -> None:
        vp = w.grid.viewport()
        p = QPointF(vp.width() / 2, vp.height() / 2)
        for _ in range(60 if pace >= 1 else max(10, int(60 * pace))):
            ev = QWheelEvent(p, vp.mapToGlobal(p), QPoint(0, 0), QPoint(0, -120), Qt.MouseButton.NoButton, NOMOD,
                             Qt.ScrollPhase.NoScrollPhase, False)
            QApplication.sendEvent(vp, ev)
            pump(10 * pace)

    record("wheel", measure("wheel", wheel_down, prep=grid_ready))
    record("page_down_keys", measure("page_down_keys", lambda: keys(K.Key_PageDown, 10, 80),
                                     lambda: w.grid.currentIndex().row() > 0, prep=grid_ready))

    # ------------------------------------------------------------------ thumbnail size, window size
    cell0 = [0]

    def zoom_prep() -> None:
        grid_ready()
        cell0[0] = w.grid.cell_size()

    def zoom_keys() -> float:
        keys(K.Key_Equal, 3, 100, CTRL)
        pump(100 * pace)
        return keys(K.Key_Minus, 3, 100, CTRL)

    record("zoom_keys", measure("zoom_keys", zoom_keys, lambda: w.grid.cell_size() == cell0[0], prep=zoom_prep))

    def slider_drag() -> float:
        s = w.size_slider
        v0 = s.value()
        top = min(s.maximum(), v0 + 100)
        last = time.perf_counter()
        for k in list(range(1, 11)) + list(range(9, -1, -1)):
            last = time.perf_counter()
            s.setValue(v0 + (top - v0) * k // 10)  # what dragging the slider's handle does
            pump(16 * pace)
        return last

    record("zoom_slider", measure("zoom_slider", slider_drag, lambda: w.grid.cell_size() == cell0[0], prep=zoom_prep))

    def resize() -> float:
        w.resize(1000, 700)
        pump(300 * pace)
        t = time.perf_counter()
        w.resize(1280, 800)
        return t

    record("resize", measure("resize", resize, lambda: w.width() == 1280 and w.grid.viewport().width() > 0,
                             prep=grid_ready))

    # ------------------------------------------------------------------ the personal model (Ctrl+T)
    def train_prep() -> None:
        grid_ready()
        w.say("")

    record("personal_update", measure("personal_update", lambda: key(K.Key_T, CTRL),
                                      lambda: w.status_text().startswith("Personal model") and not personal.training_running(),
                                      prep=train_prep, timeout=600))
    quiet(last_key[0])
    out["between"] = between
    hb.stop()
    out["load_end"] = os.getloadavg()[0]
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            out["rss_peak_mb"] = round(int(line.split()[1]) / 1024.0)
    w.close()
    app.processEvents()
    return out


# ============================================================================ set-up and report
BURST_EVERY = 30  # one burst begins every 30 photos: 1-3 more frames, a second apart, that look alike


def add_bursts(db: Path, seed: int = 1) -> int:
    """Bursts, as a camera shoots them: after every ``BURST_EVERY``-th photo 1-3 more frames taken a second
    apart whose embeddings are the first frame's plus a little noise (the synthetic catalog has none:
    its photos are ~50 minutes apart). Through the catalog's own writers. Returns the frames added."""
    import datetime as dt

    import numpy as np

    from piaa_desktop.core.catalog import Catalog
    from piaa_desktop.core.embeddings import embedding_key

    rng = np.random.default_rng(seed)
    key = embedding_key()
    cat = Catalog.open(db)
    try:
        photos = {p.id: p for p in cat.photos()}
        ids = sorted(photos)
        heads = ids[::BURST_EVERY]
        frames = []
        for h in heads:
            k = int(rng.integers(1, 4))
            frames += [(h, h + j + 1, j + 1) for j in range(k) if h + j + 1 in photos]
        vec = cat.embeddings_of(key, heads)
        with cat.photo_writer() as w:
            for h, m, j in frames:
                t = dt.datetime.fromisoformat(photos[h].capture_time) + dt.timedelta(seconds=j)
                w.update_photo(m, {"capture_time": t.strftime("%Y-%m-%dT%H:%M:%S")})
        rows = []
        for h, m, _j in frames:
            v = np.asarray(vec[h], dtype=np.float32)
            rows.append((m, key, photos[m].content_hash, v + rng.normal(0, 0.01, v.shape).astype(np.float32) * float(v.std())))
        cat.set_embeddings(rows)
        return len(frames)
    finally:
        cat.close()


def build(root: Path, n: int, reuse: bool) -> dict:
    """``root/pristine``: the synthetic catalog (+ keywords, a personal model trained once); reused when
    ``reuse`` and it holds ``n`` photos."""
    from piaa_desktop.core.paths import app_paths

    pristine = root / "pristine"
    info_file = pristine / "build.json"
    if reuse and info_file.is_file():
        info = json.loads(info_file.read_text())
        if info.get("n") == n and info.get("burst_every") == BURST_EVERY and app_paths(pristine).catalog.is_file():
            return info
    from benchmarks.search_bench import add_keywords
    from piaa_desktop.lab.synthetic import make_synthetic_catalog

    if pristine.exists():
        shutil.rmtree(pristine)
    paths = app_paths(pristine).ensure()
    t = time.perf_counter()
    make_synthetic_catalog(paths.catalog, n=n)
    n_kw = add_keywords(paths.catalog)
    n_burst = add_bursts(paths.catalog)
    info = {"n": n, "photo_keywords": n_kw, "burst_every": BURST_EVERY, "burst_frames": n_burst,
            "catalog_s": round(time.perf_counter() - t, 1)}
    t = time.perf_counter()
    try:
        from piaa_desktop.core.catalog import Catalog
        from piaa_desktop.core.personal.operations import personalize

        cat = Catalog.open(paths.catalog)
        try:
            info["personal_model"] = personalize(cat).message
        finally:
            cat.close()
    except Exception as exc:  # noqa: BLE001 - no shipped prior: Ctrl+T then measures the error path
        info["personal_model"] = f"none ({type(exc).__name__}: {exc})"
    info["personalize_s"] = round(time.perf_counter() - t, 1)
    info_file.write_text(json.dumps(info))
    print(f"catalog of {n:,} photos built in {pristine}: {info}", file=sys.stderr)
    return info


def fresh_copy(root: Path) -> Path:
    """``root/run``: a copy of the pristine data dir (every run starts from the same catalog)."""
    run = root / "run"
    if run.exists():
        shutil.rmtree(run)
    shutil.copytree(root / "pristine", run, ignore=shutil.ignore_patterns("build.json"))
    _library_inside(run)
    return run


SYNTHETIC_ROOT = "/synthetic/library"  # where piaa_desktop.lab.synthetic puts its photos (no files there)


def _library_inside(run: Path) -> None:
    """Move the synthetic photos' folders into ``run/library`` (created, empty: still no image files), so the
    XMP sidecars the window writes for ratings, flags and labels (100,000 of them after a whole-library rating)
    land in this run's copy and go with it, not in ``/synthetic`` on the machine (or, where that folder does not
    exist, fail and measure the error path instead of the writes users have)."""
    import sqlite3

    from piaa_desktop.core.paths import app_paths

    lib = (run / "library").resolve()
    con = sqlite3.connect(app_paths(run).catalog)
    try:
        with con:
            for table in ("folders", "photos"):
                con.execute(f"UPDATE {table} SET path = ? || substr(path, ?) WHERE path LIKE ?",
                            (str(lib), len(SYNTHETIC_ROOT) + 1, SYNTHETIC_ROOT + "/%"))
        folders = [r[0] for r in con.execute("SELECT path FROM folders")]
    finally:
        con.close()
    for f in folders:
        Path(f).mkdir(parents=True, exist_ok=True)


def table(res: dict, base: dict | None = None, base_label: str = "") -> str:
    """The markdown table; ``base``: an earlier run's JSON (``--baseline``), its stall and CPU as a column."""
    def ms(v) -> str:
        return "" if v is None else f"{v:,.0f} ms"

    def was(a) -> str:
        return f"{ms(a['stall_ms'])} (CPU {ms(a['cpu_in_gap_ms'])})" if a else ""

    head = "| action | longest stall (wall) | GUI-thread CPU in that gap | run-queue wait in that gap | time to result |"
    if base is not None:
        head += f" before: stall (CPU), {base_label} |"
    lines = [head, "|---|---|---|---|---|" + ("---|" if base is not None else "")]
    acts = res["actions"]
    extra = (lambda row: f" {was(row)} |") if base is not None else (lambda row: "")
    for name, label in ACTIONS:
        a = acts.get(name)
        old = base["actions"].get(name) if base is not None else None
        if a is None:
            lines.append(f"| {label} | not measured: {'error' if name in res.get('errors', {}) else 'skipped'} | | | |"
                         + extra(old))
            continue
        stall = f"**{ms(a['stall_ms'])}** ⚠" if a["stall_ms"] > LIMIT_MS else ms(a["stall_ms"])
        result = "timed out" if a.get("timed_out") else (ms(a.get("result_ms")) if a.get("result_ms") is not None else "")
        lines.append(f"| {label} | {stall} | {ms(a['cpu_in_gap_ms'])} | {ms(a['runqueue_in_gap_ms'])} | {result} |"
                     + extra(old))
    b = res.get("between")
    if b:
        stall = f"**{ms(b['stall_ms'])}** ⚠" if b["stall_ms"] > LIMIT_MS else ms(b["stall_ms"])
        lines.append(f"| between actions: background work (longest, after `{b['after']}`) | {stall} | "
                     f"{ms(b.get('cpu_in_gap_ms'))} | {ms(b.get('runqueue_in_gap_ms'))} | |"
                     + extra(base.get("between") if base is not None else None))
    s = res.get("startup")
    if s:
        lines.append(f"| start-up jobs after the window opened ({s['settle_s']} s to settle) | {ms(s['stall_ms'])} | "
                     f"{ms(s['cpu_in_gap_ms'])} | {ms(s['runqueue_in_gap_ms'])} | |"
                     + extra(base.get("startup") if base is not None else None))
    lines.append(f"| window opened (MainWindow() + show) | {res['window_open_s'] * 1000:,.0f} ms | | | |"
                 + (f" {base['window_open_s'] * 1000:,.0f} ms |" if base is not None else ""))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dir", default="/tmp/piaa-actions", help="data dir (outside the repo): pristine/ and run/")
    ap.add_argument("--reuse", action="store_true", help="reuse the pristine catalog if it holds --n photos")
    ap.add_argument("--json", action="store_true", help="print only JSON on stdout")
    ap.add_argument("--no-write", action="store_true", help="do not write benchmarks/RESULTS.md")
    ap.add_argument("--only", default="", help="comma-separated action keys to measure (default: all)")
    ap.add_argument("--profile", default="", help="cProfile these actions (comma-separated; stats on stderr)")
    ap.add_argument("--pace", type=float, default=1.0,
                    help="scale of the pauses between keys and after actions (< 1: quick runs, fewer scroll steps)")
    ap.add_argument("--baseline", default=None, help="an earlier run's --json output: its stalls as a column")
    ap.add_argument("--baseline-label", default="earlier run", help="what the baseline is (commit, load)")
    ap.add_argument("--save-json", default=None, help="also write this run's JSON to this file")
    ap.add_argument("--note", default="", help="a paragraph added under the table (what changed, who fixes what)")
    ap.add_argument("--render", default=None, help="no run: write the section from a saved --json output")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    only = [s for s in args.only.split(",") if s]
    if args.child:
        res = child(args.child, only, args.profile, args.pace)
        print(json.dumps(res))
        return 0

    if args.render:
        res = json.loads(Path(args.render).read_text())
        return report(args, res, res["load_start"])
    root = Path(args.dir).resolve()
    if REPO in root.parents or root == REPO:
        raise SystemExit("--dir must be outside the repository")
    info = build(root, args.n, args.reuse)
    run = fresh_copy(root)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    load0 = os.getloadavg()[0]
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(run), "--pace", str(args.pace)]
    if only:
        cmd += ["--only", ",".join(only)]
    if args.profile:
        cmd += ["--profile", args.profile]
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=str(REPO), env=env)  # its progress: on stderr
    if r.returncode != 0:
        raise SystemExit(f"child failed (exit {r.returncode})")
    res = json.loads(r.stdout.strip().splitlines()[-1])
    res["build"] = info
    try:
        res["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                       cwd=str(REPO)).stdout.strip()
    except OSError:
        res["commit"] = ""
    niceness = os.nice(0)
    res["command"] = (f"nice -n {niceness} " if niceness else "") + "python benchmarks/gui_actions.py" + (
        f" --n {args.n}" if args.n != 100_000 else "") + (" --reuse" if args.reuse else "") + (
        f" --only {args.only}" if args.only else "")
    res["load_start"] = load0
    res["child_s"] = round(time.perf_counter() - t, 1)
    res["over_limit"] = sorted(k for k, v in res["actions"].items() if v["stall_ms"] > LIMIT_MS)
    return report(args, res, load0)


def report(args, res: dict, load0: float) -> int:
    """Prints the JSON (``--json``) or the section, writes the section of RESULTS.md (unless ``--no-write``)."""
    if args.save_json:
        Path(args.save_json).write_text(json.dumps(res, indent=1))
    base = json.loads(Path(args.baseline).read_text()) if args.baseline else None
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        print(json.dumps(res, indent=1), file=sys.stderr)
    for name, tb in res.get("errors", {}).items():
        print(f"action {name} failed:\n{tb}", file=sys.stderr)
    body = "\n".join([
        f"Machine: {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), Python "
        f"{platform.python_version()}; synthetic catalog of {res['n']:,} photos (keywords on 30 %, a personal "
        f"model trained once), no image files. The real `MainWindow` at 1280 x 800, offscreen; each action done "
        "as a user does it (keys to the focused widget, the menus' and combos' signals, clicks, wheel), after a quiet "
        "pump. Longest stall: the longest gap between two ticks of a 5 ms QTimer on the GUI thread, from the first "
        f"input until the result is on screen + 300 ms; ⚠ = over {LIMIT_MS:.0f} ms. Load average (1 min) at the "
        f"start {load0:.1f}, at the end {res['load_end']:.1f} (2 shared cores). Window opened in "
        f"{res['window_open_s']} s; peak RSS {res.get('rss_peak_mb', 0)} MB. Code: commit {res.get('commit', '?')}.",
        "",
        table(res, base, args.baseline_label),
        "",
        "Over 100 ms: " + (", ".join(f"`{k}`" for k in res["over_limit"]) or "no action") + "".join(
            f"; {what} {res[key]['stall_ms']:.0f} ms" for key, what in (
                ("between", f"the background gap after `{(res.get('between') or {}).get('after')}`"),
                ("startup", "the start-up jobs"))
            if (res.get(key) or {}).get("stall_ms", 0) > LIMIT_MS) + ".",
    ] + (["", args.note] if args.note else []))
    if not args.json:
        print(body)
    if not args.no_write:
        from benchmarks._results import write_section

        write_section(SECTION, res.get("command", "python benchmarks/gui_actions.py"), body)
    return 1 if res.get("errors") and not args.only else 0


if __name__ == "__main__":
    sys.exit(main())
