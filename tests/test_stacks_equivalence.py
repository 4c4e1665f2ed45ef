"""core.stacks' batched stacking and ranking against the straightforward photo-by-photo versions they replaced
(kept here as the reference): the same stacks in the same order, the same best photo of each stack."""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from types import SimpleNamespace

import numpy as np
import pytest

from piaa_desktop.core import stacks as S

MODEL = "test-backbone@stacks"


def _reference_vectors(catalog, ids):
    """The vectors as the old _vectors read them: one array per photo, a damaged row (another shape than the
    first) left out, unit float32 head features."""
    got = catalog.embeddings_of(MODEL, list(ids))
    if not got:
        return {}
    pids = [p for p in got if np.shape(got[p]) == np.shape(next(iter(got.values())))]
    head = S.content_vectors(np.stack([got[p] for p in pids]))
    norms = np.linalg.norm(head, axis=1)
    ok = (norms > 0) & np.isfinite(norms)
    unit = head / np.where(ok, norms, 1.0)[:, None]
    return {pids[k]: unit[k] for k in np.flatnonzero(ok).tolist()}


def _reference_find_stacks(catalog, times: dict, max_gap_s: float, max_dist: float, min_size: int = 2):
    """find_stacks as it was: photos in capture order (ties by id), each joins the open stack with the closest
    member when close enough, else opens one."""
    timed = sorted((t, pid) for pid, v in times.items() if (t := S._timestamp(v)) is not None)
    ts = [t for t, _ in timed]
    cand = [timed[k] for k in range(len(timed))
            if (k > 0 and ts[k] - ts[k - 1] <= max_gap_s) or (k + 1 < len(ts) and ts[k + 1] - ts[k] <= max_gap_s)]
    vec = _reference_vectors(catalog, sorted(pid for _t, pid in cand))
    open_stacks: list[dict] = []
    done: list[list[int]] = []
    for t, pid in cand:
        v = vec.get(pid)
        still_open = []
        for s in open_stacks:
            if t - s["last"] <= max_gap_s:
                still_open.append(s)
            else:
                done.append(s["ids"])
        open_stacks = still_open
        best, best_d = None, math.inf
        if v is not None:
            for s in open_stacks:
                if not s["vecs"]:
                    continue
                d = float(np.min(1.0 - np.stack(s["vecs"]) @ v))
                if d < best_d:
                    best, best_d = s, d
        if best is not None and best_d <= max_dist:
            best["ids"].append(pid)
            best["vecs"].append(v)
            best["last"] = t
        else:
            open_stacks.append({"ids": [pid], "vecs": [v] if v is not None else [], "last": t})
    done.extend(s["ids"] for s in open_stacks)
    rank = {pid: k for k, (_, pid) in enumerate(cand)}
    return sorted([s for s in done if len(s) >= max(2, min_size)], key=lambda s: rank[s[0]])


def _library(tmp_path, monkeypatch, n: int, dim: int, seed: int):
    """A synthetic catalog of ``n`` photos whose embeddings (``dim`` values) are scenes with shots a little
    apart, some far, and capture times in bursts: (catalog, {photo id: capture time})."""
    from piaa_desktop.core import embeddings
    from piaa_desktop.core.catalog import Catalog
    from piaa_desktop.lab.synthetic import make_synthetic_catalog

    rng = np.random.default_rng(seed)
    make_synthetic_catalog(tmp_path / f"c{seed}.sqlite3", n=n, dim=dim, seed=seed, folders=3, model=MODEL)
    monkeypatch.setattr(embeddings, "embedding_key", lambda: MODEL)
    cat = Catalog.open(tmp_path / f"c{seed}.sqlite3")
    scenes = rng.standard_normal((max(2, n // 6), dim)).astype(np.float32)
    which = np.minimum(np.cumsum(rng.random(n) < 0.3), len(scenes) - 1)  # scenes follow each other
    which = np.where(rng.random(n) < 0.1, rng.integers(0, len(scenes), n), which)  # a stranger walks through
    noise = rng.choice([0.05, 0.2, 0.35, 0.5, 1.0], n)[:, None]  # near the stacking distance, and far
    vecs = scenes[which] + noise * rng.standard_normal((n, dim)).astype(np.float32)
    ids = list(range(1, n + 1))
    cat.set_embeddings([(i, MODEL, "h", v) for i, v in zip(ids, vecs)])
    with cat.transaction() as tx:  # some photos without an embedding, one of zeros, one damaged
        tx.executemany("DELETE FROM embeddings WHERE photo_id=?", [(int(i),) for i in rng.choice(ids, n // 20)])
        tx.execute("UPDATE embeddings SET vector=? WHERE photo_id=?", (np.zeros(dim, np.float16).tobytes(), ids[5]))
        tx.execute("UPDATE embeddings SET vector=? WHERE photo_id=?", (b"\0\1\2\3", ids[9]))
    gaps = rng.choice([0.0, 0.4, 1.0, 1.9, 2.0, 2.1, 3.5, 30.0, 4000.0], n, p=[.1, .2, .2, .1, .1, .1, .1, .05, .05])
    secs = np.cumsum(gaps)
    order = rng.permutation(n)  # ids not in time order
    start = datetime(2023, 5, 1, 9, 0, 0)
    # whole seconds as the scanner stores them (read as arrays), fractions through fromisoformat
    times = {ids[order[k]]: (start + timedelta(seconds=float(secs[k]))).isoformat() for k in range(n)}
    for k in rng.choice(n, n // 25):
        times[ids[k]] = None  # no capture time
    return cat, times


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_find_stacks_matches_the_photo_by_photo_greedy(tmp_path, monkeypatch, seed):
    cat, times = _library(tmp_path, monkeypatch, n=700, dim=24, seed=seed)
    try:
        dists = np.linalg.norm(np.diff(np.stack(list(_reference_vectors(cat, times).values())), axis=0), axis=1)
        assert len(dists) > 600
        for gap, dist in [(2.0, 0.1), (2.0, 0.3), (4.0, 0.5), (0.5, 0.3), (60.0, 0.2), (1e6, 0.05)]:
            want = _reference_find_stacks(cat, times, gap, dist)
            assert S.find_stacks(cat, gap, dist, capture_times=times) == want, (gap, dist)
            if gap == 2.0 and dist == 0.3:
                assert len(want) > 20 and max(map(len, want)) >= 4  # stacks of many sizes were tried
        # long runs stacked photo by photo, in small blocks (the same stacks)
        monkeypatch.setattr(S, "_BATCH_RUN", 2)
        monkeypatch.setattr(S, "_BLOCK", 3)
        for gap, dist in [(2.0, 0.3), (1e6, 0.2), (4.0, 0.5)]:
            assert S.find_stacks(cat, gap, dist, capture_times=times) == _reference_find_stacks(cat, times, gap, dist)
        assert S.find_stacks(cat, 2.0, 0.3, capture_times=times, min_size=3) == \
            _reference_find_stacks(cat, times, 2.0, 0.3, min_size=3)
    finally:
        cat.close()


def test_vector_matrix_reads_what_the_old_reader_read(tmp_path, monkeypatch):
    cat, times = _library(tmp_path, monkeypatch, n=60, dim=8, seed=4)
    try:
        ids = list(range(1, 61))
        pids, X = S._vector_matrix(cat, ids)
        ref = _reference_vectors(cat, ids)
        assert pids.tolist() == sorted(ref) and 6 not in ref and 10 not in ref  # zeros and damaged: left out
        assert all(np.array_equal(X[k], ref[p]) for k, p in enumerate(pids.tolist()))
        got = cat.embedding_matrix(MODEL, ids)
        assert got[1].dtype == np.float16 and got[1].shape == (len(got[0]), 8) and 10 not in got[0].tolist()
        assert S._vector_matrix(cat, []) [0].tolist() == [] and S.find_stacks(cat, capture_times={}) == []
    finally:
        cat.close()


def _reference_best(stacks, recs, sig, faces, kind):
    def key(p):
        r = recs[p]
        sc = r.personal if kind == "personal" and r.personal is not None else r.generic
        sh = sig.get(p)
        return (-faces.get(p, 0.0), sc if sc is not None and sc == sc else -math.inf, r.rating or 0,
                sh if sh is not None and sh == sh else -math.inf, -p)

    return [max(st, key=key) for st in stacks]


def test_stack_ranking_ranks_again_after_a_rating_as_the_tuples_do(tmp_path, monkeypatch):
    import random

    rng = random.Random(11)
    cat, _times = _library(tmp_path, monkeypatch, n=400, dim=8, seed=5)
    try:
        pids = list(range(1, 401))
        stacks, k = [], 0
        while k < 380:
            n = rng.choice([2, 2, 3, 5, 9])
            stacks.append(pids[k:k + n])
            k += n + rng.randint(0, 2)
        recs = {p: SimpleNamespace(id=p, personal=rng.choice([None, 3.0, float("nan"), rng.random() * 5]),
                                   generic=rng.choice([None, 2.0, rng.random() * 5]), rating=rng.choice([None, 0, 3, 5]))
                for p in pids}
        with cat.transaction() as tx:  # ties and missing sharpness
            for p in pids:
                tx.execute("UPDATE signals SET sharpness=? WHERE photo_id=?", (rng.choice([None, 1.0, rng.random()]), p))
        sig = {p: v for p, v in cat.conn.execute("SELECT photo_id, sharpness FROM signals")}
        faces = {p: rng.choice([0.0, 1.0, 0.5]) for p in pids[::5]}
        reads = []
        monkeypatch.setattr(S, "_faces_by_photo", lambda _c, ids=None: reads.append(ids) or faces)
        ranking = S.stack_ranking(cat, stacks)
        grid = [p for p in pids if p % 7]  # the grid shows some of them, in another order
        grid = grid[::2] + grid[1::2]
        for kind in ("personal", "generic"):
            want = _reference_best(stacks, recs, sig, faces, kind)
            assert ranking.best(cat, recs, kind).tolist() == want
            assert S.best_of_stacks(cat, stacks, kind=kind, records=recs) == want
        best = ranking.best(cat, recs).tolist()
        hidden = {p for st, b in zip(stacks, best) for p in st if p != b}
        assert ranking.collapse(grid, best) == [p for p in grid if p not in hidden] == S.collapse_ids(grid, stacks, best)
        assert ranking.collapse(grid, best, expanded=[0, 3]) == S.collapse_ids(grid, stacks, best, expanded=[0, 3])
        # a rating: the stack's best changes at the next ranking, the faces are not read again
        before = len(reads)
        k, st = next((k, st) for k, st in enumerate(stacks) if not any(faces.get(p) for p in st))
        loser = next(p for p in st if p != best[k])
        recs[loser].personal, recs[loser].rating = 99.0, 5
        assert ranking.best(cat, recs).tolist()[k] == loser
        assert ranking.best(cat, recs).tolist() == _reference_best(stacks, recs, sig, faces, "personal")
        assert len(reads) == before
        # faces stored meanwhile (the faces pass): read again
        cat.set_faces("some-faces-model", [(pids[0], "h", [])])
        faces[loser] = 2.0
        assert ranking.best(cat, recs).tolist() == _reference_best(stacks, recs, sig, faces, "personal")
        assert ranking.best(cat, recs).tolist()[k] != loser and len(reads) == before + 1
        assert S.StackRanking([]).best(cat, recs).tolist() == [] and S.StackRanking([]).collapse(grid, []) == grid
    finally:
        cat.close()


def test_timestamps_parsed_in_chunks_are_the_same(monkeypatch):
    values = ["2024-06-01T12:00:%02d" % (k % 60) for k in range(50)] + [None, "garbage", "2024:06:01 12:00:02",
                                                                         "2024-06-01T12:00:03.5", "2024-02-30T00:00:00"]
    whole = S._timestamp_array(values)
    monkeypatch.setattr(S, "_PARSE_CHUNK", 7)
    assert np.array_equal(S._timestamp_array(values), whole, equal_nan=True)
    assert np.isnan(whole).sum() == 3
