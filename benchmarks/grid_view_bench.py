"""Grid and filmstrip at 100,000 photos: the QListView-based views (an older commit's ``PhotoGridView`` and
``Filmstrip``, loaded from git) against the arithmetic-layout ones (``gui/cell_view.py``), run alternately,
each run in a fresh process (QT_QPA_PLATFORM=offscreen).

    python benchmarks/grid_view_bench.py [--n 100000] [--reps 3] [--old-rev 2ae9900] [--window DATA_DIR]
                                         [--actions DIR] [--json] [--no-write]

Synthetic part (a ``PhotoListModel`` over ``n`` in-memory records, no files; grid 1280 x 800, cell 150):

* ``reset_show``: ``set_ids`` of all photos then ``show()`` of the grid;
* ``resort_scroll``: the current photo at row n/2, then ``set_ids`` with a shuffled order, its new row made
  current and ``scrollTo`` right away (what ``MainWindow.refresh`` does after F5 / a new sort);
  ``landed``: the current photo's cell is in the viewport right after, and ``landed_later`` 1 s later;
* ``filmstrip_show``: the loupe's filmstrip (1280 x 100, sharing the grid's model and selection, current at
  row n/2) shown and ``scroll_to_current()``;
* ``scroll``: the grid scrolled top to bottom in 300 steps, one paint each.

Each action's GUI stall is the longest gap of a 2 ms QTimer heartbeat from the action until 1 s after it
(layout batches included); ``row_counts`` is the number of Python ``rowCount()`` calls meanwhile.

``--window DATA_DIR``: also the real ``MainWindow`` on that data dir (copied to a temp dir first: nothing
is written into it), old and new views patched in: entering the loupe with the current photo at row n/2,
back to the grid, a new sort and F5 (whether the current photo is on screen after them).

``--actions DIR``: also ``benchmarks/gui_actions.py --dir DIR --reuse --only ...`` (the real window on its
100,000-photo catalog, actions through the real input path) for the actions the views touch, run on a
checkout of the old commit and on this tree, alternately (``--reps`` each).

Writes its section of benchmarks/RESULTS.md (``## Grid and filmstrip views at 100,000 photos``).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

COMMON = textwrap.dedent(
    r"""
    import importlib.util, json, os, random, statistics, sys, time
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QItemSelectionModel, QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    variant, old_dir = sys.argv[1], sys.argv[2]
    import piaa_desktop.gui.grid as grid_mod
    import piaa_desktop.gui.loupe as loupe_mod

    def load(name, path):
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        return mod

    if variant == "old":
        GridView = load("_old_grid", os.path.join(old_dir, "grid.py")).PhotoGridView
        Strip = load("_old_loupe", os.path.join(old_dir, "loupe.py")).Filmstrip
    else:
        GridView, Strip = grid_mod.PhotoGridView, loupe_mod.Filmstrip
    CALLS = [0]
    _rc = grid_mod.PhotoListModel.rowCount

    def counting_row_count(self, *a):
        CALLS[0] += 1
        return _rc(self, *a)

    grid_mod.PhotoListModel.rowCount = counting_row_count
    MODEL_MS = []
    _set_ids = grid_mod.PhotoListModel.set_ids

    def timed_set_ids(self, ids):  # the model's share of an action (the same code in both variants)
        t = time.perf_counter()
        _set_ids(self, ids)
        MODEL_MS.append((time.perf_counter() - t) * 1000)

    grid_mod.PhotoListModel.set_ids = timed_set_ids

    def measure(action, settle_ms=1000):
        # longest heartbeat gap (ms) from the action until settle_ms after it; rowCount calls meanwhile
        clock = QElapsedTimer(); clock.start()
        beats = []
        hb = QTimer(); hb.setInterval(2); hb.timeout.connect(lambda: beats.append(clock.nsecsElapsed()))
        loop = QEventLoop()
        box = {}
        def run():
            CALLS[0] = 0
            MODEL_MS.clear()
            box["t0"] = clock.nsecsElapsed()
            box["ret"] = action()
            box["call_ms"] = (clock.nsecsElapsed() - box["t0"]) / 1e6
            QTimer.singleShot(settle_ms, loop.quit)
        hb.start()
        QTimer.singleShot(0, run)
        loop.exec()
        hb.stop()
        ts = [box["t0"]] + [b for b in beats if b > box["t0"]]
        gaps = [(b - a) / 1e6 for a, b in zip(ts, ts[1:])]
        res = {"stall_ms": round(max(gaps), 1), "call_ms": round(box["call_ms"], 1), "row_counts": CALLS[0]}
        if MODEL_MS:
            res["set_ids_ms"] = round(sum(MODEL_MS), 1)
        return res, box["ret"]

    def pump(ms):
        end = time.perf_counter() + ms / 1000
        while time.perf_counter() < end:
            app.processEvents(); time.sleep(0.001)
    """
)

SYNTH = COMMON + textwrap.dedent(
    r"""
    n = int(sys.argv[3])
    from piaa_desktop.core.library import PhotoRecord
    recs = {i: PhotoRecord(i, f"/nowhere/{i}.jpg", f"IMG_{i:06d}.jpg", "h", 1, i % 6, 0, None, 6000, 4000, None,
                           generic=(i % 50) / 10) for i in range(n)}
    model = grid_mod.PhotoListModel()
    model.set_records(recs)
    grid = GridView(cell=150)
    grid.resize(1280, 800)
    grid.setModel(model)
    out = {"variant": variant, "n": n}

    def reset_show():
        model.set_ids(range(n))
        grid.show()
    out["reset_show"], _ = measure(reset_show)
    sm = grid.selectionModel()
    sm.setCurrentIndex(model.index(n // 2, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect)
    pump(300)
    perm = list(range(n)); random.Random(1).shuffle(perm)

    def resort():
        cur = model.id_at(sm.currentIndex().row())
        model.set_ids(perm)
        idx = model.index(model.row_of(cur), 0)
        sm.setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        grid.scrollTo(idx)
        return idx, grid.viewport().rect().contains(grid.visualRect(idx))
    out["resort_scroll"], (idx, landed) = measure(resort)
    out["resort_scroll"]["landed"] = bool(landed)
    out["resort_scroll"]["landed_later"] = bool(grid.viewport().rect().contains(grid.visualRect(idx)))
    strip = Strip()
    strip.resize(1280, 100)
    strip.setModel(model)
    strip.setSelectionModel(sm)

    def film():
        strip.show()
        strip.scroll_to_current()
    out["filmstrip_show"], _ = measure(film)
    r = strip.visualRect(sm.currentIndex())
    out["filmstrip_show"]["centred"] = bool(abs(r.center().x() - strip.viewport().rect().center().x()) <= 2)
    strip.hide()
    bar = grid.verticalScrollBar()
    bar.setValue(0); pump(200)
    steps = []
    CALLS[0] = 0
    for k in range(301):
        t = time.perf_counter()
        bar.setValue(int(bar.maximum() * k / 300))
        app.processEvents()
        steps.append((time.perf_counter() - t) * 1000)
    out["scroll"] = {"stall_ms": round(max(steps), 1), "median_step_ms": round(statistics.median(steps), 2),
                     "row_counts": CALLS[0], "at_end": bar.value() == bar.maximum()}
    print(json.dumps(out))
    """
)

WINDOW = COMMON + textwrap.dedent(
    r"""
    data_dir = sys.argv[3]
    from piaa_desktop.core.paths import app_paths
    from piaa_desktop.core.settings import Settings
    import piaa_desktop.gui.main_window as mw
    mw.PhotoGridView = GridView
    loupe_mod.Filmstrip = Strip
    w = mw.MainWindow(app_paths(data_dir), settings=Settings())
    w.resize(1280, 800); w.show()
    pump(2500)
    n = w.model.rowCount()
    out = {"variant": variant, "n": n}

    def on_screen():
        idx = w.grid.currentIndex()
        return bool(idx.isValid() and w.grid.viewport().rect().contains(w.grid.visualRect(idx)))
    w.select_rows([n // 2], n // 2); pump(300)
    out["loupe_enter"], _ = measure(lambda: w.show_view("loupe"))
    out["grid_back"], _ = measure(lambda: w.show_view("grid"))
    keys = [k for k in w.sort_actions]
    cur_id = w.current_id()
    out["sort_" + keys[1]], _ = measure(lambda: w.set_sort(keys[1]))
    out["sort_" + keys[1]]["current_on_screen"] = on_screen() and w.current_id() == cur_id
    out["F5"], _ = measure(w.refresh_order)
    out["F5"]["current_on_screen"] = on_screen() and w.current_id() == cur_id
    print(json.dumps(out))
    w.close()
    """
)


def _old_sources(rev: str, dest: Path) -> None:
    for name in ("grid", "loupe"):
        src = subprocess.run(["git", "show", f"{rev}:piaa_desktop/gui/{name}.py"], cwd=str(REPO), check=True,
                             capture_output=True, text=True).stdout
        (dest / f"{name}.py").write_text(src, encoding="utf-8")


ACTIONS = ("click_photo,grid_arrows,loupe_enter,loupe_right,loupe_leave,loupe_enter_return,refresh_order,select_all,"
           "select_none,scroll_drag,scroll_pages,wheel,page_down_keys,zoom_keys,resize")


def _gui_actions(tree: Path, actions_dir: str) -> dict:
    """benchmarks/gui_actions.py (this tree's script) run against ``tree``'s code."""
    script = tree / "benchmarks" / "gui_actions.py"
    if tree != REPO:
        shutil.copy2(REPO / "benchmarks" / "gui_actions.py", script)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(tree))
    r = subprocess.run([sys.executable, str(script), "--dir", actions_dir, "--reuse", "--no-write", "--json",
                        "--only", ACTIONS], cwd=str(tree), env=env, capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise SystemExit(f"gui_actions failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout)


def _child(code: str, args: list[str]) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, "-c", code, *args], cwd=str(REPO), env=env, capture_output=True, text=True,
                       timeout=900)
    if r.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _summary(runs: list[dict]) -> dict:
    """Per variant and action: the median of each number over the runs (flags: all runs)."""
    out: dict = {}
    for variant in ("old", "new"):
        mine = [r for r in runs if r["variant"] == variant]
        if not mine:
            continue
        out[variant] = {}
        for action, first in mine[0].items():
            if not isinstance(first, dict):
                continue
            agg = {}
            for k, v in first.items():
                vals = [r[action][k] for r in mine]
                agg[k] = all(vals) if isinstance(v, bool) else round(statistics.median(vals), 1)
            out[variant][action] = agg
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--old-rev", default="2ae9900", help="commit whose QListView-based grid.py/loupe.py are 'old'")
    ap.add_argument("--window", help="data dir of a big catalog: also measure the real main window")
    ap.add_argument("--actions", help="a benchmarks/gui_actions.py --dir (with pristine/): also its actions, old vs new")
    ap.add_argument("--json", action="store_true", help="print only JSON")
    ap.add_argument("--no-write", action="store_true", help="do not write benchmarks/RESULTS.md")
    a = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="piaa-gridview-"))
    try:
        _old_sources(a.old_rev, tmp)
        window_dir = None
        if a.window:
            window_dir = tmp / "data"
            shutil.copytree(a.window, window_dir, ignore=shutil.ignore_patterns("cache"))
        old_tree = None
        if a.actions:
            old_tree = tmp / "old_tree"
            old_tree.mkdir()
            archive = subprocess.run(["git", "archive", a.old_rev], cwd=str(REPO), check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(old_tree)], input=archive, check=True)
        synth, window, actions = [], [], []
        for rep in range(a.reps):
            for variant in (("old", "new") if rep % 2 == 0 else ("new", "old")):
                synth.append(_child(SYNTH, [variant, str(tmp), str(a.n)]))
                if window_dir is not None:
                    window.append(_child(WINDOW, [variant, str(tmp), str(window_dir)]))
                if old_tree is not None:
                    got = _gui_actions(old_tree if variant == "old" else REPO, a.actions)
                    actions.append({"variant": variant, "n": got.get("n"),
                                    **{k: {"stall_ms": v["stall_ms"], "cpu_ms": v["cpu_in_gap_ms"]}
                                       for k, v in got["actions"].items()}})
                if not a.json:
                    print(f"rep {rep} {variant} done", file=sys.stderr)
        result = {"n": a.n, "reps": a.reps, "old_rev": a.old_rev, "synthetic": _summary(synth), "synthetic_runs": synth,
                  "load": os.getloadavg()[0], "cpu": platform.processor() or platform.machine()}
        if actions:
            result["actions"] = _summary(actions)
            result["actions_runs"] = actions
        if window:
            result["window"] = _summary(window)
            result["window_n"] = window[0]["n"]
            result["window_runs"] = window
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if a.json:
        print(json.dumps(result))
    else:
        print(json.dumps({k: v for k, v in result.items() if not k.endswith("_runs")}, indent=1))
    if not a.no_write:
        _write(result, a)
    return 0


def _write(res: dict, a) -> None:
    from benchmarks._results import write_section

    def table(summary: dict, actions: list[str], extra: list[str]) -> str:
        lines = ["| action | old stall ms | new stall ms | old / new set_ids ms (model, same code) | "
                 "old rowCount calls | new rowCount calls | "
                 + " | ".join(f"old {e} | new {e}" for e in extra) + " |",
                 "|---|---:|---:|---:|---:|---:|" + "---|---|" * len(extra)]
        for act in actions:
            o, nw = summary["old"].get(act, {}), summary["new"].get(act, {})
            model = f"{o['set_ids_ms']} / {nw['set_ids_ms']}" if "set_ids_ms" in o and "set_ids_ms" in nw else ""
            cells = [act, o.get("stall_ms", ""), nw.get("stall_ms", ""), model, o.get("row_counts", ""),
                     nw.get("row_counts", "")]
            for e in extra:
                cells += [o.get(e, ""), nw.get(e, "")]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
        return "\n".join(lines)

    s = res["synthetic"]
    body = (f"{res['n']:,} photos, median of {res['reps']} runs each, old (QListView, commit {res['old_rev']}) and "
            f"new (gui/cell_view.py) alternating, each run a fresh process; load average {res['load']:.2f} "
            f"({res['cpu']}, 2 cores shared). Stall = longest gap of a 2 ms heartbeat from the action to 1 s "
            "after it.\n\nSynthetic model, grid 1280 x 800 (cell 150), filmstrip 1280 x 100:\n\n"
            + table(s, ["reset_show", "resort_scroll", "filmstrip_show", "scroll"], ["landed", "landed_later"])
            + f"\n\nscroll: 300 steps top to bottom, stall = slowest step; median step old "
              f"{s['old']['scroll']['median_step_ms']} ms, new {s['new']['scroll']['median_step_ms']} ms. "
              "landed: the current photo (row n/2 before a shuffled re-sort) is on screen right after "
              "`scrollTo`; landed_later: 1 s later.\n")
    if "window" in res:
        wv = res["window"]
        acts = [k for k in wv["new"]]
        body += (f"\nReal MainWindow (1280 x 800) on a copy of the lead's {res['window_n']:,}-photo catalog, current photo "
                 "at row n/2:\n\n" + table(wv, acts, ["current_on_screen"]) + "\n")
    if "actions" in res:
        av = res["actions"]
        body += ("\n`benchmarks/gui_actions.py` (the real window on its 100,000-photo synthetic catalog, input through "
                 f"the real path; its heartbeat stall and the GUI thread's CPU in it), old commit {res['old_rev']} "
                 "vs this tree, alternating, medians:\n\n| action | old stall ms | new stall ms | old CPU ms | new CPU ms |\n"
                 "|---|---:|---:|---:|---:|\n")
        for act in av["new"]:
            o, nw = av["old"].get(act, {}), av["new"][act]
            body += f"| {act} | {o.get('stall_ms', '')} | {nw['stall_ms']} | {o.get('cpu_ms', '')} | {nw['cpu_ms']} |\n"
    cmd = "python benchmarks/grid_view_bench.py" + (f" --n {a.n}" if a.n != 100_000 else "") + (
        f" --reps {a.reps}" if a.reps != 3 else "") + (" --window /work/cache/s5/search" if a.window else "") + (f" --actions {a.actions}" if a.actions else "")
    write_section("Grid and filmstrip views at 100,000 photos", cmd, body)


if __name__ == "__main__":
    raise SystemExit(main())
