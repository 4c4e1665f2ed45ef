"""Numpy inference of the personal-aesthetic prior, base heads and personal heads.

All shipped heads are *linear* over one feature vector per photo::

    phi(x) = [ (emb - emb_mean) @ proj ,  clip((signals - sig_mean) / sig_std, -5, 5) ]

where ``proj`` is a whitening PCA of the backbone embedding (k components) and the signals are the
named attributes of core.signals. A head (w, b) gives a taste score ``z = phi @ w + b`` in the units of
the rater's standardised ratings; stars are ``mu_u + sd_u * z`` with the user's (shrunk) rating
mean and spread. Because the head is linear it is folded into one 1280-vector plus one signals
vector, so re-scoring 100,000 cached photos is one matrix-vector product.

The model file (``models/personal_prior.npz``, verified against models/manifest.json) holds the
feature transform, the meta-learned initialisation and inner-loop hyper-parameters, the
average-rater baseline and the base heads (task vectors). torch is never imported here.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

PRIOR_MODEL = "personal_prior"
N_BINS = 5
# Width of the predicted rating distribution: logistic scale per star of predictive sd.
_LOGISTIC = 1.702


_MLP_KEYS = ("mlp_w1", "mlp_b1", "mlp_w2", "mlp_b2", "mlp_out", "mlp_lin")


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh form (the one torch's ``GELU(approximate="tanh")`` computes)."""
    return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x**3)))


@dataclass
class FeatureTransform:
    emb_mean: np.ndarray  # (E,)
    proj: np.ndarray  # (E, k)
    sig_mean: np.ndarray  # (S,)
    sig_std: np.ndarray  # (S,)
    # optional first column: a small MLP of the embedding (the generic aesthetic score), standardised:
    # col0 = (gelu((emb - emb_mean) @ w1 + b1) @ w2 + b2 - out[0]) / out[1]
    mlp_w1: Optional[np.ndarray] = None  # (E, h)
    mlp_b1: Optional[np.ndarray] = None  # (h,)
    mlp_w2: Optional[np.ndarray] = None  # (h,)
    mlp_b2: Optional[np.ndarray] = None  # ()
    mlp_out: Optional[np.ndarray] = None  # (2,) mean and sd of the raw output over the training photos
    # optional linear part of the column (a ridge head mixed into the MLP's output): + (emb - emb_mean) @ lin
    mlp_lin: Optional[np.ndarray] = None  # (E,)

    @property
    def n_mlp(self) -> int:
        return 0 if self.mlp_w1 is None else 1

    @property
    def dim(self) -> int:
        return self.n_mlp + self.proj.shape[1] + self.sig_mean.shape[0]

    @property
    def k(self) -> int:
        """Number of columns computed from the embedding (MLP column + linear projections)."""
        return self.n_mlp + self.proj.shape[1]

    def signals_z(self, signals: np.ndarray) -> np.ndarray:
        s = np.asarray(signals, dtype=np.float32)
        z = (s - self.sig_mean) / self.sig_std
        z = np.where(np.isfinite(z), z, 0.0)  # photos without signals sit at the mean
        return np.clip(z, -5.0, 5.0).astype(np.float32)

    def mlp_raw(self, emb: np.ndarray, chunk: int = 8192) -> np.ndarray:
        """The MLP's raw output (N,) on the 1-5 scale (chunked: bounded memory on big libraries)."""
        out = np.empty(len(emb), np.float32)
        for i in range(0, len(emb), chunk):
            x = np.asarray(emb[i:i + chunk], dtype=np.float32) - self.emb_mean
            r = gelu(x @ self.mlp_w1 + self.mlp_b1) @ self.mlp_w2 + self.mlp_b2
            out[i:i + chunk] = r if self.mlp_lin is None else r + x @ self.mlp_lin
        return out

    def mlp_column(self, emb: np.ndarray) -> np.ndarray:
        return ((self.mlp_raw(emb) - self.mlp_out[0]) / self.mlp_out[1]).astype(np.float32)

    def __call__(self, emb: np.ndarray, signals: Optional[np.ndarray] = None,
                 mlp_column: Optional[np.ndarray] = None) -> np.ndarray:
        """(N,E) embeddings and (N,S) signals -> (N, dim) features (float32). ``mlp_column`` passes the
        MLP column when it is already known (see :class:`MlpCache`)."""
        emb = np.asarray(emb, dtype=np.float32)
        if emb.ndim != 2 or emb.shape[1] != self.emb_mean.shape[0]:
            raise ValueError(f"embeddings must be (N, {self.emb_mean.shape[0]}), got {emb.shape}")
        if signals is None:
            signals = np.full((len(emb), len(self.sig_mean)), np.nan, np.float32)
        return np.concatenate([self.embedding_part(emb, mlp_column), self.signals_z(signals)], axis=1).astype(np.float32)

    def embedding_part(self, emb: np.ndarray, mlp_column: Optional[np.ndarray] = None) -> np.ndarray:
        """The first :attr:`k` columns of the features, those computed from the embedding alone (the MLP
        column, then the whitened PCA): (N, k) float32. The rest are :meth:`signals_z`."""
        emb = np.asarray(emb, dtype=np.float32)
        parts = []
        if self.n_mlp:
            col = self.mlp_column(emb) if mlp_column is None else np.asarray(mlp_column, np.float32)
            parts.append(col[:, None])
        parts.append((emb - self.emb_mean) @ self.proj)
        return np.concatenate(parts, axis=1).astype(np.float32)

    def arrays(self, prefix: str = "") -> dict:
        out = {prefix + "emb_mean": self.emb_mean, prefix + "proj": self.proj,
               prefix + "sig_mean": self.sig_mean, prefix + "sig_std": self.sig_std}
        if self.n_mlp:
            out.update({prefix + k: getattr(self, k) for k in _MLP_KEYS if getattr(self, k) is not None})
        return out

    @classmethod
    def from_arrays(cls, d, prefix: str = "") -> "FeatureTransform":
        base = [np.asarray(d[prefix + k], dtype=np.float32) for k in ("emb_mean", "proj", "sig_mean", "sig_std")]
        files = set(getattr(d, "files", None) or d.keys())
        mlp = [np.asarray(d[prefix + k], dtype=np.float32) if prefix + k in files else None for k in _MLP_KEYS]
        return cls(*base, *mlp)

    @classmethod
    def fit(cls, emb: np.ndarray, signals: np.ndarray, k: int = 64) -> "FeatureTransform":
        """Whitening PCA of the embeddings and per-signal standardisation (training code)."""
        emb = np.asarray(emb, dtype=np.float64)
        mean = emb.mean(axis=0)
        u, s, vt = np.linalg.svd(emb - mean, full_matrices=False)
        k = min(k, len(s))
        var = s[:k] ** 2 / max(len(emb) - 1, 1)
        proj = vt[:k].T / np.sqrt(var + 1e-6)
        sig = np.asarray(signals, dtype=np.float64)
        sm = np.nanmean(sig, axis=0)
        ss = np.nanstd(sig, axis=0)
        ss = np.where(ss > 1e-9, ss, 1.0)
        return cls(mean.astype(np.float32), proj.astype(np.float32), sm.astype(np.float32), ss.astype(np.float32))


class MlpCache:
    """The MLP column of photos already seen, by photo id (checked against the first embedding values, so
    a photo whose content changed is recomputed): re-training on a 100,000-photo library then computes
    the MLP only for new photos."""

    def __init__(self):
        import threading

        self._lock = threading.Lock()
        self._key = None
        self._ids = np.zeros(0, np.int64)
        self._check = np.zeros((0, 8), np.float32)
        self._vals = np.zeros(0, np.float32)

    def column(self, transform: FeatureTransform, key, ids: np.ndarray, emb: np.ndarray) -> np.ndarray:
        with self._lock:  # jobs may run on two worker threads
            return self._column(transform, key, ids, emb)

    def _column(self, transform: FeatureTransform, key, ids: np.ndarray, emb: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, np.int64)
        emb = np.asarray(emb, np.float32)
        check = emb[:, :8]
        out = np.empty(len(ids), np.float32)
        known = np.zeros(len(ids), bool)
        if self._key == key and len(self._ids):
            pos = np.clip(np.searchsorted(self._ids, ids), 0, len(self._ids) - 1)
            known = (self._ids[pos] == ids) & np.all(self._check[pos] == check, axis=1)
            out[known] = self._vals[pos[known]]
        if (~known).any():
            out[~known] = transform.mlp_column(emb[~known])
        order = np.argsort(ids, kind="stable")
        self._key, self._ids, self._check, self._vals = key, ids[order], check[order].copy(), out[order].copy()
        return out


@dataclass
class Head:
    """A linear taste head over phi, plus the user's star calibration."""

    w: np.ndarray
    b: float = 0.0
    mu: float = 3.0  # user's mean stars
    sd: float = 1.0  # user's stars per unit of z
    resid: float = 0.7  # predictive sd of z (for the distribution)
    meta: dict = field(default_factory=dict)

    def z(self, feats: np.ndarray) -> np.ndarray:
        return feats @ self.w + self.b

    def stars(self, feats: np.ndarray) -> np.ndarray:
        return self.mu + self.sd * self.z(feats)

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, w=self.w.astype(np.float32), b=np.float32(self.b), mu=np.float32(self.mu),
                 sd=np.float32(self.sd), resid=np.float32(self.resid), meta=np.array(json.dumps(self.meta)))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "Head":
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return cls(np.asarray(z["w"], np.float32), float(z["b"]), float(z["mu"]), float(z["sd"]),
                       float(z["resid"]), json.loads(str(z["meta"])))

    def is_finite(self) -> bool:
        return bool(np.all(np.isfinite(self.w)) and all(np.isfinite([self.b, self.mu, self.sd, self.resid])))


@dataclass
class Prior:
    """Everything in models/personal_prior.npz."""

    transform: FeatureTransform
    w0: np.ndarray  # meta-learned initialisation
    b0: float
    lr: np.ndarray  # (d+1,) meta-learned per-parameter inner learning rates (last: bias)
    rho: np.ndarray  # (d+1,) meta-learned pull toward the initialisation
    steps: int
    pair_weight: float
    pop_mu: float  # population mean stars
    pop_sd: float  # population stars per unit z
    n0: float  # pseudo-count shrinking the user's mean/spread toward the population
    resid: float  # residual sd of z after adaptation (held-out raters)
    avg_w: np.ndarray  # average-rater baseline head
    avg_b: float
    ft_lr: float  # tuned uniform learning rate / pull for fine-tuning the average-rater head
    ft_rho: float
    base_names: list[str]
    base_w: np.ndarray  # (m, d) base heads, each scaled to unit sd of score over the training photos
    base_b: np.ndarray  # (m,)
    info: dict = field(default_factory=dict)
    _mlp_cache: MlpCache = field(default_factory=MlpCache, repr=False, compare=False)

    @property
    def dim(self) -> int:
        return self.transform.dim

    def features(self, emb: np.ndarray, signals: Optional[np.ndarray] = None, ids: Optional[np.ndarray] = None) -> np.ndarray:
        """Features of photos; with their ``ids`` the MLP column of photos seen before is reused."""
        if ids is not None and self.transform.n_mlp:
            col = self._mlp_cache.column(self.transform, id(self), ids, emb)
            return self.transform(emb, signals, mlp_column=col)
        return self.transform(emb, signals)

    def prior_head(self) -> Head:
        """The meta-learned initialisation (the starting point of adaptation)."""
        return Head(self.w0.copy(), self.b0, self.pop_mu, self.pop_sd, self.resid, {"kind": "meta-init"})

    def generic_head(self) -> Head:
        """The population's taste with no user data: the average-rater head, which ranks held-out
        raters' photos better than the meta-learned initialisation does before adaptation."""
        return Head(self.avg_w.copy(), self.avg_b, self.pop_mu, self.pop_sd, self.resid, {"kind": "prior"})

    def save(self, path: Path) -> None:
        from piaa_desktop.core.fsutil import atomic_write

        arrays = dict(self.transform.arrays())
        arrays.update(
            w0=self.w0, b0=np.float32(self.b0), lr=self.lr, rho=self.rho, steps=np.int32(self.steps),
            pair_weight=np.float32(self.pair_weight), pop_mu=np.float32(self.pop_mu), pop_sd=np.float32(self.pop_sd),
            n0=np.float32(self.n0), resid=np.float32(self.resid), avg_w=self.avg_w, avg_b=np.float32(self.avg_b),
            ft_lr=np.float32(self.ft_lr), ft_rho=np.float32(self.ft_rho), base_names=np.array(self.base_names),
            base_w=self.base_w, base_b=self.base_b, info=np.array(json.dumps(self.info, sort_keys=True)),
        )
        arrays = {k: (np.asarray(v, np.float32) if np.asarray(v).dtype.kind == "f" else np.asarray(v))
                  for k, v in arrays.items()}
        with atomic_write(path, "wb") as fh:
            np.savez_compressed(fh, **arrays)

    @classmethod
    def load(cls, path: Path) -> "Prior":
        with np.load(path, allow_pickle=False) as z:
            f = lambda k: np.asarray(z[k], np.float32)  # noqa: E731
            return cls(
                transform=FeatureTransform.from_arrays(z), w0=f("w0"), b0=float(z["b0"]), lr=f("lr"), rho=f("rho"),
                steps=int(z["steps"]), pair_weight=float(z["pair_weight"]), pop_mu=float(z["pop_mu"]),
                pop_sd=float(z["pop_sd"]), n0=float(z["n0"]), resid=float(z["resid"]), avg_w=f("avg_w"),
                avg_b=float(z["avg_b"]), ft_lr=float(z["ft_lr"]), ft_rho=float(z["ft_rho"]),
                base_names=[str(s) for s in z["base_names"]], base_w=f("base_w"), base_b=f("base_b"),
                info=json.loads(str(z["info"])),
            )


_cache: dict[str, Prior] = {}


def load_prior(path: Optional[Path] = None) -> Prior:
    """The shipped prior (verified against the manifest), or the one at ``path``. Cached."""
    if path is None:
        from piaa_desktop.core.models import model_path

        path = model_path(PRIOR_MODEL)
    key = str(path)
    if key not in _cache:
        _cache[key] = Prior.load(Path(path))
    return _cache[key]


def fold(head: Head, transform: FeatureTransform) -> tuple[np.ndarray, np.ndarray, float]:
    """(w_emb (E,), w_sig (S,), const) such that z = emb @ w_emb + signals_z @ w_sig + const
    (+ ``head.w[0] * transform.mlp_column(emb)`` when the transform has an MLP column)."""
    m = transform.n_mlp
    k = transform.k
    w_emb = transform.proj @ head.w[m:k]
    const = float(head.b - transform.emb_mean @ w_emb)
    return w_emb.astype(np.float32), head.w[k:].astype(np.float32), const


def score_library(head: Head, transform: FeatureTransform, emb: np.ndarray, signals: Optional[np.ndarray] = None,
                  mlp_column: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray]:
    """Stars (N,) and 1-5 distributions (N,5) for cached embeddings: one matrix-vector product (plus the
    MLP column, computed here unless ``mlp_column`` gives it already)."""
    w_emb, w_sig, c = fold(head, transform)
    z = np.asarray(emb, dtype=np.float32) @ w_emb + c
    if signals is not None:
        z = z + transform.signals_z(signals) @ w_sig
    if transform.n_mlp:
        col = transform.mlp_column(emb) if mlp_column is None else np.asarray(mlp_column, np.float32)
        z = z + head.w[0] * col
    stars = head.mu + head.sd * z
    return stars.astype(np.float32), star_distribution(stars, head.sd * head.resid)


def score_features(head: Head, feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stars (N,) and 1-5 distributions (N,5) from the features themselves (phi rows stored in the catalog:
    core.personal.operations.library_features): one (N, dim) matrix-vector product."""
    stars = head.stars(np.asarray(feats, dtype=np.float32))
    return stars.astype(np.float32), star_distribution(stars, head.sd * head.resid)


def expected_stars(dists: np.ndarray) -> np.ndarray:
    """The score shown to the user: the mean of the 5-bin distribution, so it stays on the 1-5 scale.

    The head's latent stars can leave [1, 5] (a photo far below anything rated); with one predictive sd
    per head the mean is a strictly increasing function of them, so every ranking is unchanged."""
    return (np.asarray(dists, dtype=np.float64) @ np.arange(1, N_BINS + 1, dtype=np.float64)).astype(np.float32)


def star_distribution(stars: np.ndarray, sd: float | np.ndarray) -> np.ndarray:
    """Discretised logistic over the bins 1..5 around ``stars`` with predictive sd ``sd`` (rows sum to 1)."""
    stars = np.asarray(stars, dtype=np.float64)
    s = np.maximum(np.asarray(sd, dtype=np.float64), 0.05) / _LOGISTIC
    edges = np.array([1.5, 2.5, 3.5, 4.5])
    cdf = 1.0 / (1.0 + np.exp(-(edges[None, :] - stars[:, None]) / np.reshape(s, (-1, 1))))
    cdf = np.concatenate([np.zeros((len(stars), 1)), cdf, np.ones((len(stars), 1))], axis=1)
    return np.diff(cdf, axis=1).astype(np.float32)


def generic_scores(emb: np.ndarray, signals: Optional[np.ndarray] = None, prior: Optional[Prior] = None,
                   mlp_column: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray, str]:
    """The generic (population) aesthetic score: (stars (N,) on 1-5, (N,5) distributions, model version).

    It is the prior's average-rater head (no adaptation), i.e. the expected taste of the rater
    population (see models/README.md), on the population's scale of stars. ``mlp_column`` passes the
    prior's MLP column when it is already known (stored in the catalog: core.personal.operations). Raises
    core.models.ModelError when the shipped prior is missing or damaged.
    """
    prior = prior or load_prior()
    version = generic_version(prior)
    emb = np.asarray(emb, dtype=np.float32)
    if len(emb) == 0:
        return np.zeros(0, np.float32), np.zeros((0, N_BINS), np.float32), version
    _stars, dists = score_library(prior.generic_head(), prior.transform, emb, signals, mlp_column=mlp_column)
    return expected_stars(dists), dists, version


def generic_version(prior: Prior) -> str:
    return "prior-" + str(prior.info.get("trained_at", "untrained")).replace(" ", "T")
