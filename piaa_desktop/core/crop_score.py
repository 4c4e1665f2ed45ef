"""The score of a crop, as a hint while cropping: the same aesthetic model that ranks the library, run
on the developed thumbnail with and without the crop.

:func:`crop_hint` renders the cached thumbnail twice (the whole photo with its flip/turns/straighten, and
the cropped photo), embeds both with the shipped backbone, computes the pixel signals and scores them
with the user's active personal head, or the generic (average-rater) head of the shipped prior before
any personal model exists. Runs on a worker (it opens its own catalog connection); about 50 ms.
"""
from __future__ import annotations

import os
from typing import Optional

import numpy as np

from piaa_desktop.core import develop


def score_images(images: list[np.ndarray], catalog_path: Optional[os.PathLike | str] = None) -> tuple[np.ndarray, str]:
    """(scores on the 1-5 star scale, "personal" or "generic") for uint8 RGB images."""
    from piaa_desktop.core.catalog import SIGNAL_COLUMNS, Catalog
    from piaa_desktop.core.embeddings import Backbone
    from piaa_desktop.core.personal.heads import expected_stars, load_prior, score_library
    from piaa_desktop.core.personal.operations import active_model
    from piaa_desktop.core.signals import compute_signals

    prior = load_prior()
    head, kind = None, "generic"
    if catalog_path is not None:
        cat = Catalog.open(catalog_path)
        try:
            _mid, head = active_model(cat)
        finally:
            cat.close()
        kind = "personal" if head is not None else "generic"
    if head is None:
        head = prior.generic_head()
    emb = Backbone.shared().embed(images)
    sig = np.array([[compute_signals(im)[c] for c in SIGNAL_COLUMNS] for im in images], dtype=np.float32)
    _stars, dists = score_library(head, prior.transform, emb, sig)
    return expected_stars(dists), kind


def crop_hint(thumb: np.ndarray, params: dict, catalog_path: Optional[os.PathLike | str] = None) -> dict:
    """``{"crop": score, "whole": score, "kind": "personal"|"generic"}`` for the thumbnail ``thumb``
    (uint8, EXIF-oriented) developed with ``params`` (tone included), cropped and not."""
    thumb = np.asarray(thumb, dtype=np.uint8)
    whole_params = dict(develop.normalize_params(params))
    for k in ("crop_left", "crop_top", "crop_right", "crop_bottom"):
        whole_params[k] = develop.REGISTRY_BY_NAME[k].default
    whole = develop.render_uint8(thumb, whole_params, threads=1)
    cropped = develop.render_uint8(thumb, params, threads=1)
    scores, kind = score_images([cropped, whole], catalog_path)
    return {"crop": float(scores[0]), "whole": float(scores[1]), "kind": kind}
