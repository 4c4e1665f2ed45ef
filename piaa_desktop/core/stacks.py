"""Burst and near-duplicate stacks: photos taken seconds apart that look the same.

A *stack* is a set of photos whose capture times chain within ``max_gap_s`` seconds of each other and
whose backbone embeddings are within ``max_dist`` cosine distance (1 - cos) of a member already in the
stack. Photos are visited in capture order; each joins the closest open stack (one whose latest photo is
within the time gap) when close enough, otherwise it opens a new one, so a stranger walking through a
burst does not split it. Photos without a capture time (or without an embedding) are never stacked,
unless ``mtime_fallback`` uses the file time instead (unsafe after a copy that reset file times).
:func:`find_stacks` does this in few array operations (the grid finds stacks on a worker while the GUI
thread waits for the interpreter lock): photos chained by the time gap form runs no stack spans; the runs of
up to 64 photos are stacked all at once (one batched distance matrix per padded size, the visit as one array
step per position), longer ones block by block; tests/test_stacks_equivalence.py holds the photo-by-photo
version as the reference.

The grid collapses a stack to its best member (:func:`best_of_stacks`: personal score, generic when no
personal model, then stars, then sharpness) and can expand it again (:func:`collapse_ids`,
:func:`stack_index`). :func:`keep_best_of_each_stack` picks the best of every stack and rejects the
rest in one undoable change; photos the user already picked in a stack are kept instead of the best.

The default ``max_dist`` is the backbone's own (``BackboneSpec.stack_max_dist``), calibrated on real photos
(benchmarks/calibrate_stacks.py, numbers in benchmarks/RESULTS.md "Stacks: embedding distance calibration").
"""
from __future__ import annotations

import math
from datetime import datetime
from typing import Iterable, Mapping, Optional, Sequence

import numpy as np

from piaa_desktop.core import backbones
from piaa_desktop.core.catalog import Change

DEFAULT_MAX_GAP_S = 2.0
DEFAULT_MAX_DIST = backbones.get().stack_max_dist


def cosine_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise 1 - cos between rows of ``a`` (n, d) and ``b`` (m, d)."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    an = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    bn = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return np.clip(1.0 - an @ bn.T, 0.0, 2.0)


def _timestamp(capture_time: Optional[str]) -> Optional[float]:
    if not capture_time:
        return None
    s = capture_time.strip()
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        try:
            dt = datetime.strptime(s[:19], "%Y:%m:%d %H:%M:%S")
        except ValueError:
            return None
    if dt.tzinfo is not None:
        dt = dt.replace(tzinfo=None)  # camera clocks are local; compare wall-clock times
    return (dt - datetime(1970, 1, 1)).total_seconds()


_PARSE_CHUNK = 8192


def _timestamp_array(values: Sequence[Optional[str]]) -> np.ndarray:
    """:func:`_timestamp` of each value as float64 seconds (NaN: none). The plain ISO ones
    (``YYYY-MM-DDTHH:MM:SS``, what the scanner stores) are read digit by digit as arrays (100,000 in ~50 ms
    instead of 280 ms: collapsing stacks in the grid, benchmarks/gui_actions.py); the others, and plain ones
    that are no real date (Feb 30, 24:00), one by one."""
    n = len(values)
    if n > _PARSE_CHUNK:  # a chunk at a time: each holds the interpreter lock a short while (the stacks worker)
        return np.concatenate([_timestamp_array(values[k:k + _PARSE_CHUNK]) for k in range(0, n, _PARSE_CHUNK)])
    out = np.full(n, np.nan)
    if not n:
        return out
    strs = np.array([v if isinstance(v, str) and len(v) == 19 else "" for v in values], dtype="<U19")
    c = strs.view(np.uint32).reshape(n, 19)
    dig = c[:, [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]].astype(np.int64) - ord("0")  # YYYYMMDDhhmmss
    plain = ((c[:, 4] == ord("-")) & (c[:, 7] == ord("-")) & ((c[:, 10] == ord("T")) | (c[:, 10] == ord(" ")))
             & (c[:, 13] == ord(":")) & (c[:, 16] == ord(":")) & ((dig >= 0) & (dig <= 9)).all(axis=1))
    y = dig[:, 0:4] @ np.array([1000, 100, 10, 1], dtype=np.int64)
    mo, d, hh, mi, ss = (dig[:, k:k + 2] @ np.array([10, 1], dtype=np.int64) for k in (4, 6, 8, 10, 12))
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
    dim = month_days[np.clip(mo, 0, 12)] + ((mo == 2) & leap)
    plain &= (y >= 1) & (mo >= 1) & (mo <= 12) & (d >= 1) & (d <= dim) & (hh <= 23) & (mi <= 59) & (ss <= 59)
    # days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil)
    yy = y - (mo <= 2)
    era = np.floor_divide(yy, 400)
    yoe = yy - era * 400
    doy = (153 * (mo + np.where(mo > 2, -3, 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    at = np.flatnonzero(plain)
    out[at] = (days * 86400 + hh * 3600 + mi * 60 + ss)[at]
    for k in np.flatnonzero(~plain).tolist():
        t = _timestamp(values[k])
        if t is not None:
            out[k] = t
    return out


def _timestamps(values: Sequence[Optional[str]]) -> list[Optional[float]]:
    """:func:`_timestamp` of each value (None: none), through :func:`_timestamp_array`."""
    return [None if t != t else t for t in _timestamp_array(values).tolist()]


_RECORD_TIMES: list = []  # [(records dict, ids, seconds)]: the last dict's, kept while it is the window's


def record_timestamps(records: Mapping[int, object]) -> tuple[np.ndarray, np.ndarray]:
    """(photo ids, capture times in seconds, NaN: none) of a dict of records (``.capture_time``), computed once
    per dict: the grid collapses stacks again at every refresh while stacks are collapsed (new scores, a
    rating in Rating order), and a reload makes a new dict (capture times change only then)."""
    kept = _RECORD_TIMES[0] if _RECORD_TIMES else None  # one read: a worker may replace the entry meanwhile
    if kept is not None and kept[0] is records and len(kept[1]) == len(records):
        return kept[1], kept[2]
    ids, secs = timestamps_of(list(records.values()))
    _RECORD_TIMES[:] = [(records, ids, secs)]
    return ids, secs


def timestamps_of(recs: Sequence[object]) -> tuple[np.ndarray, np.ndarray]:
    """(photo ids, capture times in seconds, NaN: none) of records (``.id``, ``.capture_time``)."""
    ids = np.fromiter((r.id for r in recs), dtype=np.int64, count=len(recs))
    return ids, _timestamp_array([r.capture_time for r in recs])


def content_vectors(emb: np.ndarray) -> np.ndarray:
    """What "the same shot" compares: the backbone's head features of each embedding row (not the block taps,
    which follow texture and exposure), as float32. ``DEFAULT_MAX_DIST`` is calibrated on these
    (benchmarks/calibrate_stacks.py)."""
    from piaa_desktop.core.backbones import head_part

    return np.asarray(head_part(np.asarray(emb)), dtype=np.float32)


def _vector_matrix(catalog, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(photo ids ascending, their unit content vectors as float32 rows) of those of ``ids`` that have an
    embedding of the current backbone: the head features of all read as one matrix
    (:meth:`Catalog.embedding_matrix`), converted and scaled in place, no array per photo (the stacks worker
    holds the interpreter lock little while the grid waits for it)."""
    from piaa_desktop.core.embeddings import embedding_key
    from piaa_desktop.core.models import ModelError

    none = (np.zeros(0, np.int64), np.zeros((0, 0), np.float32))
    try:
        key = embedding_key()  # only the current backbone's vectors: another model's are not comparable
    except ModelError:
        return none
    spec = backbones.get()
    pids, mat = catalog.embedding_matrix(key, list(ids), width=spec.head_dim or None)
    if not len(pids):
        return none
    unit = content_vectors(mat)  # float32, a new array
    norms = np.linalg.norm(unit, axis=1)
    ok = (norms > 0) & np.isfinite(norms)
    unit /= np.where(ok, norms, 1.0)[:, None]
    if not ok.all():
        pids, unit = pids[ok], unit[ok]
    if len(pids) > 1 and not (pids[1:] > pids[:-1]).all():
        order = np.argsort(pids, kind="stable")
        pids, unit = pids[order], unit[order]
    return pids, unit


# Runs of at most this many photos are stacked all together (padded to a power of two, one step per position
# for all runs of a size at once); a longer run is stacked on its own, photo by photo, with the distances of
# up to _BLOCK photos at a time.
_BATCH_RUN = 64
_BLOCK = 256


def _stack_small_runs(X: np.ndarray, rows: np.ndarray, t: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                      max_gap_s: float, max_dist: float) -> np.ndarray:
    """The greedy stacking of :func:`find_stacks` for runs of at most ``_BATCH_RUN`` photos, all runs of the
    same padded size at once: the label of each photo (its stack's number within its run, in the order the
    stacks opened), run after run. ``t``: the times of all photos in capture order, ``X[rows]`` their unit
    vectors; run ``k`` is photos ``starts[k]:starts[k] + lengths[k]``."""
    labels = np.empty(int(lengths.sum()), dtype=np.int64)
    first = np.cumsum(lengths) - lengths  # each run's first label
    size = np.maximum(2, 1 << np.ceil(np.log2(np.maximum(lengths, 1))).astype(np.int64))
    for p in np.unique(size).tolist():
        which = np.flatnonzero(size == p)
        step = max(1, 4096 // p)  # runs per batch: at most 4096 vectors gathered at once
        for c in range(0, len(which), step):
            runs = which[c:c + step]
            pos = np.arange(p)
            real = pos[None, :] < lengths[runs][:, None]  # (r, p): a photo, not padding
            at = np.where(real, starts[runs][:, None] + pos[None, :], 0)
            V = X[rows[at]]  # (r, p, d)
            D = 1.0 - np.matmul(V, V.transpose(0, 2, 1))  # (r, p, p) float32, as 1 - stack @ v
            pad = ~real
            D[pad[:, :, None] | pad[:, None, :]] = np.inf  # padding is close to nothing
            T = np.where(real, t[at], np.inf)
            lab = _greedy_batch(D, T, max_gap_s, max_dist)
            into = (first[runs][:, None] + pos[None, :])[real]
            labels[into] = lab[real]
    return labels


def _greedy_batch(D: np.ndarray, T: np.ndarray, max_gap_s: float, max_dist: float) -> np.ndarray:
    """For ``r`` runs of ``p`` photos each (``D`` (r, p, p) distances, ``T`` (r, p) times, capture order): the
    stack label of each photo. Photo ``k`` joins the open stack (latest photo within ``max_gap_s``) with the
    member closest to it when within ``max_dist`` (ties: the stack opened first), else opens one."""
    r, p = T.shape
    ar = np.arange(r)
    near = np.full((r, p, p), np.inf, dtype=D.dtype)  # near[:, i, s]: distance of photo i to stack s's members
    last = np.full((r, p), -np.inf)  # each stack's latest time (-inf: no such stack yet, never open)
    count = np.zeros(r, dtype=np.int64)
    lab = np.empty((r, p), dtype=np.int64)
    with np.errstate(invalid="ignore"):  # inf - inf of the padding: NaN, not open
        for k in range(p):
            tk = T[:, k]
            d = np.where((tk[:, None] - last) <= max_gap_s, near[:, k, :], np.inf)
            s = d.argmin(axis=1)  # the first smallest: the stack opened first among ties
            join = d[ar, s].astype(np.float64) <= max_dist
            target = np.where(join, s, count)
            count += ~join
            lab[:, k] = target
            last[ar, target] = tk
            near[ar, :, target] = np.minimum(near[ar, :, target], D[ar, :, k])
    return lab


def _stack_long_run(X: np.ndarray, t: np.ndarray, max_gap_s: float, max_dist: float) -> list[int]:
    """The greedy stacking of :func:`find_stacks` for one run (``X``/``t`` its vectors and times), photo by
    photo: the label of each photo. Distances come a block of photos at a time, against every photo since the
    first member of the stacks still open (all a photo of the block can be compared with)."""
    n = len(t)
    tl = t.tolist()
    labels = [0] * n
    open_: list[list] = []  # [label, members (run positions), latest time]
    count = 0
    a = 0
    while a < n:
        lo = min((s[1][0] for s in open_), default=a)
        b = min(n, a + max(1, min(_BLOCK, (1 << 22) // (a + _BLOCK - lo))))  # at most 4M distances at once
        D = 1.0 - X[a:b] @ X[lo:b].T  # float32, as 1 - stack @ v
        for k in range(a, b):
            tk = tl[k]
            open_ = [s for s in open_ if tk - s[2] <= max_gap_s]
            row = D[k - a]
            best, best_d = None, math.inf
            for s in open_:
                m = s[1]
                d = float(row[m[0] - lo]) if len(m) == 1 else float(row[np.asarray(m) - lo].min())
                if d < best_d:
                    best, best_d = s, d
            if best is not None and best_d <= max_dist:
                best[1].append(k)
                best[2] = tk
                labels[k] = best[0]
            else:
                open_.append([count, [k], tk])
                labels[k] = count
                count += 1
        a = b
    return labels


def find_stacks(
    catalog,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    max_dist: float = DEFAULT_MAX_DIST,
    ids: Optional[Iterable[int]] = None,
    mtime_fallback: bool = False,
    min_size: int = 2,
    capture_times: Optional[Mapping[int, Optional[str]]] = None,
    timestamps: Optional[tuple[np.ndarray, np.ndarray]] = None,
) -> list[list[int]]:
    """Stacks (lists of photo ids in capture order, at least ``min_size`` photos), in capture order.

    ``capture_times`` ({photo id: capture time}, e.g. from the grid's records) are the photos to consider
    and their times, instead of every photo read from the catalog (5 s at 100,000 photos on the GUI thread
    when the grid collapses stacks, benchmarks/gui_actions.py); not with ``mtime_fallback``. ``timestamps``:
    the same as (photo ids, seconds) arrays (:func:`record_timestamps`), narrowed by ``ids``."""
    if timestamps is not None and not mtime_fallback:
        pids, ts = timestamps
    elif capture_times is not None and not mtime_fallback:
        pids = np.fromiter(capture_times.keys(), dtype=np.int64, count=len(capture_times))
        ts = _timestamp_array(list(capture_times.values()))
    else:
        photos = catalog.photos()
        pids = np.array([p.id for p in photos], dtype=np.int64)
        ts = _timestamp_array([p.capture_time for p in photos])
        if mtime_fallback:
            mt = np.array([float(p.mtime) if p.mtime else np.nan for p in photos], dtype=np.float64)
            ts = np.where(np.isnan(ts), mt, ts)
    keep = ~np.isnan(ts)
    if ids is not None:  # no SQL variable limit for large selections
        keep &= np.isin(pids, np.fromiter(ids, dtype=np.int64))
    pids, ts = pids[keep], ts[keep]
    order = np.lexsort((pids, ts))  # capture order, ties by id
    pids, ts = pids[order], ts[order]
    # Only photos with a neighbour inside the time gap can stack: load just their embeddings.
    near = ts[1:] - ts[:-1] <= max_gap_s
    is_cand = np.zeros(len(ts), dtype=bool)
    is_cand[:-1] |= near
    is_cand[1:] |= near
    t, p = ts[is_cand], pids[is_cand]
    vid, X = _vector_matrix(catalog, np.sort(p))
    if not len(vid):
        return []
    # photos without an embedding stack with none (and close no stack a later photo needs): left out
    at = np.minimum(np.searchsorted(vid, p), len(vid) - 1)
    has = vid[at] == p
    t, p, rows = t[has], p[has], at[has]  # rows: each photo's vector in X
    # runs: photos chained by the time gap; no stack spans two (every stack closes at a longer gap)
    starts = np.r_[0, np.flatnonzero(t[1:] - t[:-1] > max_gap_s) + 1].astype(np.int64)
    lengths = np.diff(np.r_[starts, len(t)]).astype(np.int64)
    starts, lengths = starts[lengths > 1], lengths[lengths > 1]  # a photo alone: no stack
    small = lengths <= _BATCH_RUN
    s_starts, s_lengths = starts[small], lengths[small]
    first_of = np.repeat(np.cumsum(s_lengths) - s_lengths, s_lengths)
    parts_pos = [np.repeat(s_starts, s_lengths) + np.arange(int(s_lengths.sum())) - first_of]
    parts_run = [np.repeat(s_starts, s_lengths)]  # a run is known by its first photo's position
    parts_lab = [_stack_small_runs(X, rows, t, s_starts, s_lengths, max_gap_s, max_dist)]
    for a, n in zip(starts[~small].tolist(), lengths[~small].tolist()):
        parts_pos.append(np.arange(a, a + n))
        parts_run.append(np.full(n, a, dtype=np.int64))
        parts_lab.append(np.array(_stack_long_run(X[rows[a:a + n]], t[a:a + n], max_gap_s, max_dist), dtype=np.int64))
    pos, run, lab = np.concatenate(parts_pos), np.concatenate(parts_run), np.concatenate(parts_lab)
    # the members of each stack together in capture order, the stacks ordered by their first photo
    order = np.lexsort((pos, lab, run))
    pos, run, lab = pos[order], run[order], lab[order]
    first = np.flatnonzero(np.r_[True, (run[1:] != run[:-1]) | (lab[1:] != lab[:-1])]) if len(pos) else pos
    size = np.diff(np.r_[first, len(pos)])
    keep = size >= max(2, min_size)
    first, size = first[keep], size[keep]
    by_start = np.argsort(pos[first], kind="stable")
    flat = p[pos].tolist()
    return [flat[f:f + n] for f, n in zip(first[by_start].tolist(), size[by_start].tolist())]


def _faces_by_photo(catalog, ids: Optional[Sequence[int]] = None) -> dict[int, float]:
    """Photo id -> face penalty (closed eyes, soft faces) from the current face models; {} when none ran.
    ``ids``: only these photos' (read 900 at a time)."""
    try:
        from piaa_desktop.core.faces import keep_best_penalty, model_signature

        sig = model_signature()
        if ids is None:
            rows = catalog.faces(sig)
        else:
            ids = [int(i) for i in ids]
            rows = {}
            for k in range(0, len(ids), 900):
                rows.update(catalog.faces(sig, ids[k:k + 900]))
    except Exception:  # noqa: BLE001 - no face models or no faces table: rank without faces
        return {}
    return {pid: keep_best_penalty(r) for pid, r in rows.items()}


def _rank_key(catalog, kind: str = "personal"):
    personal = catalog.scores("personal") if kind == "personal" else {}
    generic = catalog.scores("generic")
    signals = catalog.signals()
    faces = _faces_by_photo(catalog)

    def key(photo) -> tuple:
        s = personal.get(photo.id, generic.get(photo.id))
        sharp = (signals.get(photo.id) or {}).get("sharpness")
        return (
            -faces.get(photo.id, 0.0),  # closed eyes and soft faces lose first (core.faces.keep_best_penalty)
            s if s is not None else -math.inf,
            photo.rating or 0,
            sharp if sharp is not None else -math.inf,
            -photo.id,
        )

    return key


def _scores(values: list) -> np.ndarray:
    """Values (None: none) as float64 ranking keys: none and NaN rank last (-inf)."""
    a = np.array(values, dtype=np.float64)  # None: NaN
    a[np.isnan(a)] = -math.inf
    return a


class StackRanking:
    """Stacks prepared to be ranked again and again (the grid ranks its stacks at every refresh while they are
    collapsed: a rating in Rating order, new scores): the members as flat arrays, their sharpness (measured at
    import: it changes only with new records, when the stacks are found again) and their faces penalty (read
    again only when faces were stored since). Built on the stacks worker (:func:`stack_ranking`); a refresh
    reads only the members' scores and stars from the grid's records (:meth:`best`) and drops the hidden
    members with an id table (:meth:`collapse`): ~13 ms at 100,000 photos with 3,334 stacks, where
    :func:`best_of_stacks` with signal dicts and :func:`collapse_ids` took ~35 ms (min of 15, load 4)."""

    def __init__(self, stacks: Sequence[Sequence[int]], sharpness: Optional[np.ndarray] = None):
        # few Python objects made here (the worker builds it): each can set off a garbage collection of the
        # whole heap (100,000 records: ~90 ms holding the interpreter lock)
        self.stacks = stacks
        sizes = np.fromiter((len(s) for s in self.stacks), dtype=np.int64, count=len(self.stacks))
        self.members = np.fromiter((int(p) for s in self.stacks for p in s), dtype=np.int64, count=int(sizes.sum()))
        self.member_list = self.members.tolist()
        self.group = np.repeat(np.arange(len(self.stacks)), sizes)
        self.sharpness = _scores(np.full(len(self.members), np.nan) if sharpness is None else sharpness)
        self._faces: Optional[tuple] = None  # (faces version, penalty of each member)

    def __len__(self) -> int:
        return len(self.stacks)

    def faces(self, catalog) -> np.ndarray:
        """The members' faces penalty (0: none known), read again when the catalog stored faces since."""
        try:
            version = ("faces", catalog.faces_version())  # ("faces", None): none stored yet
        except Exception:  # noqa: BLE001 - no faces table: read (nothing) every time
            version = None
        if self._faces is None or version is None or self._faces[0] != version:
            got = _faces_by_photo(catalog, self.member_list)
            self._faces = (version, np.array([got.get(p, 0.0) for p in self.member_list], dtype=np.float64))
        return self._faces[1]

    def best(self, catalog, records: Mapping[int, object], kind: str = "personal") -> np.ndarray:
        """The best photo id of each stack (as :func:`best_of_stacks`) from the records' scores and stars
        (``KeyError`` when a member is not in ``records``)."""
        if not self.stacks:
            return np.zeros(0, dtype=np.int64)
        recs = [records[p] for p in self.member_list]
        if kind == "personal":
            score = _scores([r.generic if (v := r.personal) is None else v for r in recs])
        else:
            score = _scores([r.generic for r in recs])
        rating = np.array([r.rating or 0 for r in recs], dtype=np.float64)
        face = self.faces(catalog)
        # the same order as _rank_key's tuples, ranked together: the last of each stack in a lexsort is its best
        order = np.lexsort((-self.members, self.sharpness, rating, score, -face, self.group))
        last = np.r_[np.flatnonzero(np.diff(self.group[order])), len(order) - 1]
        return self.members[order[last]]

    def collapse(self, ids: Sequence[int], best: Sequence[int], expanded: Iterable[int] = ()) -> list[int]:
        """:func:`collapse_ids` of these stacks."""
        if not len(self.members):
            return list(ids)
        return self.collapse_array(np.fromiter(ids, dtype=np.int64, count=len(ids)), best, expanded).tolist()

    def collapse_array(self, ids: np.ndarray, best: Sequence[int], expanded: Iterable[int] = ()) -> np.ndarray:
        """:meth:`collapse` of ids as an int64 array (returned as one)."""
        best = np.asarray(best, dtype=np.int64)
        hide = self.members != best[self.group] if len(best) else np.zeros(0, dtype=bool)
        open_ = np.fromiter((int(k) for k in expanded), dtype=np.int64)
        if len(open_):
            hide &= ~np.isin(self.group, open_)
        return _without(ids, self.members[hide])


def _without(ids: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """``ids`` (int64) less ``hidden`` (int64), in order: one lookup in an id table."""
    if not len(hidden):
        return ids
    from piaa_desktop.core.library import id_table, in_id_table

    table = id_table(hidden)
    return ids[~(in_id_table(table, ids) if table is not None else np.isin(ids, hidden))]


class PhotoSet:
    """Which photos a grid showed (its ids, without their order), to know the same photos again cheaply: the
    grid keeps its stacks while it shows the same photos, and checks at every refresh (100,000 ids: ~0.5 ms
    with an id table, where sorting them took ~8 ms)."""

    def __init__(self, ids: np.ndarray):
        from piaa_desktop.core.library import id_table

        self.n = len(ids)
        self.table = id_table(ids)
        self.sorted = np.sort(ids) if self.table is None else None

    def same(self, ids: np.ndarray) -> bool:
        """Whether ``ids`` (int64, each once, as a grid's) are these photos."""
        from piaa_desktop.core.library import in_id_table

        if len(ids) != self.n:
            return False
        if self.table is None:
            return bool(np.array_equal(self.sorted, np.sort(ids)))
        return bool(in_id_table(self.table, ids).all())


def stack_ranking(catalog, stacks: Sequence[Sequence[int]]) -> StackRanking:
    """:class:`StackRanking` of ``stacks`` with their members' sharpness and faces penalty read from the catalog."""
    members = [int(p) for s in stacks for p in s]
    ranking = StackRanking(stacks, catalog.signal_values("sharpness", members))
    ranking.faces(catalog)  # read here (the worker), not at the grid's first ranking
    return ranking


def best_of_stacks(catalog, stacks: Sequence[Sequence[int]], kind: str = "personal",
                   records: Optional[Mapping[int, object]] = None,
                   signals: Optional[Mapping[int, dict]] = None) -> list[int]:
    """The best photo id of each stack (same order): fewest closed eyes and soft faces (when the faces pass
    ran), then highest personal score (generic without a personal model; ``kind='generic'`` forces
    generic), then most stars, then sharpest, then the earliest id.

    ``records`` ({photo id: record with ``personal``, ``generic``, ``rating``}, the grid's, kept current by
    catalog changes): scores and stars from them and only the members' signals from the catalog, instead of
    every score and signal of the library and one query per stack (the grid keeps a :class:`StackRanking`
    instead and ranks with it). ``signals``: {photo id: {"sharpness": ...}} of the members, kept by the caller."""
    if records is not None and all(i in records for s in stacks for i in s):
        if not stacks:
            return []
        if signals is None:
            ranking = stack_ranking(catalog, stacks)
        else:
            ranking = StackRanking(stacks, np.array(
                [(signals.get(p) or {}).get("sharpness") for s in stacks for p in s], dtype=np.float64))
        return ranking.best(catalog, records, kind).tolist()
    key = _rank_key(catalog, kind)
    out = []
    for s in stacks:
        photos = [p for p in catalog.photos(list(s), include_missing=True)]
        out.append(max(photos, key=key).id if photos else s[0])
    return out


def stack_index(stacks: Sequence[Sequence[int]]) -> dict[int, tuple[int, int]]:
    """Photo id -> (stack number, stack size), for badges such as "3" on a collapsed stack."""
    return {pid: (k, len(s)) for k, s in enumerate(stacks) for pid in s}


def collapse_ids(
    ids: Sequence[int], stacks: Sequence[Sequence[int]], best: Sequence[int], expanded: Iterable[int] = ()
) -> list[int]:
    """The grid's ids with every stack reduced to its best member (at the best member's place).

    Stacks whose number is in ``expanded`` show all their members.
    """
    expanded = set(expanded)
    hidden = [p for k, (s, b) in enumerate(zip(stacks, best)) if k not in expanded for p in s if p != b]
    if not hidden:
        return list(ids)
    return _without(np.fromiter(ids, dtype=np.int64, count=len(ids)), np.array(hidden, dtype=np.int64)).tolist()


def keep_best_of_each_stack(
    catalog,
    stacks: Optional[Sequence[Sequence[int]]] = None,
    undo_stack=None,
    kind: str = "personal",
    records: Optional[Mapping[int, object]] = None,
    **find_kwargs,
) -> list[Change]:
    """Pick the best photo of each stack and reject the others, as one undoable change.

    If the user already picked photos in a stack, those are the keepers and only the unpicked ones are
    rejected. Returns ``[change]`` (pushed on ``undo_stack`` when given), or ``[]`` with no stacks.
    ``records`` (the window's {photo id: record}, kept current by catalog changes; on the worker that writes it):
    the stacks are found among them from their capture times, ranked from their scores and stars, and their flags
    read from them, instead of every photo row read from the catalog twice (100,000 photos: the Python objects
    of those reads held the interpreter lock against the GUI thread)."""
    if stacks is None:
        if records is not None and "timestamps" not in find_kwargs and not find_kwargs.get("mtime_fallback"):
            find_kwargs["timestamps"] = timestamps_of(list(records.values()))
        stacks = find_stacks(catalog, **find_kwargs)
    stacks = [list(s) for s in stacks if len(s) >= 2]
    if not stacks:
        return []
    best = best_of_stacks(catalog, stacks, kind, records=records)
    members = {i for s in stacks for i in s}
    if records is not None and all(i in records for i in members):
        flags = {i: records[i].flag for i in members}
    else:
        flags = {p.id: p.flag for p in catalog.photos(include_missing=True) if p.id in members}
    after: dict[int, int] = {}
    for s, b in zip(stacks, best):
        keepers = {p for p in s if flags.get(p) == 1} or {b}
        for p in s:
            after[p] = 1 if p in keepers else -1
    change = catalog.apply_change(Change("flag", "flag", list(after), after=after))
    if undo_stack is not None:
        undo_stack.push(change)
    return [change]
