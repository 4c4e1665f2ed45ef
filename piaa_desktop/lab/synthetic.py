"""A synthetic catalog for scale tests and benchmarks: rows, signals, embeddings and scores, no image files.

:func:`make_synthetic_catalog` writes ``n`` photos (default 100,000) spread over folders, with EXIF-like
metadata, ratings/flags/labels on a fraction of them, pixel signals, float16 embeddings of ``dim``
dimensions and generic scores, in a few bulk transactions. The photo paths point to files that do not
exist (``/synthetic/...``); nothing outside the catalog file is written.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Optional

import numpy as np

from piaa_desktop.core.catalog import SIGNAL_COLUMNS, Catalog

CAMERAS = ("Canon EOS R5", "NIKON Z 6", "SONY ILCE-7M3", "FUJIFILM X-T4", "iPhone 13", None)
LABELS = (None, None, None, None, "red", "yellow", "green", "blue", "purple")
PHOTO_COLUMNS = (
    "id", "folder_id", "path", "content_hash", "size", "mtime", "width", "height", "format", "capture_time", "camera",
    "lens", "iso", "shutter", "aperture", "focal_length", "orientation", "rating", "flag", "color_label", "added_at",
    "updated_at",
)


def make_synthetic_catalog(
    path: os.PathLike | str,
    n: int = 100_000,
    dim: Optional[int] = None,
    seed: int = 0,
    folders: int = 50,
    chunk: int = 10_000,
    model: Optional[str] = None,
) -> Path:
    """Create (or replace) a catalog at ``path`` holding ``n`` synthetic photos; returns the path.

    Embeddings are stored under ``model`` (default: the current backbone's key, so the app uses them).
    """
    if dim is None:
        from piaa_desktop.core.backbones import get

        dim = get().embed_dim
    if model is None:
        from piaa_desktop.core.embeddings import embedding_key

        model = embedding_key()
    path = Path(path)
    for suffix in ("", "-wal", "-shm"):
        p = Path(str(path) + suffix)
        if p.exists():
            p.unlink()
    rng = np.random.default_rng(seed)
    cat = Catalog.open(path)
    try:
        cat.set_fast_writes(True)
        now = time.time()
        folders = max(1, min(folders, n or 1))
        cat.bulk_insert(
            "folders", ("id", "path", "added_at", "last_scan"),
            [(k + 1, f"/synthetic/library/folder_{k:03d}", now, now) for k in range(folders)],
        )
        t0 = time.mktime((2015, 1, 1, 0, 0, 0, 0, 0, -1))
        span = 10 * 365 * 86400
        # a unit direction for the embeddings' shared component (real embeddings are far from isotropic)
        common = rng.standard_normal(dim).astype(np.float32)
        common /= np.linalg.norm(common)
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            ids = np.arange(start + 1, start + m + 1)
            folder = (ids - 1) * folders // max(n, 1) + 1
            when = t0 + span * (ids - 1 + rng.uniform(0, 1, m)) / max(n, 1)  # a camera roll: time grows with id
            rating = np.where(rng.random(m) < 0.15, rng.integers(1, 6, m), 0)
            flag = np.where(rng.random(m) < 0.05, 1, np.where(rng.random(m) < 0.03, -1, 0))
            label = rng.integers(0, len(LABELS), m)
            cam = rng.integers(0, len(CAMERAS), m)
            landscape = rng.random(m) < 0.7
            hashes = rng.bytes(20 * m)
            size = rng.integers(2_000_000, 12_000_000, m)
            iso = rng.choice([100, 200, 400, 800, 1600, 3200], m)
            shutter = 1.0 / rng.choice([30, 60, 125, 250, 500, 1000], m)
            aperture = rng.choice([1.8, 2.8, 4.0, 5.6, 8.0], m)
            focal = rng.choice([24.0, 35.0, 50.0, 85.0, 135.0], m)
            stamps = [time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t)) for t in when]
            rows = []
            for k in range(m):
                pid = int(ids[k])
                w, h = (6000, 4000) if landscape[k] else (4000, 6000)
                rows.append((
                    pid, int(folder[k]), f"/synthetic/library/folder_{int(folder[k]) - 1:03d}/IMG_{pid:06d}.jpg",
                    hashes[20 * k: 20 * k + 20].hex(), int(size[k]), float(when[k]),
                    w, h, "JPEG", stamps[k], CAMERAS[cam[k]], None, int(iso[k]),
                    float(shutter[k]), float(aperture[k]), float(focal[k]), 1,
                    int(rating[k]), int(flag[k]), LABELS[label[k]], now, now,
                ))
            sig = np.column_stack([
                rng.uniform(0.5, 4.0, m),  # sharpness
                rng.uniform(0.0, 20.0, m),  # noise
                rng.uniform(0.0, 0.1, m),  # clip_low
                rng.uniform(0.0, 0.1, m),  # clip_high
                rng.uniform(0.1, 0.9, m),  # brightness
                rng.uniform(0.05, 0.35, m),  # contrast
                rng.uniform(0.0, 0.8, m),  # colorfulness
                rng.uniform(0.0, 0.8, m),  # saturation
                rng.uniform(-0.3, 0.3, m),  # warmth
                rng.uniform(0.0, 0.5, m),  # subject_offset
            ])[:, : len(SIGNAL_COLUMNS)]
            emb = rng.standard_normal((m, dim), dtype=np.float32) * 0.5 + common * rng.uniform(1, 3, (m, 1)).astype(np.float32)
            emb = np.maximum(emb, 0).astype(np.float16)  # post-ReLU-like, as the backbone's pooled features
            score = np.clip(rng.normal(3.0, 0.7, m), 1.0, 5.0)
            cat.bulk_insert("photos", PHOTO_COLUMNS, rows)
            cat.bulk_insert("signals", ("photo_id", *SIGNAL_COLUMNS), [(int(i), *map(float, s)) for i, s in zip(ids, sig)])
            cat.bulk_insert(
                "embeddings", ("photo_id", "model", "content_hash", "vector"),
                [(int(ids[k]), model, rows[k][3], emb[k].tobytes()) for k in range(m)],
            )
            cat.bulk_insert(
                "scores", ("photo_id", "kind", "score", "distribution", "model_version"),
                [(int(ids[k]), "generic", float(score[k]), None, "synthetic") for k in range(m)],
            )
        cat.set_fast_writes(False)
        cat.compact()
    finally:
        cat.close()
    return path


__all__ = ["make_synthetic_catalog"]
