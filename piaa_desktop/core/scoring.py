"""Generic (not yet personal) scores, so a library can be sorted before the user rated anything.

The generic score is the shipped *average-rater prior* over cached embeddings and pixel signals
(``core.personal.heads.generic_scores``) when that model is present and verified. Without it (a
damaged ``models/`` folder, or before the prior was trained) a transparent technical score from the
signals alone is used: sharp, well exposed, clean, contrasty and colourful photos first. Scores live on
the 1-5 star scale, each with a 5-bin distribution.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from piaa_desktop.core.catalog import SIGNAL_COLUMNS, Catalog
from piaa_desktop.core.jobs import CancelToken, ProgressCallback, ensure

TECHNICAL_VERSION = "technical-1"
_COL = {c: i for i, c in enumerate(SIGNAL_COLUMNS)}


def score_distribution(scores: np.ndarray, spread: float | np.ndarray = 0.7) -> np.ndarray:
    """A discretised Gaussian over the 1..5 star bins centred on each score: (N, 5), rows sum to 1."""
    scores = np.asarray(scores, dtype=np.float64)[:, None]
    bins = np.arange(1, 6, dtype=np.float64)[None, :]
    spread = np.asarray(spread, dtype=np.float64)
    if spread.ndim == 1:
        spread = spread[:, None]
    logits = -0.5 * ((bins - scores) / spread) ** 2
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def technical_scores(signals: np.ndarray) -> np.ndarray:
    """Star-scale score from a (N, len(SIGNAL_COLUMNS)) signal matrix (NaN rows score 3)."""
    s = np.nan_to_num(np.asarray(signals, dtype=np.float64), nan=0.0)
    sharp = np.clip((s[:, _COL["sharpness"]] - 1.4) / 1.6, 0, 1)
    noise = np.clip((s[:, _COL["noise"]] - 4.0) / 10.0, 0, 1)
    clip = np.clip(s[:, _COL["clip_low"]] * 4 + s[:, _COL["clip_high"]] * 4, 0, 1)
    contrast = np.clip(s[:, _COL["contrast"]] / 0.25, 0, 1)
    colour = np.clip(s[:, _COL["colorfulness"]] / 0.6, 0, 1)
    expo = 1.0 - np.clip(np.abs(s[:, _COL["brightness"]] - 0.45) / 0.35, 0, 1)
    z = 0.9 * sharp + 0.5 * contrast + 0.3 * colour + 0.5 * expo - 0.7 * noise - 0.8 * clip
    out = 1.5 + 3.0 * np.clip(z / 2.2, 0, 1)
    out[np.isnan(np.asarray(signals, dtype=np.float64)).all(axis=1)] = 3.0
    return out


def generic_scores_for(catalog: Catalog) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """(photo ids, scores, distributions, model version) for every present photo with signals."""
    ids = np.array(catalog.present_ids(), dtype=np.int64)
    if ids.size == 0:
        return ids, np.zeros(0), np.zeros((0, 5)), TECHNICAL_VERSION
    sig = catalog.signal_matrix(ids.tolist())
    try:
        from piaa_desktop.core.models import ModelError

        from piaa_desktop.core.embeddings import embedding_key

        try:
            from piaa_desktop.core.personal.heads import expected_stars, generic_version, load_prior, score_features
            from piaa_desktop.core.personal.operations import library_features

            key = embedding_key()
            prior = load_prior()
            # the prior's feature rows of the current backbone's photos, stored in the catalog when they were
            # embedded (computed once): no embedding is read
            emb_ids, feats = library_features(catalog, prior, emb_key=key)
        except ModelError:
            emb_ids = np.zeros(0, np.int64)
        if emb_ids.size:
            pos = np.clip(np.searchsorted(emb_ids, ids), 0, len(emb_ids) - 1)
            have = emb_ids[pos] == ids
            if have.any():
                _stars, dist = score_features(prior.generic_head(), feats[pos[have]])
                scores = technical_scores(sig)
                dists = score_distribution(scores)
                scores[have] = expected_stars(dist)
                dists[have] = dist
                return ids, scores, dists, generic_version(prior)
    except ImportError:
        pass
    scores = technical_scores(sig)
    return ids, scores, score_distribution(scores), TECHNICAL_VERSION


def score_library(
    catalog: Catalog, progress: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None
) -> int:
    """Recompute the generic score of every photo from cached embeddings and signals."""
    progress, cancel = ensure(progress, cancel)
    cancel.raise_if_cancelled()
    progress(0, 1, "Scoring")
    ids, scores, dists, version = generic_scores_for(catalog)
    cancel.raise_if_cancelled()
    n = catalog.set_scores("generic", zip(ids.tolist(), scores.tolist(), dists.tolist()), model_version=version)
    progress(1, 1, "Scoring")
    return n
