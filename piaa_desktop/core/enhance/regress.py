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
    def fit(cls, feats: np.ndarray, Z: np.ndarray, lam: float = 30.0) -> "StartModel":
        """Ridge regression of ``Z`` on ``feats``; ``lam`` is large because users give few examples."""
        feats = np.asarray(feats, np.float64)
        mu = feats.mean(0)
        sd = feats.std(0) + 1e-3
        X = (feats - mu) / sd
        mean_z = Z.mean(0)
        Y = Z - mean_z
        W = np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ Y).T
        return cls(mean_z, W, mu, sd)

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
