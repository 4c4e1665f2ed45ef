"""Search benchmark: the real main window over a 100,000-photo synthetic catalog, searches typed into
the search bar key by key, GUI stalls measured.

    python benchmarks/search_bench.py [--n 100000] [--dir /tmp/piaa-search] [--reuse] [--json] [--no-write]

The catalog comes from :func:`piaa_desktop.lab.synthetic.make_synthetic_catalog` (no image files)
plus hierarchical keywords on 30 % of the photos (``Places|<country>|<city>``, ``Subjects|<subject>``)
and two collections. Measured, in a fresh process with QT_QPA_PLATFORM=offscreen:

* core: ``Catalog.search_ids`` for several queries (what the worker thread runs);
* GUI: ``MainWindow`` opened on the catalog; each query typed with ``QTest.keyClicks`` one key every
  60 ms (a fast typist), then waiting for the result; the longest gap of a 5 ms QTimer heartbeat while
  typing and until the grid shows the result is the stall. The window debounces typing and runs the
  query on a worker thread; the GUI thread only filters the records it holds and resets the model.

Writes its section of benchmarks/RESULTS.md (``## Search: 100,000-photo synthetic catalog``).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

QUERIES = ("kw:Paris", "kw:Places rating:>=3", "camera:canon date:2019", "sunset -flag:reject score:>=3.2",
           "name:000123")

CHILD = textwrap.dedent(
    r"""
    import json, os, sys, time
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    data_dir = sys.argv[1]
    queries = json.loads(sys.argv[2])
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from piaa_desktop.core.catalog import Catalog
    from piaa_desktop.core.paths import app_paths
    from piaa_desktop.core.settings import Settings
    out = {"core_ms": {}, "gui": {}}
    paths = app_paths(data_dir)
    cat = Catalog.open(paths.catalog)
    out["n"] = cat.count_photos()
    for q in queries:
        cat.search_ids(q)  # warm
        t = time.perf_counter(); ids = cat.search_ids(q); dt = time.perf_counter() - t
        out["core_ms"][q] = {"ms": round(dt * 1000, 1), "found": len(ids)}
    cat.close()
    from piaa_desktop.gui.main_window import MainWindow
    settings = Settings()
    t = time.perf_counter()
    w = MainWindow(paths, settings=settings)
    w.resize(1280, 800); w.show()
    app.processEvents()
    out["window_open_s"] = round(time.perf_counter() - t, 2)
    gaps = {"max": 0.0, "last": None, "cpu_max": 0.0, "cpu_last": None, "cpu_at_max": 0.0, "rq_last": 0.0, "rq_at_max": 0.0}
    clock = QElapsedTimer(); clock.start()
    def runqueue_ms():
        # Linux: time this thread spent runnable but waiting for a core (schedstat's 2nd field, ns)
        try:
            with open("/proc/thread-self/schedstat") as fh:
                return int(fh.read().split()[1]) / 1e6
        except (OSError, ValueError, IndexError):
            return 0.0
    def beat():
        now = clock.nsecsElapsed() / 1e6
        cpu = time.thread_time() * 1000.0  # the GUI thread's own CPU time: blind to other processes
        rq = runqueue_ms()
        if gaps["last"] is not None:
            if now - gaps["last"] > gaps["max"]:
                gaps["max"], gaps["cpu_at_max"] = now - gaps["last"], cpu - gaps["cpu_last"]
                gaps["rq_at_max"] = rq - gaps["rq_last"]
            gaps["cpu_max"] = max(gaps["cpu_max"], cpu - gaps["cpu_last"])
        gaps["last"], gaps["cpu_last"], gaps["rq_last"] = now, cpu, rq
    def reset_gaps():
        gaps["max"], gaps["last"], gaps["cpu_at_max"], gaps["rq_at_max"] = 0.0, clock.nsecsElapsed() / 1e6, 0.0, 0.0
        gaps["cpu_max"], gaps["cpu_last"], gaps["rq_last"] = 0.0, time.thread_time() * 1000.0, runqueue_ms()
    hb = QTimer(); hb.setInterval(5); hb.timeout.connect(beat); hb.start()
    def pump(ms):
        end = time.perf_counter() + ms / 1000
        while time.perf_counter() < end:
            app.processEvents(); time.sleep(0.001)
    pump(1500)  # start-up jobs settle
    edit = w.features.library.search_bar.edit
    done = {}
    w.features.library.searchFinished.connect(lambda text, n: done.__setitem__(text, n))
    out["clear"] = []
    for q in queries:
        # clearing the search shows all photos again (its own row; measured until the grid has laid out
        # every row, so none of its work falls into the next query's measurement)
        done.clear()
        reset_gaps()
        edit.clear()
        t = time.perf_counter()
        while "" not in done and time.perf_counter() - t < 30:
            app.processEvents(); time.sleep(0.001)
        pump(2500)
        if gaps["max"] > 0:
            out["clear"].append({"max_stall_ms": round(gaps["max"], 1), "busy_in_that_gap_ms": round(gaps["cpu_at_max"], 1),
                                 "runqueue_in_that_gap_ms": round(gaps["rq_at_max"], 1),
                                 "max_busy_ms": round(gaps["cpu_max"], 1)})
        done.clear()
        reset_gaps()
        t = time.perf_counter()
        for ch in q:
            QTest.keyClicks(edit, ch)
            pump(60)
        t_typed = time.perf_counter()
        while q not in done and time.perf_counter() - t < 30:
            app.processEvents(); time.sleep(0.001)
        t_shown = time.perf_counter()
        pump(100)
        out["gui"][q] = {"max_stall_ms": round(gaps["max"], 1), "max_busy_ms": round(gaps["cpu_max"], 1),
                         "busy_in_that_gap_ms": round(gaps["cpu_at_max"], 1), "runqueue_in_that_gap_ms": round(gaps["rq_at_max"], 1),
                         "typed_to_shown_ms": round((t_shown - t_typed) * 1000),
                         "shown": w.model.rowCount(), "found": done.get(q)}
    hb.stop()
    out["load_end"] = os.getloadavg()[0]
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            out["rss_peak_mb"] = int(line.split()[1]) / 1024.0
    w.close()
    print(json.dumps(out))
    """
)


def add_keywords(db: Path, seed: int = 0) -> int:
    """Keywords on 30 % of the photos (1-3 each) and a smart collection, through the catalog's methods."""
    import numpy as np

    from piaa_desktop.core.catalog import Catalog

    rng = np.random.default_rng(seed)
    cities = {"France": ["Paris", "Lyon", "Nice"], "Italy": ["Rome", "Venice"], "Japan": ["Tokyo", "Kyoto"],
              "USA": ["New York", "San Francisco"]}
    subjects = ["sunset", "portrait", "street", "mountains", "beach", "food", "architecture", "wildlife"]
    paths = [f"Places|{c}|{city}" for c, cs in cities.items() for city in cs] + [f"Subjects|{s}" for s in subjects]
    cat = Catalog.open(db)
    try:
        ids = cat.query_ids(sort="added")
        chosen = rng.choice(ids, size=int(0.3 * len(ids)), replace=False).tolist()
        by_keyword: dict[str, list[int]] = {p: [] for p in paths}
        n = 0
        for pid in chosen:
            for p in rng.choice(paths, size=int(rng.integers(1, 4)), replace=False).tolist():
                by_keyword[p].append(int(pid))
                n += 1
        for p, pids in by_keyword.items():
            cat.add_keywords(pids, [p])
        if cat.collection_by_name("Paris 3+") is None:
            cat.create_collection("Paris 3+", "kw:Paris rating:>=3")
        return n
    finally:
        cat.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=64, help="embedding size (search does not read embeddings)")
    ap.add_argument("--dir", default="/tmp/piaa-search")
    ap.add_argument("--reuse", action="store_true", help="reuse the catalog if it exists")
    ap.add_argument("--json", action="store_true", help="print only JSON on stdout")
    ap.add_argument("--no-write", action="store_true", help="do not write benchmarks/RESULTS.md")
    args = ap.parse_args(argv)

    from piaa_desktop.core.paths import app_paths
    from piaa_desktop.lab.synthetic import make_synthetic_catalog

    paths = app_paths(args.dir).ensure()
    db = paths.catalog
    if not (args.reuse and db.exists()):
        t = time.perf_counter()
        make_synthetic_catalog(db, n=args.n, dim=args.dim)
        n_kw = add_keywords(db)
        print(f"catalog {db} built in {time.perf_counter() - t:.1f} s ({n_kw:,} photo keywords)", file=sys.stderr)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    load0 = os.getloadavg()[0]
    r = subprocess.run([sys.executable, "-c", CHILD, str(paths.data_dir), json.dumps(QUERIES)],
                       capture_output=True, text=True, cwd=str(REPO), env=env)
    if r.returncode != 0:
        raise SystemExit(f"child failed:\n{r.stderr[-4000:]}")
    res = json.loads(r.stdout.strip().splitlines()[-1])
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print(json.dumps(res, indent=2), file=sys.stderr)
    rows = list(res["gui"].values()) + res["clear"]
    worst_row = max(rows, key=lambda v: v["max_stall_ms"])
    worst, worst_in_gap = worst_row["max_stall_ms"], worst_row["busy_in_that_gap_ms"]
    worst_rq = worst_row["runqueue_in_that_gap_ms"]
    worst_busy = max(v["max_busy_ms"] for v in rows)
    lines = [
        f"Machine: {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), Python "
        f"{platform.python_version()}; synthetic catalog of {res['n']:,} photos, keywords on 30 % of them. "
        "Each query typed into the real window's search bar one key every 60 ms.",
        "",
        "| query | catalog.search_ids (worker) | photos found | longest GUI-thread work between two ticks (CPU) | longest tick gap (wall) | in that gap: GUI-thread CPU / waiting for a core | last key to grid shown |",
        "|---|---|---|---|---|---|---|",
    ]
    for q in QUERIES:
        c, g = res["core_ms"][q], res["gui"][q]
        lines.append(f"| `{q}` | {c['ms']:.0f} ms | {c['found']:,} | {g['max_busy_ms']:.0f} ms | {g['max_stall_ms']:.0f} ms | "
                     f"{g['busy_in_that_gap_ms']:.0f} / {g['runqueue_in_that_gap_ms']:.0f} ms | {g['typed_to_shown_ms']} ms |")
    if res["clear"]:
        cw = max(res["clear"], key=lambda v: v["max_stall_ms"])
        lines.append(f"| search cleared: all {res['n']:,} photos again (worst of {len(res['clear'])}) | | {res['n']:,} | "
                     f"{max(v['max_busy_ms'] for v in res['clear']):.0f} ms | {cw['max_stall_ms']:.0f} ms | "
                     f"{cw['busy_in_that_gap_ms']:.0f} / {cw['runqueue_in_that_gap_ms']:.0f} ms | |")
    lines += [
        "",
        f"Longest GUI-thread work between two 5 ms ticks over all queries and clears: **{worst_busy:.0f} ms** of CPU; "
        f"longest wall-clock tick gap {worst:.0f} ms, in which the GUI thread itself ran {worst_in_gap:.0f} ms and waited "
        f"{worst_rq:.0f} ms for a core (run queue, /proc/thread-self/schedstat: both cores busy with other processes or "
        f"this one's worker threads; the rest, "
        f"{max(0.0, worst - worst_in_gap - worst_rq):.0f} ms, is the 5 ms tick and waiting for the GIL or I/O); "
        f"window opened in {res['window_open_s']} s; "
        f"peak RSS {res.get('rss_peak_mb', 0):.0f} MB. Typing is debounced (250 ms), the query runs on a worker "
        "thread with its own connection, the GUI thread filters the records in memory and resets the model.",
    ]
    try:
        lines[-1] += (f" Load average (1 min) at the start {load0:.1f}, at the end of the GUI run {res['load_end']:.1f}"
                      " (2 shared cores: upper bounds).")
    except OSError:
        pass
    body = "\n".join(lines)
    if not args.json:
        print(body)
    if not args.no_write:
        from benchmarks._results import write_section

        niceness = os.nice(0)
        cmd = (f"nice -n {niceness} " if niceness else "") + "python benchmarks/search_bench.py" + (
            f" --n {args.n}" if args.n != 100_000 else "")
        write_section("Search: 100,000-photo synthetic catalog", cmd, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
