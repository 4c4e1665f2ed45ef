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
from typing import Optional, Sequence

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


def score_maps(catalog) -> dict[str, dict[int, float]]:
    """Every score by kind ({kind: {photo id: score}}): what a job reads on its worker so the window only puts
    them into its records (``refresh_scores``)."""
    return {kind: catalog.scores(kind) for kind in SCORE_KINDS}


def load_records(catalog) -> dict[int, PhotoRecord]:
    """Every present photo as a record, with its scores and edits: four bulk queries, whatever the
    library size."""
    recs = {
        r[0]: PhotoRecord(r[0], r[1], os.path.basename(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9])
        for r in catalog.record_rows()
    }
    for kind, scores in score_maps(catalog).items():
        for pid, score in scores.items():
            rec = recs.get(pid)
            if rec is not None:
                setattr(rec, kind, score)
    for pid, params in catalog.edits().items():
        rec = recs.get(pid)
        if rec is not None:
            rec.edit = params
    return recs


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
) -> list[int]:
    """The ids of the records that pass the filters, sorted (100,000 photos take tens of milliseconds)."""
    recs = [
        r for r in records.values()
        if (folder_id is None or r.folder_id == folder_id)
        and r.rating >= min_rating
        and (r.flag == flag if flag is not None else (include_rejected or r.flag >= 0))
    ]
    order = _fast_order(recs, sort)
    if order is not None:
        return order
    recs.sort(key=sort_key(sort))
    return [r.id for r in recs]


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


def hold_order(shown: Sequence[int], fresh: Sequence[int]) -> list[int]:
    """The order of a culling pass that holds still: the photos on screen keep their places, those the
    filters now leave out go (a reject under "Hide rejects"), photos new to the view join at the end in
    ``fresh`` order. ``fresh`` (the sort and filters now) is what an explicit refresh would show."""
    wanted = set(fresh)
    kept = [i for i in shown if i in wanted]
    seen = set(kept)
    return kept + [i for i in fresh if i not in seen]


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
) -> list[int]:
    """Present photos passing the filters, sorted by ``sort``. ``technical`` keeps only photos with that
    technical problem (a name of ``core.flags.FLAG_NAMES``); ``faces`` only photos with closed eyes, a soft
    face or no face (a key of ``Catalog.FACE_FILTERS``, from the current face models). ``records`` (already
    loaded) saves the read."""
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
    return sort_and_filter(records, sort, folder_id, min_rating, flag, include_rejected)
