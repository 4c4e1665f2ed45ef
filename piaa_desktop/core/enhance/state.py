"""State features of a rendered image: colour histograms and luminance statistics (numpy only).

The enhancer works on small proxies (about 64 px): features, rewards and the policy all see the same
image the develop pipeline rendered, so the learned policy transfers to full resolution unchanged.
"""
from __future__ import annotations

import numpy as np

from piaa_desktop.core import develop

STATE_SIDE = 48  # long side of the proxy the enhancer works on
HIST_BINS = 8
_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
_PCTS = (2, 10, 25, 50, 75, 90, 98)


def image_features(rgb: np.ndarray) -> np.ndarray:
    """A fixed-length float32 description of an sRGB image in [0,1] (any size)."""
    return image_features_batch(np.asarray(rgb, dtype=np.float32)[None])[0]


def image_features_batch(imgs: np.ndarray) -> np.ndarray:
    """Features of K images of the same size (K, H, W, 3) -> (K, N_IMAGE_FEATURES)."""
    K = imgs.shape[0]
    a = np.asarray(imgs, dtype=np.float32).reshape(K, -1, 3)
    n = a.shape[1]
    y = a @ _LUMA  # K,n
    chroma = a.max(axis=2) - a.min(axis=2)
    ys = np.sort(y, axis=1)
    pct = ys[:, np.minimum(n - 1, (np.array(_PCTS) * (n - 1) / 100.0 + 0.5).astype(int))]
    cs = np.sort(chroma, axis=1)
    m = a.mean(axis=1)  # K,3
    f = np.concatenate(
        [
            pct,  # 7 luminance percentiles
            y.mean(axis=1, keepdims=True),
            y.std(axis=1, keepdims=True),
            m,  # mean RGB
            a.std(axis=1),
            chroma.mean(axis=1, keepdims=True),
            cs[:, int(0.9 * (n - 1))][:, None],
            # colour cast: red-blue and green-magenta balance of the mean
            (m[:, 0] - m[:, 2])[:, None],
            (m[:, 1] - 0.5 * (m[:, 0] + m[:, 2]))[:, None],
            (y < 0.02).mean(axis=1, keepdims=True),  # clipping
            (y > 0.98).mean(axis=1, keepdims=True),
        ],
        axis=1,
    )
    q = np.minimum((np.concatenate([a, y[..., None]], axis=2) * HIST_BINS).astype(np.int32), HIST_BINS - 1)
    q += np.arange(4, dtype=np.int32) * HIST_BINS
    q += (np.arange(K, dtype=np.int32) * 4 * HIST_BINS)[:, None, None]
    h = np.bincount(q.ravel(), minlength=K * 4 * HIST_BINS).reshape(K, 4 * HIST_BINS).astype(np.float32) / max(1, n)
    return np.concatenate([f.astype(np.float32), np.sqrt(h)], axis=1)


N_IMAGE_FEATURES = 7 + 2 + 3 + 3 + 2 + 2 + 2 + 4 * HIST_BINS


def small(rgb, side: int = STATE_SIDE) -> np.ndarray:
    return develop.proxy(rgb, side)
