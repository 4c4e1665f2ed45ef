"""Simulated raters with a personal *content* preference, answering "which do you prefer?" pairs.

A third rater family beside ``lab.simulate`` (hand-written tastes over pixel signals) and
``lab.para_raters`` (each photo's real PARA histogram, the rater's position inside it). Real preference
studies over mixed content (say flowers, houses and paintings) find that people differ most in *what*
they like to look at: some prefer flowers whatever the photo, others houses. ``lab.para_raters`` bounds
every personal effect by the spread of each photo's histogram, so a strong liking of a whole category
cannot appear there. Here a rater's utility for photo i of category c(i) is

    u_i = generic_w * z(generic_i)             the people's mean score (PARA's mean, standardised)
        + content_r * C_r[c(i)]                a personal liking of each category (C_r ~ N(0, 1))
        + style_r * z(attrs_i @ beta_r)        personal weights of the rated attributes (composition,
                                               colour, depth of field, light, ...), beta_r ~ N(0, 1)
        + idio_r * z(emb_i @ d_r)              a personal direction in embedding space (taste no named
                                               attribute describes)

with per-rater strengths drawn uniformly (``content_r`` in [content_low, content_high], some raters care
little about content), and choices P(i over j) = sigmoid((u_i - u_j) / temperature). Comparisons are drawn
within a category (``within`` of them) and across categories, as such a study shows them.

Limits: linear tastes over features the app's heads partly see; one category per photo; the categories
are PARA's human content labels (or embedding clusters), not flowers/houses/paintings; the strengths are a
plausible guess, not fitted to any real study: this family ranks methods when a strong personal content
preference exists, it does not predict a real user's accuracy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np


def _z(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 1e-9, sd, 1.0)


@dataclass
class ContentRaterConfig:
    """Defaults: *strong* personal content preferences (the case the real studies report); ``MILD`` below."""

    generic_w: float = 0.6  # weight of the people's mean score (a curated study's photos differ less in quality)
    content_low: float = 0.5  # a rater's weight of their category liking, uniform in [low, high]
    content_high: float = 2.0
    style_low: float = 0.0  # weight of their attribute weighting
    style_high: float = 0.8
    idio_weight: float = 0.3  # weight of their personal embedding direction
    temperature: float = 0.5  # logistic noise of a choice (utility units)
    within: float = 0.5  # share of comparisons within one category


# the generic score dominates, content preferences are moderate: personal taste matters less
MILD = ContentRaterConfig(generic_w=1.0, content_low=0.2, content_high=1.2, style_low=0.0, style_high=0.6)


@dataclass
class ContentRater:
    rid: str
    content: np.ndarray  # (K,) liking of each category
    beta: np.ndarray  # (A,) attribute weights
    direction: np.ndarray  # (E,) personal embedding direction
    content_w: float
    style_w: float


class ContentPopulation:
    """Raters over photos with a generic score, attribute scores, a category and an embedding."""

    def __init__(self, generic: np.ndarray, attrs: np.ndarray, category: np.ndarray, emb: np.ndarray,
                 config: Optional[ContentRaterConfig] = None):
        self.cfg = config or ContentRaterConfig()
        self.generic = _z(np.asarray(generic, np.float64).reshape(-1))
        self.attrs = _z(attrs)
        cats = np.asarray(category)
        self.labels, self.cat = np.unique(cats, return_inverse=True)
        self.k = len(self.labels)
        self.emb_z = _z(emb)
        self.n = len(self.generic)
        if not (len(self.attrs) == len(self.cat) == len(self.emb_z) == self.n):
            raise ValueError("generic, attrs, category and emb must have one row per photo")

    def make_rater(self, rid: str, rng: np.random.Generator) -> ContentRater:
        c = self.cfg
        return ContentRater(rid, rng.standard_normal(self.k), rng.standard_normal(self.attrs.shape[1]),
                            rng.standard_normal(self.emb_z.shape[1]),
                            float(rng.uniform(c.content_low, c.content_high)),
                            float(rng.uniform(c.style_low, c.style_high)))

    def raters(self, n: int, seed: int, prefix: str = "content") -> list[ContentRater]:
        rng = np.random.default_rng(seed)
        return [self.make_rater(f"{prefix}{seed}_{k:04d}", rng) for k in range(n)]

    def utility(self, r: ContentRater) -> np.ndarray:
        """The rater's utility of every photo (N,), in units of the generic score's sd."""
        style = _z(self.attrs @ r.beta)
        idio = _z(self.emb_z @ r.direction)
        return self.cfg.generic_w * self.generic + r.content_w * r.content[self.cat] + r.style_w * style + self.cfg.idio_weight * idio

    def pairs(self, n_pairs: int, rng: np.random.Generator) -> np.ndarray:
        """(P, 2) photo indices: ``within`` of them from one category, the rest from two different ones."""
        n_in = int(round(self.cfg.within * n_pairs))
        by_cat = [np.flatnonzero(self.cat == c) for c in range(self.k)]
        big = [c for c in range(self.k) if len(by_cat[c]) >= 2]
        out = []
        for _ in range(n_in if big else 0):
            c = big[int(rng.integers(len(big)))]
            out.append(rng.choice(by_cat[c], 2, replace=False))
        tries = 0
        while len(out) < n_pairs and tries < 20 * n_pairs:
            tries += 1
            i, j = rng.integers(self.n, size=2)
            if self.cat[i] != self.cat[j] or self.k == 1:
                if i != j:
                    out.append(np.array([i, j]))
        out = np.asarray(out, np.int64).reshape(-1, 2)
        return out[rng.permutation(len(out))]  # within and across categories in random order

    def choose(self, r: ContentRater, pairs: np.ndarray, rng: np.random.Generator,
               u: Optional[np.ndarray] = None) -> np.ndarray:
        """1.0 where the first photo of each pair is chosen."""
        u = self.utility(r) if u is None else u
        d = (u[pairs[:, 0]] - u[pairs[:, 1]]) / self.cfg.temperature
        return (rng.random(len(pairs)) < 1.0 / (1.0 + np.exp(-d))).astype(np.float64)

    def answers(self, r: ContentRater, n_pairs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(winner indices, loser indices) of ``n_pairs`` answered comparisons."""
        pr = self.pairs(n_pairs, rng)
        first = self.choose(r, pr, rng) > 0.5
        return np.where(first, pr[:, 0], pr[:, 1]), np.where(first, pr[:, 1], pr[:, 0])
