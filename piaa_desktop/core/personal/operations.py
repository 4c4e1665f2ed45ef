"""Catalog-level jobs of the personal aesthetic score (run them on a worker thread).

* :func:`personalize` adapts a personal head from the prior on the catalog's star ratings and
  pairwise preferences, stores it as a new version in ``personal_models`` (the previous versions stay,
  one is active), and writes ``scores`` of kind ``personal`` (stars + 1-5 distribution) for every photo
  with a cached embedding. A head with non-finite parameters is rejected and the active one kept.
* :func:`reset_to_prior` deactivates every personal version and scores the library with the prior.
* :func:`rescore` re-scores the library with the active version (after a scan added photos).
* :func:`next_pairs` picks the next "which do you prefer?" pairs (core.personal.active);
  :func:`record_order` stores a drag-to-reorder of a small set as preferences;
  :func:`running_check` predicts each answer before it is learned from (the ranking view's honest count).
* :func:`explain` lists the attributes that push a photo's personal score up or down.

All are plain functions ``f(catalog, ..., progress=None, cancel=None)``; they never import torch:
adaptation is a few milliseconds of numpy, so re-training after every answer is cheap.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from piaa_desktop.core.blas import one_blas_thread
from piaa_desktop.core.catalog import SIGNAL_COLUMNS
from piaa_desktop.core.jobs import ensure
from piaa_desktop.core.personal import active as _active
from piaa_desktop.core.personal import confidence
from piaa_desktop.core.personal.adapt import personal_head
from piaa_desktop.core.personal.metrics import srocc
from piaa_desktop.core.personal.heads import Head, Prior, expected_stars, load_prior, score_features, star_distribution

MODEL_KIND = "aesthetic"
SCORE_KIND = "personal"
def _embedding_key() -> str:
    """The current backbone's key (name + file hash): embeddings of any other model are ignored."""
    from piaa_desktop.core.embeddings import embedding_key
    from piaa_desktop.core.models import ModelError

    try:
        return embedding_key()
    except ModelError as exc:
        raise PersonalError(f"no usable backbone model: {exc}") from exc
EMBEDDING_LABEL = "content & style (embedding)"


class PersonalError(RuntimeError):
    """A personalisation that cannot run (no embeddings, no feedback, no prior)."""


@dataclass
class PersonalizeResult:
    accepted: bool
    model_id: Optional[int]
    version: str
    n_ratings: int
    n_preferences: int
    n_scored: int
    metrics: dict = field(default_factory=dict)
    message: str = ""


@dataclass
class _Library:
    ids: np.ndarray  # ascending
    feats: np.ndarray  # (N, prior.dim) phi rows, read from the catalog (library_features)

    @property
    def row(self) -> dict:
        """photo id -> row of :attr:`feats` (built on first use)."""
        if "_row" not in self.__dict__:
            self.__dict__["_row"] = {int(i): k for k, i in enumerate(self.ids.tolist())}
        return self.__dict__["_row"]

    def rows_of(self, ids) -> tuple[np.ndarray, np.ndarray]:
        """(rows of :attr:`feats`, mask of ``ids`` found) for these photo ids, without a per-photo dict."""
        ids = np.asarray(list(ids), np.int64)
        if len(self.ids) == 0 or len(ids) == 0:
            return np.zeros(0, np.int64), np.zeros(len(ids), bool)
        pos = np.clip(np.searchsorted(self.ids, ids), 0, len(self.ids) - 1)
        hit = self.ids[pos] == ids
        return pos[hit], hit


def column_signature(prior: Prior, emb_key: str) -> str:
    """The catalog key of the prior's generic MLP column: a hash of the MLP's weights and the backbone
    key (name + file hash), so values of another prior or backbone are never read back."""
    import hashlib

    t = prior.transform
    arrays = (t.emb_mean, t.mlp_w1, t.mlp_b1, t.mlp_w2, t.mlp_b2, t.mlp_lin)
    memo = t.__dict__.setdefault("_column_signatures", {})  # hashing the weights once per transform and key
    ident = (emb_key, tuple(id(a) for a in arrays))
    if ident not in memo:
        h = hashlib.sha256(emb_key.encode())
        for a in arrays:
            if a is not None:
                h.update(np.ascontiguousarray(a, np.float32).tobytes())
        memo[ident] = "generic-mlp@" + h.hexdigest()[:16]
    return memo[ident]


FEATURE_CHUNK = 4096  # photos per pass when rows must be computed (bounded memory, a short write lock)


def _compute_features(catalog, prior: Prior, key: str, pids: list[int], store: bool,
                      known_cols=None) -> tuple[np.ndarray, np.ndarray]:
    """(ids, phi rows) of these photos computed from their stored embeddings (those that have one of the
    backbone ``key``), stored under :func:`feature_signature` (``store``)."""
    import sqlite3

    from piaa_desktop.core.catalog import CatalogError

    vecs = catalog.embeddings_with_hash(key, pids)
    pids = [int(p) for p in pids if int(p) in vecs and len(vecs[int(p)][1]) == prior.transform.emb_mean.shape[0]]
    if not pids:
        return np.zeros(0, np.int64), np.zeros((0, prior.dim), np.float32)
    arr = np.asarray(pids, np.int64)
    emb = np.stack([vecs[p][1] for p in pids]).astype(np.float32)
    col = generic_column(catalog, prior, arr, emb, key, store=store, known=known_cols)
    part = prior.transform.embedding_part(emb, col)
    if store:
        try:
            got, rows = catalog.set_taste_features(feature_signature(prior, key), key,
                                                   zip(pids, [vecs[p][0] for p in pids], part),
                                                   prior.transform.signals_z)
            if np.array_equal(got, arr):
                return got, rows
        except (CatalogError, sqlite3.Error):  # a read-only or full catalog: the rows are computed all the same
            pass
    return arr, np.concatenate([part, prior.transform.signals_z(catalog.signal_matrix(pids))], axis=1).astype(np.float32)


def library_features(catalog, prior: Prior, emb_key: Optional[str] = None, ids=None, store: bool = True,
                     cancel=None) -> tuple[np.ndarray, np.ndarray]:
    """(photo ids ascending, (N, prior.dim) float32 phi rows) of every present photo with an embedding of the
    current backbone (or of those among ``ids``).

    The rows are read from the catalog (``taste_features``: one small blob per photo, stored when the photo
    was embedded, under :func:`feature_signature`); rows that are missing (photos embedded before, a new
    prior or backbone, new signals) are computed from the embeddings once, in chunks, and stored
    (``store``). A re-score is then one read of 100,000 small rows and one matrix-vector product."""
    key = emb_key or _embedding_key()
    sig = feature_signature(prior, key)
    got_ids, phi = catalog.taste_features(sig, key, prior.dim, ids)
    todo = np.flatnonzero(~np.isfinite(phi).all(axis=1))  # not stored (NaN), or a damaged row: computed
    if len(todo):
        phi = np.array(phi)  # writable
        known = None
        if prior.transform.n_mlp and len(todo) > FEATURE_CHUNK:  # one read of the stored generic column
            known = catalog.taste_columns(column_signature(prior, key))
        keep = np.ones(len(got_ids), bool)
        for i in range(0, len(todo), FEATURE_CHUNK):
            if cancel is not None:
                cancel.raise_if_cancelled()
            rows = todo[i:i + FEATURE_CHUNK]
            done_ids, done = _compute_features(catalog, prior, key, got_ids[rows].tolist(), store, known)
            hit = np.isin(got_ids[rows], done_ids)
            keep[rows[~hit]] = False  # its embedding went away meanwhile
            phi[rows[hit]] = done
        got_ids, phi = got_ids[keep], phi[keep]
    return got_ids, phi


def generic_column(catalog, prior: Prior, ids: np.ndarray, emb: np.ndarray, emb_key: Optional[str] = None,
                   store: bool = True, known=None) -> Optional[np.ndarray]:
    """The prior's MLP column (standardised generic score, ``FeatureTransform.mlp_column``) of these photos:
    read from the catalog where it was stored for this prior and backbone, computed for the others and
    stored (``store``), so each photo's MLP runs once per model, not once per process. None when the
    prior has no MLP column."""
    t = prior.transform
    if not t.n_mlp:
        return None
    ids = np.asarray(ids, np.int64)
    sig = column_signature(prior, emb_key or _embedding_key())
    raw = np.full(len(ids), np.nan, np.float32)
    got_ids, got = catalog.taste_columns(sig) if known is None else known
    if len(got_ids):
        pos = np.clip(np.searchsorted(got_ids, ids), 0, len(got_ids) - 1)
        hit = got_ids[pos] == ids
        raw[hit] = got[pos[hit]]
    todo = ~np.isfinite(raw)
    if todo.any():
        raw[todo] = t.mlp_raw(np.asarray(emb, np.float32)[todo])
        if store:
            import sqlite3

            from piaa_desktop.core.catalog import CatalogError

            try:
                catalog.set_taste_columns(sig, zip(ids[todo].tolist(), raw[todo].tolist()))
            except (CatalogError, sqlite3.Error):  # a read-only or full catalog: the scores are still right
                pass
    return ((raw - t.mlp_out[0]) / t.mlp_out[1]).astype(np.float32)


def store_generic_columns(catalog, ids, emb, emb_key: str, hashes=None) -> int:
    """After photos were embedded: compute and store their generic MLP column with the shipped prior, and
    (with the content ``hashes`` the embeddings were computed from) their whole feature row
    (:func:`library_features`). Returns how many columns were stored (0 without a usable prior: scoring
    then computes them itself)."""
    from piaa_desktop.core.models import ModelError

    try:
        prior = load_prior()
    except (ModelError, OSError, ValueError, KeyError):
        return 0
    if not prior.transform.n_mlp or len(ids) == 0 or np.shape(emb)[1] != prior.transform.emb_mean.shape[0]:
        return 0  # nothing to store, or a prior made for another backbone (scoring says so itself)
    # from the float16 vectors the catalog keeps, so the value is the one a later pass would compute; these
    # photos were just embedded (their old values deleted with the old vectors): nothing to read back
    import sqlite3

    from piaa_desktop.core.catalog import CatalogError

    emb = np.asarray(emb, np.float16).astype(np.float32)
    raw = prior.transform.mlp_raw(emb)
    ids = [int(i) for i in ids]
    try:
        n = catalog.set_taste_columns(column_signature(prior, emb_key), zip(ids, raw.tolist()))
        if hashes is not None:
            t = prior.transform
            part = t.embedding_part(emb, ((raw - t.mlp_out[0]) / t.mlp_out[1]).astype(np.float32))
            catalog.set_taste_features(feature_signature(prior, emb_key), emb_key, zip(ids, hashes, part), t.signals_z)
        return n
    except (CatalogError, sqlite3.Error):  # a full disk: scoring computes the values itself later
        return 0


def _library(catalog, prior: Prior, ids=None, cancel=None) -> _Library:
    ids, feats = library_features(catalog, prior, ids=ids, cancel=cancel)
    if len(ids) == 0:
        raise PersonalError("no photo has an embedding yet: scan a folder first")
    return _Library(ids, feats)


def _feedback(catalog, lib: _Library):
    ratings = {i: s for i, s in catalog.ratings().items() if i in lib.row}
    prefs = [(a, b) for a, b in catalog.preferences() if a in lib.row and b in lib.row]
    r_rows = np.array([lib.row[i] for i in ratings], dtype=np.int64)
    stars = np.array(list(ratings.values()), dtype=np.float64)
    w_rows = np.array([lib.row[a] for a, _ in prefs], dtype=np.int64)
    l_rows = np.array([lib.row[b] for _, b in prefs], dtype=np.int64)
    return r_rows, stars, w_rows, l_rows


def fit_head(prior: Prior, feats: np.ndarray, stars: np.ndarray, win: np.ndarray, lose: np.ndarray,
             use_task_vectors: bool = False, cancel=None, method: Optional[str] = None) -> tuple[Head, np.ndarray]:
    """The personal head with the prior's default method (or ``method``; ``use_task_vectors`` picks the
    task-vector mixture). Returns the head and the task-vector coefficients (zeros when unused)."""
    if method is None and use_task_vectors and len(prior.base_names):
        method = "meta+tv:mix"
    with one_blas_thread():  # hundreds of rows x ~70 columns: one thread is faster, and never stalls others
        head = personal_head(prior, feats, stars, win, lose, method=method, cancel=cancel)
    tv = head.meta.get("task_vectors", {})
    lam = np.array([tv.get(n, 0.0) for n in prior.base_names], dtype=np.float64)
    head.meta.setdefault("task_vectors", {n: round(float(v), 4) for n, v in zip(prior.base_names, lam)})
    return head, lam


def _cv_srocc(prior: Prior, feats: np.ndarray, stars: np.ndarray, use_tv: bool, folds: int = 5) -> Optional[float]:
    """Cross-validated SROCC over the rated photos (None with fewer than 10 ratings)."""
    n = len(stars)
    if n < 10 or np.ptp(stars) == 0:
        return None
    perm = np.random.default_rng(0).permutation(n)
    pred = np.zeros(n)
    for f in np.array_split(perm, folds):
        tr = np.setdiff1d(perm, f)
        h, _ = fit_head(prior, feats[tr], stars[tr], np.zeros((0, prior.dim)), np.zeros((0, prior.dim)), use_tv)
        pred[f] = h.z(feats[f])
    return round(srocc(pred, stars), 4)


def feature_signature(prior: Prior, emb_key: str) -> str:
    """What a personal head's weights mean: a hash of the backbone key (name + file hash) and the prior's whole
    feature transform. A head stored under another signature was fitted on other features (another backbone
    or prior) and is stale: it is not applied, and the next re-score re-trains it from the kept answers."""
    import hashlib

    t = prior.transform
    memo = t.__dict__.setdefault("_feature_signatures", {})
    if emb_key not in memo:
        h = hashlib.sha256(emb_key.encode())
        for k, a in sorted(t.arrays().items()):
            h.update(k.encode())
            h.update(np.ascontiguousarray(a, np.float32).tobytes())
        memo[emb_key] = "features@" + h.hexdigest()[:16]
    return memo[emb_key]


def _current_signature(prior: Optional[Prior]) -> Optional[str]:
    """The signature personal heads must carry now (None when the prior or backbone cannot be loaded: then
    nothing can be scored anyway, and no head is called stale)."""
    from piaa_desktop.core.models import ModelError

    try:
        return feature_signature(prior or load_prior(), _embedding_key())
    except (PersonalError, ModelError, OSError, ValueError, KeyError):
        return None


def _stored_head(catalog) -> tuple[Optional[int], Optional[Head]]:
    row = catalog.personal_model(MODEL_KIND)
    if not row or row[1] is None:
        return None, None
    try:
        return int(row[0]), Head.from_bytes(bytes(row[1]))
    except (ValueError, KeyError, OSError):
        return None, None


def active_model(catalog, prior: Optional[Prior] = None) -> tuple[Optional[int], Optional[Head]]:
    """(model id, head) of the active personal version, or (None, None) when the prior is in use, or when the
    active version is stale (fitted on another backbone's or prior's features: :func:`model_is_stale`)."""
    mid, head = _stored_head(catalog)
    if head is None:
        return None, None
    sig = _current_signature(prior)
    if sig is not None and head.meta.get("features") != sig:
        return None, None
    return mid, head


def model_is_stale(catalog, prior: Optional[Prior] = None) -> bool:
    """True when an active personal version exists but was fitted on other features (a new backbone or prior
    shipped since): its answers are kept, the head must be re-trained (``personalize``)."""
    mid, head = _stored_head(catalog)
    if head is None:
        return False
    sig = _current_signature(prior)
    return sig is not None and head.meta.get("features") != sig


def model_versions(catalog) -> list[dict]:
    """Every stored personal version, newest first."""
    return catalog.personal_model_versions(MODEL_KIND)


def _store(catalog, head: Head, metrics: dict, n_r: int, n_p: int) -> int:
    return catalog.store_personal_model(MODEL_KIND, head.to_bytes(), metrics, n_r, n_p)


def _write_scores(catalog, lib: _Library, head: Head, prior: Prior, version: str) -> int:
    stars, dists = score_features(head, lib.feats)  # one matrix-vector product over the stored phi rows
    if version != "prior":
        # a photo the user rated is scored by the user's own rating: the personal head is shrunk toward
        # the generic score (few answers move it little), but "your taste" of a photo you rated is known
        ratings = catalog.ratings()
        rows_r, hit = lib.rows_of(ratings.keys())
        if len(rows_r):
            own = np.fromiter(ratings.values(), np.float64, len(ratings))[hit]
            stars[rows_r] = own
            dists[rows_r] = star_distribution(own, 0.35)
    return catalog.set_score_arrays(SCORE_KIND, lib.ids, expected_stars(dists), dists, model_version=version)


def personalize(catalog, paths=None, progress=None, cancel=None, prior: Optional[Prior] = None,
                use_task_vectors: bool = False) -> PersonalizeResult:
    """Train a new personal version from the catalog's ratings and preferences and re-score the library.

    ``paths`` (AppPaths) is accepted for symmetry with other jobs; versions live in the catalog.
    ``use_task_vectors`` starts from the prior mixed with the base heads (off by default: on held-out
    simulated raters it did not help, see benchmarks/RESULTS.md).
    Cancelling before the end writes nothing. Raises :class:`PersonalError` when there is nothing to learn from.
    """
    progress, cancel = ensure(progress, cancel)
    prior = prior or load_prior()
    progress(0, 4, "Loading the library")
    lib = _library(catalog, prior, cancel=cancel)
    r_rows, stars, w_rows, l_rows = _feedback(catalog, lib)
    if len(stars) == 0 and len(w_rows) == 0:
        raise PersonalError("no feedback yet: rate some photos or answer a few 'which do you prefer?' pairs")
    cancel.raise_if_cancelled()
    progress(1, 4, "Learning your taste")
    t0 = time.perf_counter()
    feats = lib.feats
    head, lam = fit_head(prior, feats[r_rows], stars, feats[w_rows], feats[l_rows], use_task_vectors, cancel)
    head.meta["features"] = feature_signature(prior, _embedding_key())
    seconds = time.perf_counter() - t0
    cancel.raise_if_cancelled()
    metrics = {"seconds": round(seconds, 4), "task_vectors": head.meta.get("task_vectors", {}),
               "train_srocc": round(srocc(head.z(feats[r_rows]), stars), 4) if len(stars) > 2 else None,
               "mean_stars": round(head.mu, 3), "stars_per_z": round(head.sd, 3)}
    if not head.is_finite():
        prev_id, _ = active_model(catalog, prior)
        return PersonalizeResult(False, prev_id, f"personal-v{prev_id}" if prev_id else "prior", len(stars),
                                 len(w_rows), 0, metrics,
                                 "training produced invalid (NaN) parameters; the previous model is kept")
    progress(2, 4, "Checking the model")
    metrics["cv_srocc"] = _cv_srocc(prior, feats[r_rows], stars, use_task_vectors)
    metrics.update(confidence.cross_validate(
        lambda f, y, w, l: fit_head(prior, f, y, w, l, use_task_vectors)[0],
        prior.generic_head(), feats[r_rows], stars, feats[w_rows], feats[l_rows]))
    cancel.raise_if_cancelled()
    progress(3, 4, "Saving and re-scoring")
    model_id = _store(catalog, head, metrics, len(stars), len(w_rows))
    version = f"personal-v{model_id}"
    n = _write_scores(catalog, lib, head, prior, version)
    progress(4, 4, "Done")
    return PersonalizeResult(True, model_id, version, len(stars), len(w_rows), n, metrics,
                             f"personal model v{model_id} from {len(stars)} ratings and {len(w_rows)} preferences")


def rescore(catalog, progress=None, cancel=None, prior: Optional[Prior] = None) -> int:
    """Re-score the library with the active personal version (or the prior)."""
    progress, cancel = ensure(progress, cancel)
    prior = prior or load_prior()
    lib = _library(catalog, prior, cancel=cancel)
    cancel.raise_if_cancelled()
    mid, head = active_model(catalog, prior)
    if head is None:
        head, version = prior.generic_head(), "prior"
    else:
        version = f"personal-v{mid}"
    return _write_scores(catalog, lib, head, prior, version)


def rescore_personal(catalog, progress=None, cancel=None, prior: Optional[Prior] = None) -> int:
    """After an import: re-score with the active personal version (0 without one). A version fitted on another
    backbone's or prior's features (a new one shipped: :func:`model_is_stale`) is re-trained from the kept
    ratings and preferences on the current embeddings instead (0 if nothing can be learnt yet)."""
    if model_is_stale(catalog, prior):
        try:
            return personalize(catalog, progress=progress, cancel=cancel, prior=prior).n_scored
        except PersonalError:
            return 0
    if active_model(catalog, prior)[0] is None:
        return 0
    return rescore(catalog, progress=progress, cancel=cancel, prior=prior)


def reset_to_prior(catalog, prior: Optional[Prior] = None, progress=None, cancel=None) -> int:
    """Go back to the prior: deactivate every personal version (kept for history) and re-score."""
    progress, cancel = ensure(progress, cancel)
    prior = prior or load_prior()
    catalog.activate_personal_model(MODEL_KIND, None)
    try:
        lib = _library(catalog, prior)
    except PersonalError:
        catalog.set_scores(SCORE_KIND, [], model_version="prior")
        return 0
    return _write_scores(catalog, lib, prior.generic_head(), prior, "prior")


def activate_version(catalog, model_id: int, prior: Optional[Prior] = None) -> int:
    """Make a stored version the active one again (roll back) and re-score."""
    if not catalog.activate_personal_model(MODEL_KIND, model_id):
        raise PersonalError(f"no personal model version {model_id}")
    return rescore(catalog, prior=prior)


def current_head(catalog, prior: Prior, lib: Optional[_Library] = None) -> Head:
    _, head = active_model(catalog, prior)
    return head if head is not None else prior.generic_head()


def _subset(catalog, prior: Prior, ids) -> _Library:
    """Features of just these photos (those with a cached embedding), read with a few SQL queries."""
    return _library(catalog, prior, ids=[int(i) for i in dict.fromkeys(ids)])


def _pair_model(catalog, prior: Prior, pool: int):
    """What the ranking needs: a random pool of candidates (plus the rated and compared photos), the
    current head and the posterior covariance of its weights. None before any photo has an embedding."""
    cand = catalog.random_embedded_ids(_embedding_key(), int(pool))
    ratings = catalog.ratings()
    answered = catalog.preferences()
    try:
        lib = _subset(catalog, prior, cand + list(ratings) + [i for p in answered for i in p])
    except PersonalError:
        return None
    r_rows, stars, w_rows, l_rows = _feedback(catalog, lib)
    head = current_head(catalog, prior)
    cov = _active.posterior_cov(prior, lib.feats[r_rows], lib.feats[w_rows], lib.feats[l_rows], head)
    cset = set(cand)
    keep = np.array([i in cset for i in lib.ids.tolist()])
    return lib, head, cov, keep, answered


def next_pairs(catalog, n: int = 1, prior: Optional[Prior] = None, rng: Optional[np.random.Generator] = None,
               exclude: tuple = (), pool: int = 200) -> list[tuple[int, int]]:
    """The next ``n`` pairs to ask about (photo ids, left/right), most informative first.

    Only a random pool of ``pool`` candidate photos (plus the rated and compared ones) is read, so this
    stays fast on a 100,000-photo library.
    """
    prior = prior or load_prior()
    avoid = set(int(i) for i in exclude)
    avoid |= set(catalog.flagged(-1))
    with one_blas_thread():
        got = _pair_model(catalog, prior, pool)
        if got is None:
            return []
        lib, head, cov, keep, answered = got
        return _active.select_pairs(lib.feats[keep], lib.ids[keep], head.w, cov, n, answered, pool=pool, rng=rng,
                                    avoid=avoid)


@dataclass
class RunningCheck:
    """:func:`running_check`'s result: ``n_answers`` pairs answered in all, ``margins`` ((index, winner,
    loser) -> (personal, generic) held-out margin) of the last ones, their ``check``
    (:func:`confidence.running_check`) and its ``words`` (:func:`confidence.describe_running`)."""
    n_answers: int
    margins: dict
    check: dict
    words: str
    last_words: str = ""
    fits: int = 0  # models fitted for this check (the answers not in ``known``)
    seconds: float = 0.0

    def latest(self, n: int) -> tuple[int, int]:
        """(guessed, counted) over the newest ``n`` answers (a drag-to-order's), each predicted before it
        was learned from; counted < n where answers fell out of the window or lack an embedding."""
        recent = [self.margins[k] for k in sorted(self.margins)[-int(n):]] if n > 0 else []
        return sum(1 for p, _g in recent if p > 0), len(recent)


def running_check(catalog, known: Optional[dict] = None, window: int = confidence.RUNNING_WINDOW,
                  prior: Optional[Prior] = None, progress=None, cancel=None) -> RunningCheck:
    """The ranking's running check: each of the last ``window`` pairwise answers predicted by the personal
    model fitted on the answers given before it (and the ratings of other photos), next to the generic score
    (:func:`confidence.predict_each`). ``known`` is a previous result's ``margins``: only answers not in it are
    fitted (one fit each, ~20-40 ms), so a new answer costs one fit. Reads only the rated and compared
    photos' feature rows; writes nothing."""
    progress, cancel = ensure(progress, cancel)
    known = dict(known or {})
    prefs = catalog.preferences()
    empty = confidence.running_check([], [])
    result = RunningCheck(len(prefs), {}, empty, confidence.describe_running(empty))
    if not prefs:
        return result
    prior = prior or load_prior()
    ratings = catalog.ratings()
    try:
        lib = _subset(catalog, prior, list(ratings) + [i for p in prefs for i in p])
    except PersonalError:  # no embedding yet: nothing can be predicted
        return result
    prefs = [(a, b) for a, b in prefs if a in lib.row and b in lib.row]
    r_rows, hit = lib.rows_of(ratings.keys())  # vectorised: thousands of ratings imported from sidecars
    rated = np.fromiter(ratings.keys(), np.int64, len(ratings))[hit]
    r_feats = lib.feats[r_rows]
    stars = np.fromiter(ratings.values(), np.float64, len(ratings))[hit]
    w_ids = np.array([a for a, _ in prefs], np.int64)
    l_ids = np.array([b for _, b in prefs], np.int64)
    w_feats = lib.feats[[lib.row[a] for a, _ in prefs]] if prefs else np.zeros((0, prior.dim), np.float32)
    l_feats = lib.feats[[lib.row[b] for _, b in prefs]] if prefs else np.zeros((0, prior.dim), np.float32)
    keys = [(i, int(w_ids[i]), int(l_ids[i])) for i in range(max(0, len(prefs) - int(window)), len(prefs))]
    todo = [k[0] for k in keys if k not in known]
    t0 = time.perf_counter()
    got = {}
    for n, i in enumerate(todo):  # one at a time: progress, and the cancel token between fits
        progress(n, len(todo), "Checking your answers")
        got.update(confidence.predict_each(lambda f, y, w, l: fit_head(prior, f, y, w, l)[0], prior.generic_head(),
                                           r_feats, stars, rated, w_feats, l_feats, w_ids, l_ids, [i], cancel))
    progress(len(todo), len(todo), "Checking your answers")
    margins = {k: (got[k[0]] if k[0] in got else known[k]) for k in keys}
    check = confidence.running_check([m[0] for m in margins.values()], [m[1] for m in margins.values()])
    return RunningCheck(result.n_answers, margins, check, confidence.describe_running(check),
                        confidence.describe_last(check), len(todo), round(time.perf_counter() - t0, 4))


def record_order(catalog, ordered_ids, source: str = "reorder") -> int:
    """Drag-to-reorder of a small set: ``ordered_ids`` best first becomes preferences between neighbours
    (a > b > c gives a>b, b>c: n-1 answers, no redundant transitive pairs). Returns the number added."""
    ids = [int(i) for i in dict.fromkeys(ordered_ids)]
    for a, b in zip(ids, ids[1:]):
        catalog.add_preference(a, b, source=source)
    return max(len(ids) - 1, 0)


HEAD_LABELS = {
    "aesthetic": "overall appeal",
    "quality": "technical quality",
    "composition": "composition",
    "colour": "colour",
    "depth of field": "depth of field",
    "light": "light",
    "content": "content",
    "content preference": "subject you like",
    "willingness to share": "worth sharing",
}


def explain(catalog, photo_id: int, prior: Optional[Prior] = None, top: Optional[int] = None) -> list[tuple[str, float]]:
    """(attribute, contribution in stars) pushing this photo's *personal* score above (+) or below (-)
    the library average, largest first. Empty while no personal model exists (the generic score has
    no personal "why"). Attributes are what people rated in PARA (composition, colour, light, ... as
    predicted for this photo), the pixel signals, and one term for what the embedding sees beyond them."""
    prior = prior or load_prior()
    _, head = active_model(catalog, prior)
    if head is None:
        return []
    lib = _library(catalog, prior)
    if photo_id not in lib.row:
        raise PersonalError(f"photo {photo_id} has no embedding yet")
    k = prior.transform.k
    names = list(prior.info.get("head_names", []))[:k]
    f = lib.feats[lib.row[photo_id]]
    mean = lib.feats.mean(axis=0)
    contrib = head.sd * head.w * (f - mean)
    out = [(HEAD_LABELS.get(n, n), float(contrib[j])) for j, n in enumerate(names)]
    out += [(c, float(contrib[k + j])) for j, c in enumerate(SIGNAL_COLUMNS)]
    out.append((EMBEDDING_LABEL, float(contrib[len(names):k].sum())))
    out.sort(key=lambda t: -abs(t[1]))
    return out[:top] if top else out


def taste_confidence(catalog) -> str:
    """Words for the Info panel: how well the active personal model knows the user's taste."""
    from piaa_desktop.core.personal.confidence import describe

    mid, _ = active_model(catalog)
    if mid is None:
        if model_is_stale(catalog):  # a new backbone or prior shipped: the app re-learns it after its start-up checks
            return ("Your personal model is being re-learned for the updated taste model, from your ratings and "
                    "answers (all kept); until then, the personal scores shown are the previous model's.")
        return describe(None)
    try:
        metrics = next((v["metrics"] for v in catalog.personal_model_versions(MODEL_KIND) if v["id"] == mid), {})
    except ValueError:  # unreadable metrics
        metrics = {}
    return describe(metrics or {"cv_answers": 0})
