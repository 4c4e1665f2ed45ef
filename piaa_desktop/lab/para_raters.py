"""Simulated raters built from real human judgments (PARA), for meta-training and benchmarks.

Per-person PARA ratings are not available offline, only each photo's histogram of about 25 people's
scores and the means of their attribute ratings. A simulated rater is therefore built so that

* across raters, the scores of a photo follow that photo's **real histogram** (so simulated people
  disagree exactly as much as real people did on it, and the mean rater is the real PARA mean);
* a rater's **position inside each histogram** (a quantile ``q``) is driven by a consistent personal
  taste: a personal weighting of the photo's real attribute ratings (composition, colour, depth of
  field, light, content, content preference, willingness to share), a personal liking of each content
  category (portrait, scene, animal, food, still life, building, night scene, indoor, plant), a personal
  direction in embedding space (taste no named attribute describes), plus per-rating noise whose share
  varies from rater to rater (some people are consistent, some are not), and a personal leniency;
* the score is the histogram's quantile function at ``q`` on PARA's 0.5-point grid; pairwise choices
  compare the rater's continuous (interpolated) scores with logistic noise.

Limits: the attribute and content effects are linear in the latent position; histograms are the only
source of disagreement scale; raters are independent draws of one family. Compare with the older,
hand-written population of ``lab.simulate`` (pixel signals and ImageNet content groups).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

GRID = np.arange(1.0, 5.01, 0.5)


def _z(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 1e-9, sd, 1.0)


def _ndtr(x: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return ndtr(np.asarray(x, np.float64))


@dataclass
class RealRaterConfig:
    attr_sd: float = 1.0  # sd of a rater's weight on each standardised attribute
    content_sd: float = 0.8  # sd of a rater's liking of each content category
    embed_weight: float = 0.8  # weight of the personal embedding direction (relative to attributes)
    consistency_low: float = 0.35  # share of the position's variance that is taste (rest is noise)
    consistency_high: float = 0.8
    leniency_sd: float = 0.35  # sd of a rater's shift of every position (harsh ... lenient)
    pair_temperature: float = 0.25  # stars of logistic noise in pairwise choices


@dataclass
class RealRater:
    rid: str
    beta: np.ndarray
    content: np.ndarray
    direction: np.ndarray
    consistency: float
    leniency: float


class RealPopulation:
    """Raters over photos with a real 9-bin score histogram, attribute means, content labels and embeddings."""

    def __init__(self, hist9: np.ndarray, attrs: np.ndarray, semantic: np.ndarray, emb: np.ndarray,
                 config: Optional[RealRaterConfig] = None, n_semantic: int = 9):
        self.cfg = config or RealRaterConfig()
        h = np.asarray(hist9, np.float64)
        self.cdf = np.cumsum(h / np.maximum(h.sum(1, keepdims=True), 1e-9), axis=1)
        self.attrs = _z(attrs)
        sem = np.asarray(semantic)
        self.onehot = np.stack([(sem == k).astype(np.float64) for k in range(n_semantic)], axis=1)
        e = np.asarray(emb, np.float64)
        self.emb_z = (e - e.mean(0)) / (e.std(0) + 1e-6)
        self.n = len(h)

    def make_rater(self, rid: str, rng: np.random.Generator) -> RealRater:
        c = self.cfg
        return RealRater(rid, rng.normal(0, c.attr_sd, self.attrs.shape[1]), rng.normal(0, c.content_sd, self.onehot.shape[1]),
                         rng.standard_normal(self.emb_z.shape[1]),
                         float(rng.uniform(c.consistency_low, c.consistency_high)), float(rng.normal(0, c.leniency_sd)))

    def raters(self, n: int, seed: int, prefix: str = "para") -> list[RealRater]:
        rng = np.random.default_rng(seed)
        return [self.make_rater(f"{prefix}{seed}_{k:04d}", rng) for k in range(n)]

    def taste(self, r: RealRater) -> np.ndarray:
        """Standardised personal taste of every photo (N,)."""
        t = self.attrs @ r.beta + self.onehot @ r.content
        t = (t - t.mean()) / (t.std() + 1e-9)
        s = self.emb_z @ r.direction
        s = (s - s.mean()) / (s.std() + 1e-9)
        t = t + self.cfg.embed_weight * s
        return (t - t.mean()) / (t.std() + 1e-9)

    def latent(self, r: RealRater, rng: np.random.Generator, taste: Optional[np.ndarray] = None) -> np.ndarray:
        """Continuous scores (N,) on 1-5: the histogram's interpolated quantile at the rater's position."""
        t = self.taste(r) if taste is None else taste
        pos = np.sqrt(r.consistency) * t + np.sqrt(1 - r.consistency) * rng.standard_normal(self.n) + r.leniency
        q = np.clip(_ndtr(pos), 1e-6, 1 - 1e-6)
        k = np.clip((self.cdf < q[:, None]).sum(1), 0, 8)  # bin holding the quantile
        lo = np.where(k > 0, self.cdf[np.arange(self.n), np.maximum(k - 1, 0)], 0.0)
        hi = self.cdf[np.arange(self.n), k]
        frac = np.clip((q - lo) / np.maximum(hi - lo, 1e-9), 0, 1)
        return GRID[k] - 0.25 + 0.5 * frac  # spread inside the bin's 0.5-wide interval

    @staticmethod
    def stars(latent: np.ndarray) -> np.ndarray:
        """Scores on PARA's 0.5 grid."""
        return np.clip(np.round(np.asarray(latent) * 2) / 2, 1.0, 5.0)

    def preferences(self, latent: np.ndarray, pairs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """1.0 where the first photo of each (P,2) pair is chosen."""
        d = (latent[pairs[:, 0]] - latent[pairs[:, 1]]) / self.cfg.pair_temperature
        return (rng.random(len(pairs)) < 1.0 / (1.0 + np.exp(-d))).astype(np.float64)
