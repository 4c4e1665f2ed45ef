"""Ranking mode after each answer: what a re-fit costs at N answers, and what the GUI thread does.

    python benchmarks/ranking_check.py [--photos 2000] [--answers 10,30,100,200,400] [--repeats 5]
                                       [--scale-photos 100000] [--dir /tmp/piaa-ranking-check] [--json] [--no-write]

On a synthetic catalog (``lab.synthetic.make_synthetic_catalog``: embeddings of the current backbone, no image
files) with N pairwise answers of a consistent synthetic taste (a random direction of the feature rows; no ratings),
with the shipped prior:

* ``fit_ms``: one fit of the personal head (``operations.fit_head``, the app's default method) from N answers:
  what a re-fit per answer costs;
* ``check_new_ms``: the ranking view's running check after ONE more answer (``operations.running_check`` with
  the previous result's margins: reads the compared photos' feature rows, one fit); ``check_cold_ms``: the
  same with nothing known (the view's first check: the last 30 answers, one fit each);
* ``personalize_ms``: the stored personal model's whole re-train (fit, 5-fold cross-validation, store,
  re-score every photo): the job the window debounces after answers;
* ``next_pairs_ms``: choosing the next batch of 6 pairs (``operations.next_pairs``), which the view asks a
  worker for while 2 pairs are still queued;
* ``gui``: a real RankingView (offscreen) answering 20 pairs at a photographer's pace (each check lands
  before the next answer) with the checks on a worker: the longest event-loop stall (5 ms heartbeat) and the
  time from an answer to its check on screen.

Medians of ``--repeats``. Writes its section of benchmarks/RESULTS.md unless ``--no-write``; ``--json`` prints
only the JSON on stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import write_section  # noqa: E402


def _med(fn, n):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return round(1000 * statistics.median(ts), 1)


def _answers(cat, ids, n, rng, taste):
    """``n`` answers of a consistent taste (a fixed direction of the embedding) between random photos."""
    cat.conn.execute("DELETE FROM preferences")
    cat.conn.commit()
    for _ in range(n):
        a, b = (int(x) for x in rng.choice(ids, 2, replace=False))
        w, l = (a, b) if taste[a] >= taste[b] else (b, a)
        cat.add_preference(w, l, source="ranking")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=2000)
    ap.add_argument("--answers", default="10,30,100,200,400")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--dir", default="/tmp/piaa-ranking-check")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--no-gui", action="store_true")
    ap.add_argument("--scale-photos", type=int, default=0,
                    help="also time the GUI-thread and worker reads on a synthetic catalog this large (e.g. 100000)")
    args = ap.parse_args(argv)
    log = sys.stderr if args.json else sys.stdout

    import numpy as np

    from piaa_desktop.core.catalog import Catalog
    from piaa_desktop.core.personal import operations as ops
    from piaa_desktop.core.personal.heads import load_prior
    from piaa_desktop.lab.synthetic import make_synthetic_catalog

    d = Path(args.dir)
    d.mkdir(parents=True, exist_ok=True)
    db = d / "catalog.sqlite3"
    make_synthetic_catalog(db, n=args.photos)
    prior = load_prior()
    cat = Catalog.open(db)
    cat.conn.execute("UPDATE photos SET rating=0")  # the synthetic ratings are another taste: pairs only
    cat.conn.commit()
    lib = ops._library(cat, prior)  # computes and stores every feature row once (as an import does)
    ids = lib.ids
    rng = np.random.default_rng(0)
    u = rng.standard_normal(prior.dim)
    taste = dict(zip(ids.tolist(), (lib.feats @ u).tolist()))
    rows = []
    for n in [int(x) for x in args.answers.split(",")]:
        _answers(cat, ids, n, rng, taste)
        r_rows, stars, w_rows, l_rows = ops._feedback(cat, lib)
        fw, fl = lib.feats[w_rows], lib.feats[l_rows]
        row = {"answers": n}
        row["fit_ms"] = _med(lambda: ops.fit_head(prior, lib.feats[r_rows], stars, fw, fl), args.repeats)
        prefs = cat.preferences()
        cat.conn.execute("DELETE FROM preferences WHERE id=(SELECT MAX(id) FROM preferences)")
        cat.conn.commit()
        before = ops.running_check(cat, prior=prior)  # everything but the last answer is known
        cat.add_preference(*prefs[-1], source="ranking")
        row["check_new_ms"] = _med(lambda: ops.running_check(cat, before.margins, prior=prior), args.repeats)
        row["check_cold_ms"] = _med(lambda: ops.running_check(cat, prior=prior), max(1, args.repeats // 2))
        row["check_fits_cold"] = ops.running_check(cat, prior=prior).fits
        row["running_agreement"] = ops.running_check(cat, prior=prior).check["cv_pair_agreement"]
        row["personalize_ms"] = _med(lambda: ops.personalize(cat, prior=prior), max(1, args.repeats // 2))
        row["next_pairs_ms"] = _med(lambda: ops.next_pairs(cat, 6, prior=prior), args.repeats)
        rows.append(row)
        print(json.dumps(row), file=log)
    blas = _blas_ab(prior, ops, lib.feats[r_rows], stars, fw, fl, args.repeats, log)
    cat.close()

    gui = None
    if not args.no_gui:
        gui = _gui(db, log)
    scale = _scale(Path(args.dir) / "scale.sqlite3", args.scale_photos, log) if args.scale_photos else None
    out = {"photos": args.photos, "blas_ab": blas, "scale": scale, "method": __import__("piaa_desktop.core.personal.adapt", fromlist=["x"]).default_method(prior),
           "rows": rows, "gui": gui, "load": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()}
    if args.json:
        print(json.dumps(out))
    if not args.no_write:
        _write(out, " ".join(["python benchmarks/ranking_check.py"] + (argv if argv is not None else sys.argv[1:])))
    return 0


def _blas_ab(prior, ops, fr, stars, fw, fl, repeats, log) -> dict:
    """The last row's fit with numpy's BLAS on one thread (core.blas, as the app runs it) against the
    library's default thread count, alternating A B A B so both see the same load."""
    from contextlib import nullcontext

    from piaa_desktop.core import blas
    from piaa_desktop.core.personal import adapt

    one, default, load = [], [], []
    for _ in range(max(3, repeats)):
        for ctx, acc in ((blas.one_blas_thread, one), (nullcontext, default)):
            with ctx():
                load.append(os.getloadavg()[0])
                t = time.perf_counter()
                adapt.personal_head(prior, fr, stars, fw, fl)  # without fit_head's own one-thread block
                acc.append(1000 * (time.perf_counter() - t))
    out = {"answers": len(fw), "one_thread_ms": round(statistics.median(one), 1),
           "default_threads_ms": round(statistics.median(default), 1),
           "load": [round(min(load), 2), round(max(load), 2)]}
    print(json.dumps(out), file=log)
    return out


def _scale(db: Path, n: int, log) -> dict:
    """At ``n`` photos with 100 answers: the ranking view's counter (GUI thread), the answers read the old way
    (a JOIN) and the new (EXISTS), the next pairs and a check after one answer (workers)."""
    import numpy as np

    from piaa_desktop.core.catalog import Catalog
    from piaa_desktop.core.personal import operations as ops
    from piaa_desktop.core.personal.heads import load_prior
    from piaa_desktop.lab.synthetic import make_synthetic_catalog

    make_synthetic_catalog(db, n=n)
    prior = load_prior()
    cat = Catalog.open(db)
    n_rated = cat.conn.execute("SELECT COUNT(*) FROM photos WHERE rating>0").fetchone()[0]
    ids = [r[0] for r in cat.conn.execute("SELECT id FROM photos LIMIT 400")]
    rng = np.random.default_rng(0)
    for _ in range(100):
        a, b = rng.choice(ids, 2, replace=False)
        cat.add_preference(int(a), int(b), source="ranking")
    join = ("SELECT winner_id, loser_id FROM preferences pr JOIN photos a ON a.id=pr.winner_id "
            "JOIN photos b ON b.id=pr.loser_id WHERE a.missing=0 AND b.missing=0 ORDER BY pr.id")
    out = {"photos": n, "rated": int(n_rated), "answers": 100,
           "preferences_join_ms": _med(lambda: cat.conn.execute(join).fetchall(), 5),
           "preferences_ms": _med(cat.preferences, 5), "preference_count_ms": _med(cat.preference_count, 5)}
    ops.next_pairs(cat, 6, prior=prior)  # the first pool's feature rows are computed and stored once
    out["next_pairs_ms"] = _med(lambda: ops.next_pairs(cat, 6, prior=prior), 3)
    before = ops.running_check(cat, prior=prior, window=5)
    cat.add_preference(ids[5], ids[7], source="ranking")
    out["check_new_ms"] = _med(lambda: ops.running_check(cat, before.margins, prior=prior, window=5), 3)
    cat.close()
    print(json.dumps(out), file=log)
    return out


def _gui(db: Path, log) -> dict:
    """A RankingView on the catalog (its answers so far kept), 20 answers, checks on a worker."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QElapsedTimer, Qt, QTimer
    from PySide6.QtGui import QColor, QImage
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from piaa_desktop.core.catalog import Catalog
    from piaa_desktop.gui.jobs import JobsManager
    from piaa_desktop.gui.ranking_view import RankingView

    app = QApplication.instance() or QApplication([])
    cat = Catalog.open(db)
    img = QImage(320, 240, QImage.Format.Format_RGB32)
    img.fill(QColor(90, 90, 90))
    jobs = JobsManager(str(db))
    view = RankingView(cat, lambda pid: img, jobs=jobs)
    view.resize(900, 600)
    view.show()
    stall = [0.0]
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    def beat():
        now = clock.elapsed()
        stall[0] = max(stall[0], now - last[0])
        last[0] = now

    hb = QTimer()
    hb.setInterval(5)
    hb.timeout.connect(beat)

    def spin(cond, timeout=60.0):
        end = time.monotonic() + timeout
        while not cond() and time.monotonic() < end:
            app.processEvents()
            time.sleep(0.002)

    spin(lambda: view.check is not None and view.current is not None)
    last[0] = clock.elapsed()
    hb.start()
    lat, sync = [], []
    for _ in range(20):
        spin(lambda: view.current is not None, 10.0)  # the pairs are chosen on a worker
        if view.current is None:
            break
        n = view.answered_total() + 1
        t = time.perf_counter()
        QTest.keyClick(view, Qt.Key.Key_Left)
        sync.append(1000 * (time.perf_counter() - t))
        spin(lambda: view.check is not None and view.check.n_answers == n)
        lat.append(1000 * (time.perf_counter() - t))
        last[0] = clock.elapsed()  # the pause between answers is not a stall
        spin(lambda: False, 0.05)
    hb.stop()
    view.close()
    jobs.shutdown(10)
    cat.close()
    out = {"answers": len(lat), "answer_on_gui_ms_median": round(statistics.median(sync), 1),
           "answer_on_gui_ms_max": round(max(sync), 1), "check_on_screen_ms_median": round(statistics.median(lat), 1),
           "check_on_screen_ms_max": round(max(lat), 1), "longest_stall_ms": round(stall[0], 1),
           "checks_started": view.checks_started}
    print(json.dumps(out), file=log)
    return out


def _write(out: dict, command: str) -> None:
    lines = [f"Synthetic catalog of {out['photos']:,} photos (current backbone's embeddings), shipped prior; "
             f"answers of a consistent synthetic taste; {out['cpus']} CPU cores, load {out['load']} at the end. "
             "Medians; a fit is the app's default method.", "",
             "| answers | one fit | check after 1 new answer | first check (30 fits) | running agreement (last 30) "
             "| personalize (fit + CV + re-score) | next 6 pairs (worker) |",
             "|---|---|---|---|---|---|---|"]
    for r in out["rows"]:
        lines.append(f"| {r['answers']} | {r['fit_ms']} ms | {r['check_new_ms']} ms | {r['check_cold_ms']} ms "
                     f"({r['check_fits_cold']} fits) | {r['running_agreement']} | {r['personalize_ms']} ms "
                     f"| {r['next_pairs_ms']} ms |")
    b = out.get("blas_ab")
    if b:
        lines += ["", f"One fit from {b['answers']} answers, numpy's BLAS on one thread (core/blas.py, as the app runs "
                  f"it) against the default thread count, alternating: {b['one_thread_ms']} ms against "
                  f"{b['default_threads_ms']} ms (load {b['load'][0]}-{b['load'][1]}). On 2 cores at load 7.8 (other "
                  "developers' tests), an ad-hoc run of the same fit from 120 answers and 321 ratings took "
                  "0.11-0.17 s on one thread and 1.8-2.7 s with the default threads."]
    c = out.get("scale")
    if c:
        lines += ["", f"At {c['photos']:,} photos ({c['rated']:,} of them rated: synthetic stars) with {c['answers']} "
                  f"answers: the view's counter (preference_count, GUI thread) {c['preference_count_ms']} ms; the "
                  f"answers read as a JOIN (before) {c['preferences_join_ms']} ms, as EXISTS (now) "
                  f"{c['preferences_ms']} ms; next 6 pairs (worker) {c['next_pairs_ms']} ms; the check after one "
                  f"answer (worker; one fit from every rating and the answers before it) {c['check_new_ms']} ms."]
    g = out.get("gui")
    if g:
        lines += ["", f"RankingView (offscreen), {g['answers']} answers on top of the last row's, checks on a worker: "
                  f"an answer on the GUI thread (store, next pair, count) {g['answer_on_gui_ms_median']} ms median / "
                  f"{g['answer_on_gui_ms_max']} ms max; the answer's check on screen after "
                  f"{g['check_on_screen_ms_median']} ms median / {g['check_on_screen_ms_max']} ms max; longest "
                  f"event-loop stall {g['longest_stall_ms']} ms (5 ms heartbeat; the pairs and the checks are chosen "
                  f"on workers); {g['checks_started']} checks started."]
    write_section("Ranking: a check after every answer (issue 10 item 4)", command, "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
