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


def _timestamps(values: Sequence[Optional[str]]) -> list[Optional[float]]:
    """:func:`_timestamp` of each value; the plain ISO ones (``YYYY-MM-DDTHH:MM:SS``, what the scanner
    stores) parsed together by numpy (100,000 in 20 ms instead of 280 ms: collapsing stacks in the grid)."""
    out: list[Optional[float]] = [None] * len(values)
    fast_at, fast = [], []
    for k, s in enumerate(values):
        if (s and len(s) == 19 and s[4] == "-" and s[7] == "-" and s[10] in "T " and s[13] == ":"
                and s[16] == ":"):
            fast_at.append(k)
            fast.append(s)
        else:
            out[k] = _timestamp(s)
    if fast:
        try:
            secs = [float(v) for v in np.array(fast, dtype="datetime64[s]").astype(np.int64).tolist()]
        except ValueError:  # one impossible date (Feb 30) fails the array: each on its own
            secs = [_timestamp(s) for s in fast]
        for k, v in zip(fast_at, secs):
            out[k] = v
    return out


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
    for pid, vec in catalog.embeddings_of(key, ids).items():
        v = content_vectors(vec)
        n = float(np.linalg.norm(v))
        if n > 0 and np.isfinite(n):
            out[pid] = v / n
    return out


def find_stacks(
    catalog,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    max_dist: float = DEFAULT_MAX_DIST,
    ids: Optional[Iterable[int]] = None,
    mtime_fallback: bool = False,
    min_size: int = 2,
    capture_times: Optional[Mapping[int, Optional[str]]] = None,
) -> list[list[int]]:
    """Stacks (lists of photo ids in capture order, at least ``min_size`` photos), in capture order.

    ``capture_times`` ({photo id: capture time}, e.g. from the grid's records) are the photos to consider
    and their times, instead of every photo read from the catalog (5 s at 100,000 photos on the GUI thread
    when the grid collapses stacks, benchmarks/gui_actions.py); not with ``mtime_fallback``."""
    if capture_times is not None and not mtime_fallback:
        rows = [(int(pid), when, None) for pid, when in capture_times.items()]
    else:
        rows = [(p.id, p.capture_time, p.mtime) for p in catalog.photos()]
    if ids is not None:
        wanted = {int(i) for i in ids}
        rows = [r for r in rows if r[0] in wanted]  # no SQL variable limit for large selections
    timed: list[tuple[float, int]] = []
    for (pid, _when, mtime), t in zip(rows, _timestamps([r[1] for r in rows])):
        if t is None and mtime_fallback and mtime:
            t = float(mtime)
        if t is not None:
            timed.append((t, pid))
    timed.sort()
    # Only photos with a neighbour inside the time gap can stack: load just their embeddings.
    cand: set[int] = set()
    for (t0, a), (t1, b) in zip(timed, timed[1:]):
        if t1 - t0 <= max_gap_s:
            cand.update((a, b))
    vec = _vectors(catalog, sorted(cand))
    open_stacks: list[dict] = []  # {"ids": [...], "vecs": [...], "last": t}
    done: list[list[int]] = []
    for t, pid in timed:
        if pid not in cand:
            continue  # no photo within the time gap: it stacks with none (and closes no stack a later one needs)
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
    order = {pid: k for k, (_, pid) in enumerate(timed)}
    stacks.sort(key=lambda s: order[s[0]])
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


def best_of_stacks(catalog, stacks: Sequence[Sequence[int]], kind: str = "personal") -> list[int]:
    """The best photo id of each stack (same order): fewest closed eyes and soft faces (when the faces pass
    ran), then highest personal score (generic without a personal model; ``kind='generic'`` forces
    generic), then most stars, then sharpest, then the earliest id."""
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
    hidden: set[int] = set()
    for k, (s, b) in enumerate(zip(stacks, best)):
        if k not in expanded:
            hidden.update(p for p in s if p != b)
    return [i for i in ids if i not in hidden]


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
