"""Parameter targets and the direct-regression start model (numpy + scipy only).

* :func:`fit_targets` turns (input, retouched) pairs into develop parameters with
  :func:`piaa_desktop.core.develop.fit_params`.
* :class:`StartModel` predicts parameters from image features by ridge regression shrunk towards
  the user's mean parameters. It is the "direct regression" baseline and the starting point the DRL
  policy refines step by step (the hybrid).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from piaa_desktop.core import develop
from piaa_desktop.core.enhance import env as E
from piaa_desktop.core.enhance.state import image_features
from piaa_desktop.core.jobs import CancelToken, ProgressCallback, ensure

FIT_SIDE = 64


def fit_targets(
    pairs: Sequence[tuple[np.ndarray, np.ndarray]],
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
) -> np.ndarray:
    """(n, N_PARAMS) normalised parameters that best turn each input into its target."""
    progress, cancel = ensure(progress, cancel)
    out = np.zeros((len(pairs), E.N_PARAMS))
    for i, (src, dst) in enumerate(pairs):
        cancel.raise_if_cancelled()
        out[i] = E.params_to_z(develop.fit_params(src, dst, max_side=FIT_SIDE, max_iter=20, names=E.NAMES))
        progress(i + 1, len(pairs), f"fitting parameters of retouch {i + 1}/{len(pairs)}")
    return out


# Ridge penalties tried by leave-one-out on the user's pairs (StartModel.fit_cv). On FiveK Expert C
# (leave-one-out over the 20 pairs, inner LOO choosing) 100 was chosen in every fold.
LAMBDAS = (10.0, 30.0, 100.0, 300.0, 1000.0)
DEFAULT_LAMBDA = 100.0


def loo_predictions(feats: np.ndarray, Z: np.ndarray, lam: float) -> np.ndarray:
    """(n, N_PARAMS) leave-one-out predictions of the ridge start model."""
    n = len(feats)
    out = np.zeros((n, E.N_PARAMS))
    for i in range(n):
        keep = np.arange(n) != i
        out[i] = StartModel.fit(feats[keep], Z[keep], lam=lam).predict_features(feats[i])
    return out


@dataclass
class StartModel:
    mean_z: np.ndarray
    W: np.ndarray  # (N_PARAMS, n_features) on standardised features
    feat_mu: np.ndarray
    feat_sd: np.ndarray

    @classmethod
    def identity(cls) -> "StartModel":
        d = E.N_IMAGE_FEATURES
        return cls(np.zeros(E.N_PARAMS), np.zeros((E.N_PARAMS, d)), np.zeros(d), np.ones(d))

    @classmethod
    def fit(cls, feats: np.ndarray, Z: np.ndarray, lam: float = DEFAULT_LAMBDA) -> "StartModel":
        """Ridge regression of ``Z`` on ``feats``; ``lam`` is large because users give few examples."""
        feats = np.asarray(feats, np.float64)
        mu = feats.mean(0)
        sd = feats.std(0) + 1e-3
        X = (feats - mu) / sd
        mean_z = Z.mean(0)
        Y = Z - mean_z
        W = np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ Y).T
        return cls(mean_z, W, mu, sd)

    @classmethod
    def fit_cv(
        cls,
        feats: np.ndarray,
        Z: np.ndarray,
        srcs: Sequence[np.ndarray],
        targets: Sequence[np.ndarray],
        lams: Sequence[float] = LAMBDAS,
    ) -> tuple["StartModel", float, Optional[np.ndarray]]:
        """Ridge with its penalty chosen by leave-one-out on the user's own pairs (mean PSNR of the LOO
        prediction rendered on small proxies ``srcs`` vs ``targets``). Returns the model fitted on all
        pairs, the penalty, and the out-of-sample (LOO) parameters of every pair (None with < 4 pairs)."""
        feats = np.asarray(feats, np.float64)
        n = len(feats)
        if n < 4:
            return cls.fit(feats, Z, lam=DEFAULT_LAMBDA), DEFAULT_LAMBDA, None
        best = (-np.inf, DEFAULT_LAMBDA, None)
        for lam in lams:
            loo = loo_predictions(feats, Z, lam)
            score = float(np.mean([develop.psnr(develop.render(srcs[i], E.z_to_params(loo[i])), targets[i]) for i in range(n)]))
            if score > best[0] + 1e-9:
                best = (score, lam, loo)
        return cls.fit(feats, Z, lam=best[1]), float(best[1]), best[2]

    def predict(self, img_small: np.ndarray) -> np.ndarray:
        return self.predict_features(image_features(img_small))

    def predict_features(self, f: np.ndarray) -> np.ndarray:
        z = self.mean_z + self.W @ ((np.asarray(f, np.float64) - self.feat_mu) / self.feat_sd)
        return np.clip(z, E.LO, E.HI)

    def to_json(self) -> dict:
        return {k: np.asarray(getattr(self, k)).tolist() for k in ("mean_z", "W", "feat_mu", "feat_sd")}

    @classmethod
    def from_json(cls, d: dict) -> "StartModel":
        m = cls(*(np.asarray(d[k], np.float64) for k in ("mean_z", "W", "feat_mu", "feat_sd")))
        if m.W.shape != (E.N_PARAMS, E.N_IMAGE_FEATURES):
            raise ValueError("enhancer start model does not match this version's parameters")
        return m

    def dumps(self) -> str:
        return json.dumps(self.to_json())
