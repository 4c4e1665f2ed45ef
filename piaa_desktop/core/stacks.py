"""Burst and near-duplicate stacks: photos taken seconds apart that look the same.

A *stack* is a set of photos whose capture times chain within ``max_gap_s`` seconds of each other and
whose backbone embeddings are within ``max_dist`` cosine distance (1 - cos) of a member already in the
stack. Photos are visited in capture order; each joins the closest open stack (one whose latest photo is
within the time gap) when close enough, otherwise it opens a new one, so a stranger walking through a
burst does not split it. Photos without a capture time (or without an embedding) are never stacked,
unless ``mtime_fallback`` uses the file time instead (unsafe after a copy that reset file times).

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


def _timestamp_array(values: Sequence[Optional[str]]) -> np.ndarray:
    """:func:`_timestamp` of each value as float64 seconds (NaN: none). The plain ISO ones
    (``YYYY-MM-DDTHH:MM:SS``, what the scanner stores) are read digit by digit as arrays (100,000 in ~50 ms
    instead of 280 ms: collapsing stacks in the grid, benchmarks/gui_actions.py); the others, and plain ones
    that are no real date (Feb 30, 24:00), one by one."""
    n = len(values)
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


def _vectors(catalog, ids: Sequence[int]) -> dict[int, np.ndarray]:
    """Embeddings of ``ids`` only (a library's full matrix can be large), as unit float32 vectors."""
    from piaa_desktop.core.embeddings import embedding_key
    from piaa_desktop.core.models import ModelError

    out: dict[int, np.ndarray] = {}
    ids = list(ids)
    try:
        key = embedding_key()  # only the current backbone's vectors: another model's are not comparable
    except ModelError:
        return out
    got = catalog.embeddings_of(key, ids)
    if not got:
        return out
    pids = [p for p in got if np.shape(got[p]) == np.shape(next(iter(got.values())))]  # a damaged row: left out
    # one matrix, not one small array per photo (10,000 burst frames: 0.5 s -> ~0.1 s on the GUI thread)
    head = content_vectors(np.stack([got[p] for p in pids]))
    norms = np.linalg.norm(head, axis=1)
    ok = (norms > 0) & np.isfinite(norms)
    unit = head / np.where(ok, norms, 1.0)[:, None]
    for k in np.flatnonzero(ok).tolist():
        out[pids[k]] = unit[k]
    return out


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
    timed: list[tuple[float, int]] = list(zip(ts[is_cand].tolist(), pids[is_cand].tolist()))
    cand: set[int] = {pid for _t, pid in timed}
    vec = _vectors(catalog, sorted(cand))
    open_stacks: list[dict] = []  # {"ids": [...], "vecs": [...], "last": t}
    done: list[list[int]] = []
    for t, pid in timed:  # the others stack with none (and close no stack a later photo needs)
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
    stacks = [s for s in done if len(s) >= max(2, min_size)]
    rank = {pid: k for k, (_, pid) in enumerate(timed)}
    stacks.sort(key=lambda s: rank[s[0]])
    return stacks


def _faces_by_photo(catalog) -> dict[int, float]:
    """Photo id -> face penalty (closed eyes, soft faces) from the current face models; {} when none ran."""
    try:
        from piaa_desktop.core.faces import keep_best_penalty, model_signature

        rows = catalog.faces(model_signature())
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


def stack_signals(catalog, stacks: Sequence[Sequence[int]]) -> dict[int, dict]:
    """The pixel signals of the stacks' members (for :func:`best_of_stacks`), in chunks of 900 ids."""
    members = [int(i) for s in stacks for i in s]
    out: dict[int, dict] = {}
    for k in range(0, len(members), 900):
        out.update(catalog.signals(members[k:k + 900]))
    return out


def best_of_stacks(catalog, stacks: Sequence[Sequence[int]], kind: str = "personal",
                   records: Optional[Mapping[int, object]] = None,
                   signals: Optional[Mapping[int, dict]] = None) -> list[int]:
    """The best photo id of each stack (same order): fewest closed eyes and soft faces (when the faces pass
    ran), then highest personal score (generic without a personal model; ``kind='generic'`` forces
    generic), then most stars, then sharpest, then the earliest id.

    ``records`` ({photo id: record with ``personal``, ``generic``, ``rating``}, the grid's, kept current by
    catalog changes): scores and stars from them and only the members' signals from the catalog, instead of
    every score and signal of the library and one query per stack (the grid re-ranks its stacks at every
    refresh while they are collapsed: seconds at 100,000 photos with bursts, benchmarks/gui_actions.py).
    ``signals``: the members' (:func:`stack_signals`), kept by the caller."""
    if records is not None and all(i in records for s in stacks for i in s):
        if signals is None:
            signals = stack_signals(catalog, stacks)
        faces = _faces_by_photo(catalog)
        if not stacks:
            return []
        # the same order as _rank_key's tuples, ranked together: the last of each stack in a lexsort is its best
        members = [int(p) for st in stacks for p in st]
        recs = [records[p] for p in members]

        def col(values) -> np.ndarray:
            a = np.array([-math.inf if v is None else v for v in values], dtype=np.float64)
            a[np.isnan(a)] = -math.inf
            return a

        score = col([r.personal if kind == "personal" and r.personal is not None else r.generic for r in recs])
        sharp = col([(signals.get(p) or {}).get("sharpness") for p in members])
        rating = np.array([r.rating or 0 for r in recs], dtype=np.float64)
        face = np.array([faces.get(p, 0.0) for p in members], dtype=np.float64)
        pid = np.array(members, dtype=np.int64)
        group = np.repeat(np.arange(len(stacks)), [len(st) for st in stacks])
        order = np.lexsort((-pid, sharp, rating, score, -face, group))
        last = np.r_[np.flatnonzero(np.diff(group[order])), len(order) - 1]
        return pid[order[last]].tolist()
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
    arr = np.fromiter(ids, dtype=np.int64, count=len(ids))  # 100,000 ids: a membership test in numpy
    return arr[~np.isin(arr, np.array(hidden, dtype=np.int64))].tolist()


def keep_best_of_each_stack(
    catalog,
    stacks: Optional[Sequence[Sequence[int]]] = None,
    undo_stack=None,
    kind: str = "personal",
    **find_kwargs,
) -> list[Change]:
    """Pick the best photo of each stack and reject the others, as one undoable change.

    If the user already picked photos in a stack, those are the keepers and only the unpicked ones are
    rejected. Returns ``[change]`` (pushed on ``undo_stack`` when given), or ``[]`` with no stacks.
    """
    if stacks is None:
        stacks = find_stacks(catalog, **find_kwargs)
    stacks = [list(s) for s in stacks if len(s) >= 2]
    if not stacks:
        return []
    best = best_of_stacks(catalog, stacks, kind)
    members = {i for s in stacks for i in s}
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
