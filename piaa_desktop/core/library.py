"""The library view of the catalog: records, sort orders and filters, in one place for the grid, the
CLI (``piaa score``), export and everything else that lists photos in an order.

* :class:`PhotoRecord` is what a list of photos needs about one photo; :func:`load_records` reads them
  all in bulk (the SQL lives in :meth:`Catalog.record_rows`).
* :data:`SORTS` names the sort orders (key -> label); :func:`sort_key` is the one definition of each.
* :data:`FLAG_FILTERS` and :data:`RATING_FILTERS` are the filters the grid offers;
  :func:`query_ids` sorts and filters, from records in memory or read for the call.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

from piaa_desktop.core.flags import FLAG_LABELS

# key -> label, in the order the grid offers them ("added" is for scripts: import order)
SORTS: dict[str, str] = {
    "capture_time": "Capture time",
    "generic": "Generic score",
    "personal": "Personal score",
    "rating": "Rating",
    "name": "File name",
    "added": "Import order",
}
GRID_SORTS = ("capture_time", "generic", "personal", "rating", "name")

# key -> (label, flag value, include_rejected); "tech:<flag>" filters on a technical problem (core.flags)
FLAG_FILTERS: dict[str, tuple[str, Optional[int], bool]] = {
    "all": ("All photos", None, True),
    "picked": ("Picks", 1, True),
    "unflagged": ("Unflagged", 0, True),
    "rejected": ("Rejects", -1, True),
    "not_rejected": ("Hide rejects", None, False),
    **{f"tech:{name}": (label, None, True) for name, label in FLAG_LABELS.items()},
    # faces and eyes (core.faces; the faces pass runs after import): "faces:<kind>" of Catalog.FACE_FILTERS
    "faces:closed": ("Closed eyes", None, True),
    "faces:soft": ("Soft faces", None, True),
    "faces:none": ("No faces", None, True),
}
RATING_FILTERS = ((0, "Any rating"), (1, "★ and up"), (2, "★★ and up"), (3, "★★★ and up"),
                  (4, "★★★★ and up"), (5, "★★★★★"))


@dataclass(slots=True)
class PhotoRecord:
    """What the grid, the loupe and the badges need about one photo (no EXIF: the side panel reads that)."""

    id: int
    path: str
    name: str
    content_hash: str
    folder_id: int
    rating: int
    flag: int
    color_label: Optional[str]
    width: Optional[int]
    height: Optional[int]
    capture_time: Optional[str]
    generic: Optional[float] = None
    personal: Optional[float] = None
    edit: Optional[dict] = None  # develop settings (None: unedited); thumbnails and the loupe render them


SCORE_KINDS = ("generic", "personal")  # the scores a record carries (attributes of PhotoRecord)


class ScoreMap(dict):
    """``{photo id: score}`` of one kind, with the same pairs as two numpy arrays (:attr:`arrays`: ids, scores),
    made where the scores were read (a job's worker): the window's sort column of the kind is then made from
    them (:meth:`SortColumns.put_scores`) without a pass over 100,000 Python objects on the GUI thread."""

    def __init__(self, pairs=()):
        import numpy as np

        super().__init__(pairs)
        n = len(self)
        self.arrays = (np.fromiter(self.keys(), np.int64, n), np.fromiter(self.values(), np.float64, n))
        self.records_set = None  # the window's records dict already given these scores (on the job's worker)


def score_maps(catalog, kinds: Sequence[str] = SCORE_KINDS) -> dict[str, ScoreMap]:
    """The scores of ``kinds`` (every kind by default) as ``{kind: ScoreMap}``: what a job reads on its worker so
    the window only puts them into its records (``refresh_scores``)."""
    return {kind: ScoreMap(catalog.scores(kind)) for kind in kinds}


def load_records(catalog) -> dict[int, PhotoRecord]:
    """Every present photo as a record, with its scores and edits: four bulk queries, whatever the
    library size."""
    base = os.path.basename if os.altsep else lambda p: p[p.rfind(os.sep) + 1:]  # the same name, 2x faster
    recs = {
        r[0]: PhotoRecord(r[0], r[1], base(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9])
        for r in catalog.record_rows()
    }
    for kind in SCORE_KINDS:
        for pid, score in catalog.scores(kind).items():
            rec = recs.get(pid)
            if rec is not None:
                setattr(rec, kind, score)
    for pid, params in catalog.edits().items():
        rec = recs.get(pid)
        if rec is not None:
            rec.edit = params
    return recs


def read_library(catalog, previous: Optional[dict[int, PhotoRecord]] = None) -> tuple[dict[int, PhotoRecord], list[int]]:
    """Every record (:func:`load_records`), and the ids of the photos in ``previous`` whose file content
    changed since (their thumbnails are stale): what a window's reload reads on a worker."""
    records = load_records(catalog)
    SortColumns.warm(records)  # the capture-time order, here rather than on the GUI thread
    return records, changed_files(previous, records)


def changed_files(previous: Optional[dict[int, PhotoRecord]], records: dict[int, PhotoRecord]) -> list[int]:
    """The ids of the photos in both whose file content changed (their thumbnails are stale)."""
    if not previous or records is previous:
        return []
    return [pid for pid, r in records.items() if (o := previous.get(pid)) is not None and o.content_hash != r.content_hash]


def dir_counts(records: dict[int, PhotoRecord]) -> "Counter[str]":
    """How many photos each directory holds directly ({``os.path.dirname(path)``: count}). Counted per
    directory string, not per path: 100,000 photos in a few hundred folders take ~20 ms instead of the
    ~450 ms of ``dirname`` on every path."""
    from collections import Counter

    if os.altsep:  # two separators (Windows): dirname of every path
        return Counter(os.path.dirname(r.path) for r in records.values())
    heads = Counter(r.path[: r.path.rfind(os.sep) + 1] for r in records.values())
    per_dir: Counter[str] = Counter()
    for head, n in heads.items():
        per_dir[os.path.dirname(head)] += n
    return per_dir


def sort_key(sort: str):
    """The key that orders records for ``sort`` (a key of :data:`SORTS`): the one definition of each
    sort order, used by the grid, ``piaa score``, export and every other sorted list of photos."""
    if sort == "capture_time":
        return lambda r: (r.capture_time or "", r.path)
    if sort == "name":
        return lambda r: r.path
    if sort == "rating":
        return lambda r: (-r.rating, r.capture_time or "", r.path)
    if sort == "generic":
        return lambda r: (r.generic is None, -(r.generic or 0.0), r.id)
    if sort == "personal":
        def key(r):
            s = r.personal if r.personal is not None else r.generic
            return (s is None, -(s or 0.0), r.id)
        return key
    if sort == "added":
        return lambda r: r.id
    raise ValueError(f"unknown sort {sort!r}")


def sort_and_filter(
    records: dict[int, PhotoRecord],
    sort: str,
    folder_id: Optional[int] = None,
    min_rating: int = 0,
    flag: Optional[int] = None,
    include_rejected: bool = True,
    version: Optional[int] = None,
    as_array: bool = False,
) -> list[int]:
    """The ids of the records that pass the filters, sorted (100,000 photos take tens of milliseconds); an
    int64 numpy array with ``as_array``.

    ``version`` (a number the caller changes whenever a record's stars, flag or scores change, as the
    window does on every catalog change, or ``{field: number}`` changed per field) lets the columns of ``records`` be kept between calls
    (:class:`SortColumns`): a sort switch or F5 at 100,000 photos then costs ~15 ms instead of ~100."""
    if version is not None and len(records) >= 2:
        return SortColumns.of(records).order(sort, version, folder_id, min_rating, flag, include_rejected, as_array)
    recs = [
        r for r in records.values()
        if (folder_id is None or r.folder_id == folder_id)
        and r.rating >= min_rating
        and (r.flag == flag if flag is not None else (include_rejected or r.flag >= 0))
    ]
    order = _fast_order(recs, sort)
    if order is None:
        recs.sort(key=sort_key(sort))
        order = [r.id for r in recs]
    if as_array:
        import numpy as np

        return np.array(order, np.int64)
    return order


def _fast_order(recs: list[PhotoRecord], sort: str) -> Optional[list[int]]:
    """The ids of ``recs`` in :func:`sort_key`'s order for the sorts whose keys are numbers (scores, stars),
    by one numpy lexsort over the same key columns (the ids or paths end every key, so the order is total and
    both give the same list; tests/test_library_sort.py compares them): Python's sort compares 100,000 key tuples of
    random floats in 0.2-0.35 s on the GUI thread, the lexsort takes milliseconds. None for the other sorts."""
    if sort not in ("generic", "personal", "rating") or len(recs) < 2:
        return None
    import numpy as np

    n = len(recs)
    ids = np.fromiter((r.id for r in recs), np.int64, n)
    if sort == "rating":
        # (-rating, capture_time or "", path)
        cols = (np.array([r.path for r in recs]), np.array([r.capture_time or "" for r in recs]),
                -np.fromiter((r.rating for r in recs), np.int64, n))
    else:
        vals = [r.generic for r in recs] if sort == "generic" else [
            r.personal if r.personal is not None else r.generic for r in recs]
        # (s is None, -(s or 0.0), id)
        cols = (ids, -np.fromiter((v or 0.0 for v in vals), np.float64, n),
                np.fromiter((v is None for v in vals), bool, n))
    return ids[np.lexsort(cols)].tolist()


class SortColumns:
    """The columns of one dict of records that sorting and filtering read, as numpy arrays.

    Two parts, kept apart by how long they hold:

    * what a record keeps as long as the dict lives (its id, folder, and the capture-time and file-name
      orders, whose string keys cost ~70 ms to sort at 100,000 photos; the folder tree's counts; a reload
      makes a new dict): built once per dict, on the worker that read the records when it calls :meth:`warm`;
    * what catalog changes update (stars, flag, the two scores): read again from the records when the
      caller's ``version`` changes (~20 ms at 100,000).

    The orders are exactly :func:`sort_key`'s (tests/test_library_sort.py compares them)."""

    _cache: "dict[int, tuple[dict, SortColumns]]" = {}  # id(records) -> (records, columns); the last two dicts

    def __init__(self, records: dict[int, PhotoRecord]):
        import numpy as np

        self.records = records
        self.recs = list(records.values())
        n = len(self.recs)
        self.n = n
        self.ids = np.fromiter((r.id for r in self.recs), np.int64, n)
        self.folder = np.fromiter((-1 if r.folder_id is None else r.folder_id for r in self.recs), np.int64, n)
        self._orders: dict[str, object] = {}
        self._dynamic: dict[str, tuple] = {}  # name -> (version, column)
        self._pos = None  # photo id -> index in recs (-1: none), made on the first patch (_positions)

    @classmethod
    def of(cls, records: dict[int, PhotoRecord]) -> "SortColumns":
        entry = cls._cache.get(id(records))
        if entry is not None and entry[0] is records and entry[1].n == len(records):
            return entry[1]
        cols = cls(records)
        cache = dict(cls._cache)  # replaced whole: a worker warming a new dict and the GUI thread never clash
        cache[id(records)] = (records, cols)
        while len(cache) > 2:
            cache.pop(next(iter(cache)))
        cls._cache = cache
        return cols

    @classmethod
    def kept(cls, records: dict[int, PhotoRecord]) -> "Optional[SortColumns]":
        """The columns kept for ``records`` (None if none were made: nothing to keep current)."""
        entry = cls._cache.get(id(records))
        if entry is not None and entry[0] is records and entry[1].n == len(records):
            return entry[1]
        return None

    def dir_counts(self) -> "Counter[str]":
        """:func:`dir_counts` of the records, kept with them (the folder tree asks after every refresh)."""
        got = self._orders.get("dir_counts")
        if got is None:
            if os.altsep:  # two separators (Windows): dirname of every path, as dir_counts does
                got = dir_counts(self.records)
            else:  # from the directories kept for in_folder (built once for both)
                import numpy as np
                from collections import Counter

                heads, at = self._dirs()
                got = Counter()
                for head, n in zip(heads, np.bincount(at, minlength=len(heads)).tolist()):
                    got[os.path.dirname(head)] += n
            self._orders["dir_counts"] = got
        return got

    def _dirs(self):
        """(the records' directory heads "dir/" in first-seen order, each record's index into them), kept."""
        got = self._orders.get("dirs")
        if got is None:
            import numpy as np

            heads: dict[str, int] = {}  # "dir/" -> index: a path starts with "folder/" iff its head does
            at = np.fromiter((heads.setdefault(r.path[: r.path.rfind(os.sep) + 1], len(heads)) for r in self.recs),
                             np.int64, self.n)
            got = self._orders["dirs"] = (list(heads), at)
        return got

    def in_folder(self, folder: str):
        """The ids (int64 array) of the records in ``folder`` or any folder below it: what the library tree's
        folder shows. Each record's directory is looked up once per set of records (kept with them); a folder
        then takes one test per directory, not a ``startswith`` per photo (100,000 photos: ~70 -> ~3 ms on the
        GUI thread at each refresh while a folder is chosen, benchmarks/gui_actions.py); the directories are
        found once with the tree's :meth:`dir_counts`."""
        import numpy as np

        heads_list, at = self._dirs()
        pre = folder.rstrip(os.sep) + os.sep
        hit = np.fromiter((h.startswith(pre) for h in heads_list), bool, len(heads_list))
        return self.ids[hit[at]] if len(heads_list) else self.ids[:0]

    @classmethod
    def warm(cls, records: dict[int, PhotoRecord], sorts: Sequence[str] = ("capture_time",)) -> None:
        """Build the lasting columns (and the string orders of ``sorts``) ahead, e.g. on the worker that read
        the records, so the first sort on the GUI thread does not."""
        if len(records) >= 2:
            cols = cls.of(records)
            for sort in sorts:
                cols._static_order(sort)
            cols.dir_counts()  # and each record's directory, for the library tree's folders (in_folder)

    def _static_order(self, sort: str):
        import numpy as np

        got = self._orders.get(sort)
        if got is None:
            if sort == "added":
                got = np.argsort(self.ids, kind="stable")
            else:
                key = sort_key(sort)
                recs = self.recs
                got = np.array(sorted(range(self.n), key=lambda i: key(recs[i])), np.int64)
            self._orders[sort] = got
        return got

    def _column(self, name: str, version):
        """The ``name`` attribute of every record (stars, flag, a score; None -> nan), read again when
        ``version`` changed since it was read (an int for every column, or ``{name: int}`` per column): only
        the columns a call needs (~10 ms each at 100,000)."""
        import numpy as np

        if isinstance(version, Mapping):
            version = version.get(name, 0)
        got = self._dynamic.get(name)
        if got is None or got[0] != version:
            recs = self.recs  # plain attribute reads: a third faster than getattr at 100,000 records
            if name == "personal":
                col = np.array([r.personal for r in recs], np.float64)  # None -> nan
            elif name == "generic":
                col = np.array([r.generic for r in recs], np.float64)
            elif name == "rating":
                col = np.array([r.rating for r in recs], np.int64)
            elif name == "flag":
                col = np.array([r.flag for r in recs], np.int64)
            else:
                raise ValueError(f"no sort column {name!r}")
            got = (version, col)
            self._dynamic[name] = got
        return got[1]

    @staticmethod
    def _version_of(name: str, version):
        return version.get(name, 0) if isinstance(version, Mapping) else version

    def _positions(self, pids: Sequence[int]):
        """The indexes in :attr:`recs` of ``pids`` that have a record (None for ids unlike a catalog's)."""
        import numpy as np

        if self._pos is None:
            table = id_table(self.ids)
            if table is None:
                return None
            pos = np.full(len(table), -1, np.int64)
            pos[self.ids] = np.arange(self.n)
            self._pos = pos
        at = self._pos[np.clip(np.fromiter(pids, np.int64, len(pids)), -1, len(self._pos) - 1)]
        return at[at >= 0]

    def patch(self, name: str, pids: Sequence[int], was, version) -> bool:
        """Only the records ``pids`` changed their ``name`` field (stars, flag) since ``was``: the column read at
        ``was`` (if it is the one kept) is made current for ``version`` by re-reading theirs, not every record's
        (a rating in Rating order at 100,000 photos: ~10 ms of attribute reads saved). False if it was not kept."""
        import numpy as np

        got = self._dynamic.get(name)
        if got is None or got[0] != self._version_of(name, was) or name not in ("rating", "flag"):
            return False
        if len(pids) > max(1000, self.n // 4):
            return False  # most of the records: reading them all is as quick
        at = self._positions(pids)
        if at is None:
            return False
        col = got[1].copy()  # a caller may still hold the old one
        recs = self.recs
        col[at] = np.fromiter((getattr(recs[i], name) for i in at.tolist()), np.int64, len(at))
        self._dynamic[name] = (self._version_of(name, version), col)
        return True

    def put_scores(self, kind: str, scores: Mapping[int, float], version) -> bool:
        """Every record's ``kind`` score was just set from ``scores`` (:func:`put_scores`): its column for
        ``version``, made from the score arrays of a :class:`ScoreMap` (read on a worker) without reading 100,000
        records again. False (the column is read from the records when a sort needs it) for a plain mapping."""
        import numpy as np

        arrays = getattr(scores, "arrays", None)
        if kind not in SCORE_KINDS or arrays is None:
            return False
        sid, sval = arrays
        top = max(int(self.ids.max()) if self.n else -1, int(sid.max()) if len(sid) else -1)
        if top > 64 * max(self.n, len(sid)) + 1_000_000 or (self.n and self.ids.min() < 0) or (len(sid) and sid.min() < 0):
            return False  # ids unlike a catalog's: no table
        table = np.full(top + 1, np.nan)
        table[sid] = sval
        self._dynamic[kind] = (self._version_of(kind, version), table[self.ids])
        return True

    def order(self, sort: str, version: int, folder_id: Optional[int] = None, min_rating: int = 0,
              flag: Optional[int] = None, include_rejected: bool = True, as_array: bool = False):
        """The ids passing the filters, in ``sort`` order (as :func:`sort_and_filter`); an int64 array with
        ``as_array``."""
        import numpy as np

        if sort not in SORTS:
            raise ValueError(f"unknown sort {sort!r}")
        col = self._column
        if sort in ("capture_time", "name", "added"):
            perm = self._static_order(sort)
        elif sort == "rating":  # (-rating, capture time, path): stable by stars over the capture-time order
            by_time = self._static_order("capture_time")
            perm = by_time[np.argsort(-col("rating", version)[by_time], kind="stable")]
        else:  # (no score, -score, id)
            s = col("generic", version)
            if sort == "personal":
                personal = col("personal", version)
                s = np.where(np.isnan(personal), s, personal)
            perm = np.lexsort((self.ids, np.where(np.isnan(s), np.inf, -s)))
        keep = None
        if folder_id is not None:
            keep = self.folder == folder_id
        if min_rating > 0:
            rating = col("rating", version)
            keep = rating >= min_rating if keep is None else keep & (rating >= min_rating)
        if flag is not None or not include_rejected:
            flags = col("flag", version)
            f = flags == flag if flag is not None else flags >= 0
            keep = f if keep is None else keep & f
        if keep is not None:
            perm = perm[keep[perm]]
        ordered = self.ids[perm]
        return ordered if as_array else ordered.tolist()


def set_field(records: dict[int, PhotoRecord], field: str, ids: Sequence[int], after: Mapping[int, object]) -> None:
    """Write a catalog change's new values of ``field`` (rating, flag, colour label) into the records, without a
    per-photo lookup where one value was set for all (a whole shoot rated at once). The window's grid does it when
    a change is announced; a change of a whole library written on a worker does it there, after its commit
    (:class:`piaa_desktop.core.catalog.Change` ``records_set``), so the GUI thread does not spend ~50 ms on
    100,000 records (benchmarks/gui_actions.py, undo of a whole-library rating)."""
    one = set(after.values()) if len(after) == len(ids) else ()
    if len(one) == 1:  # one value for all (a rating of the selection): no lookup in ``after``
        value = next(iter(one))
        for rec in map(records.get, ids):
            if rec is not None:
                setattr(rec, field, value)
    elif len(after) == len(ids):  # a value for every photo (an undo): read in step, no lookups twice
        for rec, value in zip(map(records.get, ids), map(after.__getitem__, ids)):
            if rec is not None:
                setattr(rec, field, value)
    else:
        for pid, rec in zip(ids, map(records.get, ids)):
            if rec is not None and pid in after:
                setattr(rec, field, after[pid])


def put_scores(records: dict[int, PhotoRecord], kind: str, scores: Mapping[int, float]) -> None:
    """Every record's ``kind`` score (a kind of :data:`SCORE_KINDS`) from ``scores`` (None where absent)."""
    if kind not in SCORE_KINDS:
        raise ValueError(f"unknown score kind {kind!r}")
    get = scores.get
    if kind == "personal":  # plain attribute stores: 100,000 records in ~25 ms, half of setattr's time
        for pid, rec in records.items():
            rec.personal = get(pid)
    else:
        for pid, rec in records.items():
            rec.generic = get(pid)


def hold_order(shown: Sequence[int], fresh: Sequence[int]) -> list[int]:
    """The order of a culling pass that holds still: the photos on screen keep their places, those the
    filters now leave out go (a reject under "Hide rejects"), photos new to the view join at the end in
    ``fresh`` order. ``fresh`` (the sort and filters now) is what an explicit refresh would show."""
    if len(shown) + len(fresh) >= 4000:
        held = _hold_order_np(shown, fresh)
        if held is not None:
            return held
    wanted = set(fresh)
    kept = [i for i in shown if i in wanted]
    seen = set(kept)
    return kept + [i for i in fresh if i not in seen]


def id_table(ids):
    """Which photo ids are in ``ids`` (a sequence or an int64 array), as a boolean numpy table indexed by id, with one False entry past
    the largest (:func:`in_id_table` looks ids up in it). At 100,000 photos the membership of every id of a
    new order takes a few ms this way, where set or dict lookups of int objects in random order take
    50-100 ms. None for ids unlike a catalog's (negative, or so sparse that the table would be huge)."""
    import numpy as np

    keys = ids if isinstance(ids, np.ndarray) else np.fromiter(ids, np.int64, len(ids))
    top = int(keys.max()) if len(keys) else -1
    if len(keys) and (keys.min() < 0 or top > 64 * len(keys) + 1_000_000):
        return None
    table = np.zeros(top + 2, bool)
    table[keys] = True
    return table


def in_id_table(table, ids):
    """For each of ``ids`` (a sequence or an int64 array), whether ``table`` (:func:`id_table`) holds it."""
    import numpy as np

    want = ids if isinstance(ids, np.ndarray) else np.fromiter(ids, np.int64, len(ids))
    return table[np.clip(want, -1, len(table) - 1)]  # -1 and beyond the top: the last entry, always False


def same_photos(shown, fresh) -> bool:
    """Whether ``shown`` and ``fresh`` (int64 arrays of distinct photo ids, as the grid shows them) hold the
    same photos, in whatever order: then :func:`hold_order` keeps ``shown`` as it is (the rows do not move).
    A few ms at 100,000 photos."""
    if len(shown) != len(fresh):
        return False
    if not len(shown):
        return True
    table = id_table(fresh)
    if table is None:
        return set(shown.tolist()) == set(fresh.tolist())
    return bool(in_id_table(table, shown).all())


def _hold_order_np(shown: Sequence[int], fresh: Sequence[int]) -> Optional[list[int]]:
    """:func:`hold_order` by id tables (:func:`id_table`); None for ids unlike a catalog's."""
    import numpy as np

    b = np.fromiter(fresh, np.int64, len(fresh))
    in_fresh = id_table(b)
    if in_fresh is None:
        return None
    a = np.fromiter(shown, np.int64, len(shown))
    kept = a[in_id_table(in_fresh, a)]
    in_kept = np.zeros_like(in_fresh)  # kept is a part of fresh: the same table size
    in_kept[kept] = True
    return np.concatenate((kept, b[~in_kept[b]])).tolist()


def query_ids(
    catalog,
    sort: str = "capture_time",
    folder_id: Optional[int] = None,
    min_rating: int = 0,
    flag: Optional[int] = None,
    include_rejected: bool = True,
    technical: Optional[str] = None,
    records: Optional[dict[int, PhotoRecord]] = None,
    faces: Optional[str] = None,
    version: Optional[int] = None,
    as_array: bool = False,
) -> list[int]:
    """Present photos passing the filters, sorted by ``sort``. ``technical`` keeps only photos with that
    technical problem (a name of ``core.flags.FLAG_NAMES``); ``faces`` only photos with closed eyes, a soft
    face or no face (a key of ``Catalog.FACE_FILTERS``, from the current face models). ``records`` (already
    loaded) saves the read; ``version`` and ``as_array``: see :func:`sort_and_filter`."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; choose one of {', '.join(SORTS)}")
    if records is None:
        records = load_records(catalog)
    if technical is not None:
        from piaa_desktop.core.flags import flagged_ids

        keep = set(flagged_ids(catalog, technical, ids=list(records)))
        records = {pid: r for pid, r in records.items() if pid in keep}
    if faces is not None:
        from piaa_desktop.core.faces import model_signature

        keep = set(catalog.face_filter_ids(model_signature(), faces))
        records = {pid: r for pid, r in records.items() if pid in keep}
    narrowed = technical is not None or faces is not None  # a new dict each call: nothing to keep
    return sort_and_filter(records, sort, folder_id, min_rating, flag, include_rejected,
                           version=None if narrowed else version, as_array=as_array)
