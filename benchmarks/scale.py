"""Scale benchmark: a synthetic catalog of 100,000 photos (rows, signals, float16 embeddings, generic
scores; no image files) opened, queried, sorted, re-scored, and shown in the GUI's grid.

    python benchmarks/scale.py [--n 100000] [--dim D] [--dir /tmp/piaa-scale] [--no-gui] [--no-write]
                               [--baseline CHECKOUT] [--repeats 3] [--rescore-only]

Each measurement runs in a fresh child process, so its peak RSS is what the app would use:

* rescore: what the app does when the personal model changes (core.personal.operations.rescore), in a fresh
  process: read what it needs from the catalog (``_library``), compute the personal scores + 5-bin
  distributions and write them (``_write_scores``), and the whole call; ``--repeats`` fresh processes, the
  median. With ``--baseline CHECKOUT`` (another checkout of this repository, e.g. ``git worktree add
  /tmp/piaa-base <commit>``) the same child runs on that code and a catalog it built, alternating with this
  code run by run (A B A B ...), so both see the same machine load. Before the timed runs a set-up process
  adapts a personal model to the catalog's ratings (``personalize``, once: its first read computes and
  stores what the re-score reads);

* core: open (Catalog.open + start-up recovery with quick_check + the default query), the full
  ``PRAGMA integrity_check``, ``query_ids`` for every sort, loading every embedding, re-scoring 100k
  photos (a linear head over the embedding matrix and the signals, as the personal scorer does: one
  matrix-vector product, the 5-bin distributions, and writing the scores), peak RSS;
* gui (QT_QPA_PLATFORM=offscreen): building the grid's records and list model over 100k ids, scrolling
  the view from top to bottom, switching sorts, re-scoring and refreshing; the longest event-loop stall
  is measured with a 5 ms QTimer heartbeat; peak RSS.

Writes its section of benchmarks/RESULTS.md (``## Scale: 100,000-photo synthetic catalog``).
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

CORE = textwrap.dedent(
    r"""
    import json, resource, sys, time
    import numpy as np
    db = sys.argv[1]
    out = {}
    def rss_mb():
        try:
            for line in open("/proc/self/status"):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    out["rss_start_mb"] = rss_mb()
    t0 = time.perf_counter()
    from piaa_desktop.core.catalog import Catalog
    from piaa_desktop.core.library import SORTS
    from piaa_desktop.core.paths import app_paths
    from piaa_desktop.core.recovery import recover
    import os
    paths = app_paths(os.path.dirname(db))
    cat = Catalog.open(db)
    t1 = time.perf_counter()
    rep = recover(cat, paths, check_models=False, integrity="skip")  # the previous run ended cleanly
    t2 = time.perf_counter()
    n = cat.count_photos()
    ids = cat.query_ids()
    t3 = time.perf_counter()
    out.update(n=n, open_s=t1 - t0, recover_s=t2 - t1, first_query_s=t3 - t2, open_total_s=t3 - t0,
               recover_ok=rep.ok)
    t = time.perf_counter(); rep = recover(cat, paths, check_models=False, integrity="quick")
    out["recover_quick_check_s"] = time.perf_counter() - t
    t = time.perf_counter(); full = cat.integrity_check(); out["integrity_check_s"] = time.perf_counter() - t
    out["integrity"] = full
    out["sort_s"] = {}
    for key in SORTS:
        t = time.perf_counter(); got = cat.query_ids(sort=key); out["sort_s"][key] = time.perf_counter() - t
        assert len(got) == n
    t = time.perf_counter(); got = cat.query_ids(sort="rating", min_rating=3); out["filter_3stars_s"] = time.perf_counter() - t
    out["rss_before_embeddings_mb"] = rss_mb()
    t = time.perf_counter(); eids, emb = cat.embeddings(); out["load_embeddings_s"] = time.perf_counter() - t
    out["embeddings_shape"] = list(emb.shape)
    out["rss_after_embeddings_mb"] = rss_mb()
    sig = None
    t = time.perf_counter(); sig = cat.signal_matrix(eids.tolist()); out["load_signals_s"] = time.perf_counter() - t
    rng = np.random.default_rng(0)
    scorer = "numpy float32 linear head"
    try:  # the real personal scorer (a folded linear head over embeddings + signals) when the prior is shipped
        from piaa_desktop.core.personal.heads import load_prior, score_library
        prior = load_prior()
        assert prior.transform.emb_mean.shape[0] == emb.shape[1]
        head = prior.prior_head()
        def rescore():
            return score_library(head, prior.transform, emb, sig)
        scorer = "core.personal.heads.score_library (prior head)"
    except Exception:
        from piaa_desktop.core.scoring import score_distribution
        w = (rng.standard_normal(emb.shape[1]) / np.sqrt(emb.shape[1])).astype(np.float32)
        ws = (rng.standard_normal(sig.shape[1]) * 0.1).astype(np.float32)
        def rescore():
            z = emb @ w + np.nan_to_num(sig) @ ws
            st = 3.0 + 0.8 * (z - z.mean()) / (z.std() + 1e-9)
            return st, score_distribution(np.clip(st, 1, 5))
    out["scorer"] = scorer
    times = []
    for _ in range(3):
        t = time.perf_counter()
        stars, dist = rescore()
        times.append(time.perf_counter() - t)
    out["rescore_matmul_s"] = min(times)
    out["rss_after_rescore_mb"] = rss_mb()
    t = time.perf_counter()
    cat.set_scores("personal", zip(eids.tolist(), stars.tolist(), dist.tolist()), model_version="bench")
    out["rescore_write_s"] = time.perf_counter() - t
    out["rss_after_write_mb"] = rss_mb()
    t = time.perf_counter(); got = cat.query_ids(sort="personal"); out["sort_personal_after_rescore_s"] = time.perf_counter() - t
    out["rss_peak_mb"] = rss_mb()
    cat.close()
    print(json.dumps(out))
    """
)

RESCORE = textwrap.dedent(
    r"""
    import json, sys, time
    db, mode = sys.argv[1], sys.argv[2]
    out = {}
    def clock():
        return time.perf_counter(), time.process_time()
    def since(t):
        return round(time.perf_counter() - t[0], 4), round(time.process_time() - t[1], 4)
    from piaa_desktop.core.catalog import Catalog
    from piaa_desktop.core.personal import operations as ops
    from piaa_desktop.core.personal.heads import load_prior
    cat = Catalog.open(db)
    prior = load_prior()
    out["schema"] = cat.schema_version
    if mode == "setup":  # a personal model from the catalog's ratings; its first read fills the stored rows
        t = clock(); res = ops.personalize(cat, prior=prior); out["personalize"] = since(t)
        out["model"] = res.message
    else:
        t0 = clock()
        mid, head = ops.active_model(cat)
        lib = ops._library(cat, prior)
        out["read"] = since(t0)
        t = clock(); n = ops._write_scores(cat, lib, head, prior, "personal-v%d" % mid); out["compute_write"] = since(t)
        out["total"] = since(t0)
        out["n"] = n
        t = clock(); ops.rescore(cat, prior=prior); out["rescore_again"] = since(t)
    cat.close()
    print(json.dumps(out))
    """
)

GUI = textwrap.dedent(
    r"""
    import json, resource, sys, time, os
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    db, cache = sys.argv[1], sys.argv[2]
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from piaa_desktop.core.catalog import Catalog
    from piaa_desktop.core.library import SORTS, load_records, sort_and_filter
    from piaa_desktop.gui.grid import PhotoGridView, PhotoListModel, ThumbnailCache
    out = {}
    gaps = {"phase": "setup", "max": {}, "last": None}
    clock = QElapsedTimer(); clock.start()
    def beat():
        now = clock.nsecsElapsed() / 1e6
        if gaps["last"] is not None:
            g = now - gaps["last"]
            ph = gaps["phase"]
            gaps["max"][ph] = max(gaps["max"].get(ph, 0.0), g)
        gaps["last"] = now
    hb = QTimer(); hb.setInterval(5); hb.timeout.connect(beat); hb.start()
    def pump(ms):
        end = time.perf_counter() + ms / 1000
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.001)
    def phase(name):
        pump(30)
        gaps["phase"] = name
        gaps["last"] = clock.nsecsElapsed() / 1e6  # work started right now counts as a stall of this phase
    t0 = time.perf_counter()
    cat = Catalog.open(db)
    phase("load")
    t = time.perf_counter()
    recs = load_records(cat)
    ids = cat.query_ids()
    out["load_records_s"] = time.perf_counter() - t
    cache_obj = ThumbnailCache(cache)
    model = PhotoListModel(cache_obj)
    view = PhotoGridView(cell=180)
    view.resize(1400, 900)
    view.setModel(model)
    t = time.perf_counter()
    model.set_records(recs); model.set_ids(ids)
    view.show()
    app.processEvents()
    out["model_reset_and_show_s"] = time.perf_counter() - t
    out["open_to_grid_s"] = time.perf_counter() - t0
    out["rows"] = model.rowCount()
    sb = view.verticalScrollBar()
    t = time.perf_counter()
    import time as _t
    last, since = -1, _t.perf_counter()
    while _t.perf_counter() - since < 0.3:  # batched layout runs in slices on timers: wait until it stops growing
        app.processEvents()
        _t.sleep(0.002)
        if sb.maximum() != last:
            last, since = sb.maximum(), _t.perf_counter()
    out["layout_settled_s"] = time.perf_counter() - t
    pump(200)
    phase("scroll")
    steps = 300
    t = time.perf_counter()
    for k in range(steps + 1):
        sb.setValue(int(sb.maximum() * k / steps))
        app.processEvents()
    out["scroll_top_to_bottom_s"] = time.perf_counter() - t
    out["scroll_maximum_px"] = sb.maximum()
    out["visible_rows_at_end"] = [view.visible_rows().start, view.visible_rows().stop]
    phase("wheel")
    for k in range(200):  # page-sized jumps back up, as a user flicking the wheel fast
        sb.setValue(max(0, sb.value() - sb.pageStep()))
        app.processEvents()
    phase("sort")
    out["sort_s"] = {}
    for key in SORTS:
        t = time.perf_counter()
        model.set_ids(sort_and_filter(recs, key))  # as MainWindow.set_sort: records in memory, no query
        app.processEvents()
        out["sort_s"][key] = time.perf_counter() - t
        pump(20)
    phase("rescore")
    import threading

    import numpy as np

    def rescore_worker() -> None:  # as the app does: a worker thread with its own connection
        wcat = Catalog.open(db)
        try:  # the app's re-score (core.personal.operations.rescore) when the prior is shipped
            from piaa_desktop.core.personal.operations import rescore
            out["rescore_worker_n"] = rescore(wcat)
            out["rescore_worker_job"] = "core.personal.operations.rescore, then the scores read"
        except Exception:  # no prior: a linear head over the embeddings, as before
            eids, emb = wcat.embeddings()
            w = (np.random.default_rng(0).standard_normal(emb.shape[1]) / np.sqrt(emb.shape[1])).astype(np.float32)
            z = emb @ w
            stars = 3 + 0.8 * (z - z.mean()) / z.std()
            wcat.set_scores("personal", zip(eids.tolist(), stars.tolist(), [None] * len(eids)), model_version="bench")
            out["rescore_worker_job"] = "embeddings + linear head + set_scores, then the scores read"
        # read on the worker too, as gui/features/personal.py does: the GUI thread only applies them
        new_scores.update({"personal": wcat.scores("personal")})
        wcat.close()

    new_scores = {}

    t = time.perf_counter()
    th = threading.Thread(target=rescore_worker)
    th.start()
    while th.is_alive():
        app.processEvents()
        time.sleep(0.002)
    out["rescore_worker_s"] = time.perf_counter() - t
    # the stall the worker causes, apart from the machine's load: 3 more re-scores, each after a window of
    # the same length with nothing running (the longest heartbeat gap of each)
    out["rescore_stalls_ms"], out["idle_window_stalls_ms"] = [], []
    for k in range(3):
        phase(f"quiet{k}")
        pump(1000 * out["rescore_worker_s"])
        phase(f"rescore{k}")
        th = threading.Thread(target=rescore_worker)
        th.start()
        while th.is_alive():
            app.processEvents()
            time.sleep(0.002)
        pump(30)
        out["idle_window_stalls_ms"].append(round(gaps["max"].get(f"quiet{k}", 0.0), 1))
        out["rescore_stalls_ms"].append(round(gaps["max"].get(f"rescore{k}", 0.0), 1))
    phase("refresh")
    t = time.perf_counter()
    for kind in new_scores:  # what MainWindow.refresh_scores(scores) does once the worker is done
        scores = new_scores[kind]
        for pid, rec in recs.items():
            setattr(rec, kind, scores.get(pid))
    app.processEvents()
    out["refresh_after_rescore_s"] = time.perf_counter() - t
    phase("resort")  # then F5 (the order on screen holds still until the user asks): re-sort + model reset
    t = time.perf_counter()
    model.set_ids(sort_and_filter(recs, "personal"))
    app.processEvents()
    out["resort_after_rescore_s"] = time.perf_counter() - t
    phase("idle")
    pump(200)
    hb.stop()
    out["max_stall_ms"] = {k: round(v, 1) for k, v in gaps["max"].items()}
    out["thumbnail_loads"] = cache_obj.loads
    cache_obj.shutdown()
    out["rss_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            out["rss_peak_mb"] = int(line.split()[1]) / 1024.0
    cat.close()
    print(json.dumps(out))
    """
)


def _child(code: str, *args: str, env=None, repo: Path = REPO) -> dict:
    env = dict(env or os.environ)
    if repo != REPO:
        env["PYTHONPATH"] = str(repo)
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=str(repo), env=env)
    if r.returncode != 0:
        raise SystemExit(f"child failed:\n{r.stderr[-4000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=None, help="embedding size (default: the current backbone's)")
    ap.add_argument("--dir", default="/tmp/piaa-scale")
    ap.add_argument("--reuse", action="store_true", help="reuse the catalog if it exists")
    ap.add_argument("--no-gui", action="store_true")
    ap.add_argument("--no-write", action="store_true", help="do not write benchmarks/RESULTS.md")
    ap.add_argument("--baseline", default=None, help="another checkout of this repository to compare the re-score with")
    ap.add_argument("--repeats", type=int, default=3, help="fresh re-score processes (each side)")
    ap.add_argument("--rescore-only", action="store_true", help="only the re-score runs (prints their JSON; writes nothing)")
    args = ap.parse_args(argv)

    d = Path(args.dir)
    d.mkdir(parents=True, exist_ok=True)
    sides = [("this", REPO, d / "catalog.sqlite3")]
    if args.baseline:
        sides.append(("baseline", Path(args.baseline).resolve(), d / "baseline" / "catalog.sqlite3"))
    build_s = None
    build = ("import sys; from piaa_desktop.lab.synthetic import make_synthetic_catalog; "
             "make_synthetic_catalog(sys.argv[1], n=int(sys.argv[2]), dim=None if sys.argv[3] == '-' else int(sys.argv[3])); "
             "print('{}')")
    setups = {}
    for name, repo, path in sides:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not (args.reuse and path.exists()):
            t = time.perf_counter()
            _child(build, str(path), str(args.n), str(args.dim or "-"), repo=repo)  # with that code's schema
            if name == "this":
                build_s = time.perf_counter() - t
            try:
                setups[name] = _child(RESCORE, str(path), "setup", repo=repo)
            except SystemExit as exc:  # no shipped prior: no personal model to re-score with
                print(f"re-score set-up failed ({name}): {exc}", file=sys.stderr)
    db = sides[0][2]
    size_mb = db.stat().st_size / 1e6
    print(f"catalog {db}: {size_mb:.0f} MB" + (f", built in {build_s:.1f} s" if build_s else ""), file=sys.stderr)
    print(json.dumps(setups), file=sys.stderr)
    rescores: dict = {name: [] for name, _r, _p in sides}
    load = []
    for _ in range(args.repeats):  # A B A B ...: both sides see the same load
        for name, repo, path in sides:
            try:
                load.append(os.getloadavg()[0])
                rescores[name].append(_child(RESCORE, str(path), "run", repo=repo))
            except SystemExit as exc:
                print(f"re-score failed ({name}): {exc}", file=sys.stderr)
    print(json.dumps(rescores), file=sys.stderr)
    load_avg = list(load)
    if args.rescore_only:
        print(json.dumps({"setup": setups, "rescore": rescores, "load": load_avg}))
        return 0
    dim = args.dim
    if dim is None:
        from piaa_desktop.core.backbones import get

        dim = get().embed_dim

    core = _child(CORE, str(db))
    core2 = _child(CORE, str(db))  # a second, warm-cache open (the usual case)
    print(json.dumps(core, indent=1), file=sys.stderr)
    gui = None
    if not args.no_gui:
        try:
            import PySide6  # noqa: F401
            import piaa_desktop.gui.grid  # noqa: F401
        except ImportError as exc:
            print(f"GUI part skipped: {exc}", file=sys.stderr)
        else:
            env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
            gui = _child(GUI, str(db), str(d / "thumbs"), env=env)
            print(json.dumps(gui, indent=1), file=sys.stderr)

    cpu = platform.processor() or platform.machine()
    lines = [
        f"Machine: {os.cpu_count()} CPU cores ({cpu}), Python {platform.python_version()}, {platform.system()}; "
        f"catalog {args.n:,} photos x {dim}-d float16 embeddings, {size_mb:.0f} MB on disk"
        + (f", generated in {build_s:.1f} s" if build_s else "") + ". Each phase runs in a fresh process.",
        "",
        "| measurement | result |",
        "|---|---|",
        f"| open: Catalog.open + recover() + default query, first / second run | "
        f"{core['open_total_s']:.2f} s / {core2['open_total_s']:.2f} s |",
        f"| recover() after a crash (adds PRAGMA quick_check), first / second run | "
        f"+{core['recover_quick_check_s']:.2f} s / +{core2['recover_quick_check_s']:.2f} s |",
        f"| full PRAGMA integrity_check (warm) | {core2['integrity_check_s']:.2f} s ({core2['integrity']}) |",
    ]
    for k, v in core2["sort_s"].items():
        lines.append(f"| query_ids sort={k} ({core2['n']:,} ids) | {v * 1000:.0f} ms |")
    def med(name, key, i):
        vals = sorted(r[key][i] for r in rescores.get(name, []))
        return vals[len(vals) // 2] if vals else float("nan")

    for name, _repo, _path in sides:
        if not rescores.get(name):
            continue
        who = "this code" if name == "this" else f"baseline ({args.baseline})"
        lines += [
            f"| re-score (app: core.personal.operations.rescore), {who}, fresh process, median of "
            f"{len(rescores[name])}: read from the catalog | {med(name, 'read', 0):.2f} s (CPU {med(name, 'read', 1):.2f} s) |",
            f"| ... compute scores + distributions and write {rescores[name][0]['n']:,} personal scores | "
            f"{med(name, 'compute_write', 0):.2f} s (CPU {med(name, 'compute_write', 1):.2f} s) |",
            f"| ... **re-score end to end** (read + compute + write) | **{med(name, 'total', 0):.2f} s** "
            f"(CPU {med(name, 'total', 1):.2f} s) |",
        ]
    for name, st in setups.items():
        if "personalize" in st:
            lines.append(f"| set-up ({'this code' if name == 'this' else 'baseline'}): personalize ({st.get('model', '')}); "
                         "its first read computes and stores what later re-scores read | "
                         f"{st['personalize'][0]:.1f} s (once per prior / backbone) |")
    lines += [
        f"| load all embeddings (catalog.embeddings, float32; a re-score no longer reads them) | {core2['load_embeddings_s']:.2f} s |",
        f"| {core2['scorer']} over {core2['embeddings_shape'][0]:,} x {core2['embeddings_shape'][1]} embeddings + distributions | "
        f"{core2['rescore_matmul_s'] * 1000:.0f} ms |",
        f"| set_scores: write {core2['n']:,} personal scores from Python rows | {core2['rescore_write_s']:.2f} s |",
        f"| peak RSS, core process (embeddings loaded) | {core2['rss_peak_mb']:.0f} MB (before embeddings "
        f"{core2['rss_before_embeddings_mb']:.0f} MB) |",
    ]
    if gui:
        st = gui["max_stall_ms"]
        lines += [
            f"| GUI: load_records + default query | {gui['load_records_s']:.2f} s |",
            f"| GUI: model reset + first show ({gui['rows']:,} rows) | {gui['model_reset_and_show_s'] * 1000:.0f} ms |",
            f"| GUI: open to grid shown | {gui['open_to_grid_s']:.2f} s |",
            f"| GUI: scroll top to bottom in 300 steps | {gui['scroll_top_to_bottom_s']:.2f} s, longest stall "
            f"{st.get('scroll', 0):.0f} ms |",
            f"| GUI: 200 page-up jumps | longest stall {st.get('wheel', 0):.0f} ms |",
            "| GUI: switch sort (in-memory sort of the records + model reset) | "
            + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in gui["sort_s"].items())
            + f"; longest stall {st.get('sort', 0):.0f} ms |",
            f"| GUI: re-score {gui['rows']:,} on a worker thread ({gui.get('rescore_worker_job', '')}) | "
            f"{gui['rescore_worker_s']:.2f} s, longest GUI stall meanwhile {st.get('rescore', 0):.0f} ms |",
            f"| GUI: longest stall during 3 more re-scores / during 3 quiet windows of the same length just before each | "
            f"{', '.join(f'{v:.0f}' for v in gui['rescore_stalls_ms'])} ms / "
            f"{', '.join(f'{v:.0f}' for v in gui['idle_window_stalls_ms'])} ms |",
            f"| GUI: then on the GUI thread: the new scores into the records (MainWindow.refresh_scores; the order holds) | "
            f"{gui['refresh_after_rescore_s'] * 1000:.0f} ms (stall {st.get('refresh', 0):.0f} ms) |",
            f"| GUI: F5: re-sort by personal score + model reset | "
            f"{gui['resort_after_rescore_s'] * 1000:.0f} ms (stall {st.get('resort', 0):.0f} ms) |",
            f"| GUI: idle | longest gap {st.get('idle', 0):.0f} ms |",
            f"| peak RSS, GUI process | {gui['rss_peak_mb']:.0f} MB |",
        ]
    lines += [
        "",
        "Stalls are the longest gap between ticks of a 5 ms QTimer heartbeat during the phase. Thumbnails "
        "of the synthetic photos do not exist, so the grid paints placeholders (thumbnail decoding runs on "
        "worker threads and is measured by the import benchmark). The re-score runs on a worker thread, as "
        "in the app; only the refresh after it runs on the GUI thread.",
    ]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        from benchmarks._results import write_section

        cmd = "python benchmarks/scale.py" + (f" --n {args.n}" if args.n != 100_000 else "") + (
            f" --baseline {args.baseline}" if args.baseline else "")
        try:
            load = os.getloadavg()[0]
            during = f"{min(load_avg):.1f}-{max(load_avg):.1f}" if load_avg else "?"
            body = body.replace("Each phase runs in a fresh process.",
                                f"Each phase runs in a fresh process. Load average during the re-score runs {during}, "
                                f"when written: {load:.1f} (the 2 cores are shared with other jobs: times are upper bounds).")
        except OSError:
            pass
        write_section("Scale: 100,000-photo synthetic catalog", cmd, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
