"""A population of simulated raters over real photos (for meta-training and benchmarks).

No personal aesthetic rating data can be had offline, so the shipped prior is meta-trained on
*simulated* raters whose tastes are defined over attributes measured on the real photos:

* pixel signals (core.signals): exposure (distance of mean brightness from the rater's preferred
  brightness, plus clipped shadows/highlights), contrast, colourfulness, saturation, warmth, sharpness,
  noise, subject placement (distance of the detail centroid from a rule-of-thirds point);
* content categories: the backbone's ImageNet class probabilities summed over coarse groups
  (birds, mammals, other animals, landscape, architecture, plants, vehicles, people/clothing);
* a "semantic" component: a random direction over the standardised 1280-d embedding, i.e. taste
  that the backbone can see but none of the named attributes describes.

Each rater r has taste weights ``beta_r = beta_shared + N(0, sigma_ind^2)`` over the attributes, a
preferred brightness, a shared + individual semantic direction, and a personal rating scale:
``stars = clip(round(mu_r + a_r * z(u_r) + noise), 1, 5)`` where ``u_r`` is the rater's utility and
``z`` standardises it over the photo pool. Pairwise preferences follow ``P(i > j) = sigmoid((u_i - u_j) / T)``.

Limits (also in models/README.md): tastes are (nearly) linear in attributes the heads can see, so
the simulated task is easier than real taste; raters are independent draws of one parametric
family; there is no memory, mood or context; content groups come from an ImageNet classifier.
"""
from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from piaa_desktop.core.catalog import SIGNAL_COLUMNS

# ImageNet-1k class indices of coarse content groups (names checked in tests against torchvision).
CONTENT_GROUPS: dict[str, list[int]] = {
    "birds": list(range(7, 25)) + list(range(80, 101)) + list(range(127, 147)),
    "mammals": list(range(101, 107)) + list(range(151, 294)) + list(range(294, 300)) + list(range(330, 389)),
    "other_animals": list(range(0, 7)) + list(range(25, 80)) + list(range(107, 127)) + list(range(300, 330)) + list(range(389, 398)),
    "landscape": list(range(970, 981)),
    "architecture": [406, 425, 437, 442, 449, 483, 497, 500, 525, 538, 562, 580, 663, 668, 682, 698, 706, 718,
                     727, 743, 821, 832, 839, 853, 858, 873, 888, 900, 915],
    "plants": list(range(984, 998)) + [738],
    "vehicles": [407, 436, 444, 468, 511, 554, 555, 565, 569, 575, 603, 609, 627, 656, 661, 670, 671, 675, 717,
                 734, 751, 779, 817, 820, 829, 864, 867, 874, 403, 404, 472, 484, 510, 576, 625, 628, 724, 780,
                 833, 871, 914, 895, 908],
    "people": [610, 834, 841, 655, 445, 515, 808, 982, 983, 981, 652, 400, 399, 614, 903, 568, 735, 842, 869,
               474, 638, 639, 697, 457, 906, 836, 837, 643, 824, 501, 887, 608, 617],
}

ATTRIBUTES = (
    "exposure", "clipping", "contrast", "colorfulness", "saturation", "warmth", "sharpness", "noise",
    "subject_offset", *CONTENT_GROUPS.keys(),
)

# The population's shared taste (in standard deviations of utility per standard deviation of attribute).
SHARED_TASTE = {
    "exposure": 0.45, "clipping": -0.25, "contrast": 0.30, "colorfulness": 0.30, "saturation": 0.10,
    "warmth": 0.10, "sharpness": 0.50, "noise": -0.30, "subject_offset": -0.20,
    "birds": 0.20, "mammals": 0.20, "other_animals": 0.0, "landscape": 0.30, "architecture": 0.05,
    "plants": 0.10, "vehicles": -0.10, "people": 0.0,
}
POPULATION_SEED = 20240611  # fixes the shared semantic direction: part of the population's definition


@dataclass
class SimConfig:
    sigma_individual: float = 0.3   # sd of each rater's deviation from the shared taste weights
    semantic_shared: float = 0.35    # weight of the shared semantic (embedding) direction
    semantic_individual: float = 0.3  # weight of each rater's own semantic direction
    brightness_sd: float = 0.06      # sd of the preferred mean brightness around 0.45
    scale_low: float = 0.6           # rater scale a_r ~ U(scale_low, scale_high) stars per sd of utility
    scale_high: float = 1.3
    bias_low: float = 2.6            # rater mean mu_r ~ U(bias_low, bias_high)
    bias_high: float = 3.6
    rating_noise: float = 0.45       # sd of the per-rating noise in stars
    pair_temperature: float = 0.3    # temperature of pairwise choices (utility sd units)


def image_split(name: str, test_fraction: float = 0.4) -> str:
    """Deterministic train/test split of an image by its file name ('train' or 'test')."""
    h = int(hashlib.md5(os.path.basename(str(name)).encode("utf-8")).hexdigest()[:8], 16)
    return "test" if (h % 1000) < int(test_fraction * 1000) else "train"


def content_probs(logits: np.ndarray) -> np.ndarray:
    """(N,1000) ImageNet logits -> (N, len(CONTENT_GROUPS)) group probabilities."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    return np.stack([p[:, idx].sum(axis=1) for idx in CONTENT_GROUPS.values()], axis=1)


def _z(x: np.ndarray) -> np.ndarray:
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 1e-9, sd, 1.0)


def attribute_matrix(signals: np.ndarray, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standardised attributes (N, len(ATTRIBUTES)) except exposure, and the raw brightness (N,)."""
    s = {c: np.nan_to_num(signals[:, i].astype(np.float64)) for i, c in enumerate(SIGNAL_COLUMNS)}
    cols = [
        np.zeros(len(signals)),  # exposure: filled per rater (depends on the preferred brightness)
        s["clip_low"] + s["clip_high"],
        s["contrast"],
        s["colorfulness"],
        s["saturation"],
        s["warmth"],
        s["sharpness"],
        np.log1p(s["noise"]),
        s["subject_offset"],
    ]
    cp = content_probs(logits.astype(np.float64))
    cols.extend(np.sqrt(cp[:, k]) for k in range(cp.shape[1]))
    a = _z(np.stack(cols, axis=1))
    return a, s["brightness"]


@dataclass
class Rater:
    rid: str
    beta: np.ndarray
    pref_brightness: float
    sem_dir: np.ndarray
    mu: float
    scale: float


class Population:
    """Simulated raters over a pool of photos (embeddings, signals, logits of the same photos)."""

    def __init__(self, emb: np.ndarray, signals: np.ndarray, logits: np.ndarray, config: Optional[SimConfig] = None):
        self.cfg = config or SimConfig()
        self.attrs, self.brightness = attribute_matrix(signals, logits)
        e = emb.astype(np.float64)
        e = (e - e.mean(axis=0)) / (e.std(axis=0) + 1e-6)
        self.emb_z = e
        prng = np.random.default_rng(POPULATION_SEED)
        self.shared_dir = prng.standard_normal(emb.shape[1])
        self.beta_shared = np.array([SHARED_TASTE[a] for a in ATTRIBUTES])

    def _semantic(self, direction: np.ndarray) -> np.ndarray:
        v = self.emb_z @ direction
        return (v - v.mean()) / (v.std() + 1e-9)

    def make_rater(self, rid: str, rng: np.random.Generator) -> Rater:
        c = self.cfg
        beta = self.beta_shared + rng.normal(0, c.sigma_individual, len(ATTRIBUTES))
        return Rater(
            rid=rid,
            beta=beta,
            pref_brightness=float(rng.normal(0.45, c.brightness_sd)),
            sem_dir=rng.standard_normal(self.emb_z.shape[1]),
            mu=float(rng.uniform(c.bias_low, c.bias_high)),
            scale=float(rng.uniform(c.scale_low, c.scale_high)),
        )

    def utility(self, r: Rater) -> np.ndarray:
        """Standardised utility of every photo in the pool for rater r."""
        a = self.attrs.copy()
        expo = -np.abs(self.brightness - r.pref_brightness)
        a[:, 0] = (expo - expo.mean()) / (expo.std() + 1e-9)
        u = a @ r.beta
        u = (u - u.mean()) / (u.std() + 1e-9)
        u = u + self.cfg.semantic_shared * self._semantic(self.shared_dir) + self.cfg.semantic_individual * self._semantic(r.sem_dir)
        return (u - u.mean()) / (u.std() + 1e-9)

    def stars(self, r: Rater, rng: np.random.Generator, u: Optional[np.ndarray] = None) -> np.ndarray:
        u = self.utility(r) if u is None else u
        x = r.mu + r.scale * u + rng.normal(0, self.cfg.rating_noise, len(u))
        return np.clip(np.rint(x), 1, 5)

    def preferences(self, r: Rater, pairs: np.ndarray, rng: np.random.Generator, u: Optional[np.ndarray] = None) -> np.ndarray:
        """For (P,2) index pairs, 1.0 where the first is preferred, else 0.0."""
        u = self.utility(r) if u is None else u
        d = (u[pairs[:, 0]] - u[pairs[:, 1]]) / self.cfg.pair_temperature
        return (rng.random(len(pairs)) < 1.0 / (1.0 + np.exp(-d))).astype(np.float64)

    def raters(self, n: int, seed: int, prefix: str = "sim") -> list[Rater]:
        rng = np.random.default_rng(seed)
        return [self.make_rater(f"{prefix}{seed}_{k:04d}", rng) for k in range(n)]


def simulate_ratings_csv(
    names: Sequence[str],
    emb: np.ndarray,
    signals: np.ndarray,
    logits: np.ndarray,
    out_csv: os.PathLike | str,
    n_raters: int,
    seed: int = 1000,
    per_rater: Optional[int] = None,
) -> int:
    """Write ``user,image,score`` rows for ``n_raters`` raters drawn with ``seed``; returns the row count.

    Seeds below 1000 are kept for training raters (train-prior draws its held-out raters from 1000 up): use
    1000 or more for held-out raters.
    """
    from piaa_desktop.core.fsutil import atomic_write

    pop = Population(emb, signals, logits)
    rng = np.random.default_rng(seed + 7)
    rows = []
    for r in pop.raters(n_raters, seed):
        stars = pop.stars(r, rng)
        idx = np.arange(len(names))
        if per_rater and per_rater < len(names):
            idx = np.sort(rng.choice(len(names), per_rater, replace=False))
        rows.extend((r.rid, names[i], int(stars[i])) for i in idx)
    with atomic_write(out_csv, "w") as fh:
        w = csv.writer(fh)
        w.writerow(["user", "image", "score"])
        w.writerows(rows)
    return len(rows)
