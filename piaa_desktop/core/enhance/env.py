"""The retouching environment of the enhancer (numpy, no torch).

* **State**: features of the current render of the photo's proxy (colour histograms, luminance
  statistics; see :mod:`.features`) plus the current develop parameters (in units of half their range).
* **Actions**: one step up or one step down on each develop parameter, and ``stop``.
* **Reward**: the decrease of the mean CIEDE2000 colour difference between the current render and
  the target (both small proxies) caused by the step. ``stop`` ends the episode with reward 0.

The render is :func:`piaa_desktop.core.develop.render`, the same code the editor and export use.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from piaa_desktop.core import develop
from piaa_desktop.core.enhance.state import N_IMAGE_FEATURES, STATE_SIDE, image_features, image_features_batch

# The develop sliders the enhancer sets: tone and colour. Geometry (crop, straighten, rotate) and any
# slider not listed here are never touched by auto-enhance: they keep whatever the user set.
NAMES: tuple[str, ...] = (
    "exposure", "contrast", "highlights", "shadows", "whites", "blacks", "temperature", "tint",
    "saturation", "vibrance", "curve_darks", "curve_midtones", "curve_lights",
)
_P = [develop.PARAM_BY_NAME[n] for n in NAMES]
SCALE = np.array([(p.max - p.min) / 2.0 for p in _P], dtype=np.float64)  # half the range: the units of z
LO = np.array([p.min for p in _P], dtype=np.float64) / SCALE  # bounds of z
HI = np.array([p.max for p in _P], dtype=np.float64) / SCALE
N_PARAMS = len(NAMES)
# develop parameters that change the framing, not the look (matched by name): outside the enhancer's
# scope, and adding one does not make a trained enhancer stale
GEOMETRY_HINTS = ("crop", "straighten", "rotat", "angle", "flip", "aspect", "orient")


def is_geometry(name: str) -> bool:
    return name in getattr(develop, "GEOMETRY_NAMES", ()) or any(h in name for h in GEOMETRY_HINTS)


def param_signature() -> dict:
    """What a trained enhancer depends on: its sliders with their ranges, and the develop pipeline's
    other non-geometric sliders. Stored beside every enhancer model; a model whose signature differs
    from the running code's (a slider added, removed or re-ranged) must be re-trained."""
    import hashlib
    import json

    sliders = [[p.name, p.min, p.max, p.default] for p in _P]
    others = sorted(p.name for p in develop.PARAMS if p.name not in NAMES and not is_geometry(p.name))
    body = {"sliders": sliders, "other_tonal": others}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    return {"id": digest, "sliders": list(NAMES), "other_tonal": others}


def signature_problem(stored: Optional[dict]) -> Optional[str]:
    """None if ``stored`` (a model's signature) matches this version's develop sliders, else why not."""
    cur = param_signature()
    if not isinstance(stored, dict) or "id" not in stored:
        return "it was trained by an older version that did not record its develop sliders"
    if stored.get("id") == cur["id"]:
        return None
    old = set(stored.get("sliders", [])) | set(stored.get("other_tonal", []))
    new = set(cur["sliders"]) | set(cur["other_tonal"])
    added, removed = sorted(new - old), sorted(old - new)
    parts = []
    if added:
        parts.append("new develop sliders " + ", ".join(added))
    if removed:
        parts.append("sliders no longer in develop: " + ", ".join(removed))
    return "it was trained for other develop sliders (" + ("; ".join(parts) or "changed ranges") + ")"
N_ACTIONS = 2 * N_PARAMS + 1  # action 2k: param k up, 2k+1: param k down, last: stop
STOP = N_ACTIONS - 1
STATE_DIM = N_IMAGE_FEATURES + N_PARAMS
# step per action, in units of half the parameter's range (exposure: 0.24 EV, sliders: 8)
STEP = 0.08
MAX_STEPS = 24
REWARD_SIDE = 32  # long side of the proxies the reward is measured on


def action_name(a: int) -> str:
    if a == STOP:
        return "stop"
    return f"{NAMES[a // 2]} {'+' if a % 2 == 0 else '-'}"


def apply_action(z: np.ndarray, a: int) -> np.ndarray:
    """New normalised parameter vector after action ``a`` (clamped to the parameter ranges)."""
    z = z.copy()
    if a != STOP:
        k = a // 2
        z[k] = np.clip(z[k] + (STEP if a % 2 == 0 else -STEP), LO[k], HI[k])
    return z


def z_to_params(z: np.ndarray) -> dict:
    """The enhancer's sliders (only those) from normalised values, clamped and rounded."""
    v = np.clip(np.asarray(z, dtype=np.float64).reshape(N_PARAMS), LO, HI) * SCALE
    return {k: round(float(x), 3) for k, x in zip(NAMES, v)}


def params_to_z(params) -> np.ndarray:
    n = develop.normalize_params(params)
    return np.array([n[k] for k in NAMES], dtype=np.float64) / SCALE


def merge_params(existing: Optional[dict], enhanced: dict) -> dict:
    """A photo's new edit after auto-enhance: the enhancer's sliders replaced, everything else (crop,
    straighten, rotation, sliders the enhancer does not know) kept as it was."""
    out = {k: v for k, v in (existing or {}).items() if k not in NAMES}
    out.update(enhanced)
    return out


def state_of(img_small: np.ndarray, z: np.ndarray) -> np.ndarray:
    """State vector of a photo proxy ``img_small`` rendered with normalised params ``z``."""
    rendered = develop.render(img_small, z_to_params(z))
    return np.concatenate([image_features(rendered), np.asarray(z, np.float32)]).astype(np.float32)


@dataclass
class Episode:
    """One photo to retouch: its proxies, its target, and the current parameters."""

    src: np.ndarray  # state proxy (STATE_SIDE) of the photo
    src_r: np.ndarray  # reward proxy (REWARD_SIDE) of the photo
    target_lab: np.ndarray  # Lab of the target at REWARD_SIDE
    z: np.ndarray = field(default_factory=lambda: np.zeros(N_PARAMS))
    steps: int = 0
    done: bool = False
    max_steps: int = MAX_STEPS

    @classmethod
    def make(cls, src: np.ndarray, target: np.ndarray, z0: Optional[np.ndarray] = None) -> "Episode":
        s = develop.proxy(src, STATE_SIDE)
        sr = develop.proxy(src, REWARD_SIDE)
        t = develop.proxy(target, REWARD_SIDE)
        if t.shape != sr.shape:
            from PIL import Image

            t = np.asarray(
                Image.fromarray((t * 255 + 0.5).astype(np.uint8)).resize((sr.shape[1], sr.shape[0]), Image.Resampling.BOX),
                np.float32,
            ) / 255.0
        z = np.zeros(N_PARAMS) if z0 is None else np.asarray(z0, dtype=np.float64).copy()
        return cls(s, sr, develop.rgb_to_lab(t), z)

    def distance(self, z: Optional[np.ndarray] = None) -> float:
        r = develop.render(self.src_r, z_to_params(self.z if z is None else z))
        return float(develop.ciede2000(develop.rgb_to_lab(r), self.target_lab).mean())

    def state(self) -> np.ndarray:
        return state_of(self.src, self.z)

    def step(self, a: int) -> tuple[float, bool]:
        """Apply action ``a``; returns (reward, done)."""
        if a == STOP:
            self.done = True
            return 0.0, True
        before = self.distance()
        self.z = apply_action(self.z, a)
        self.steps += 1
        reward = before - self.distance()
        self.done = self.steps >= self.max_steps
        return reward, self.done

    def lookahead(self) -> tuple[np.ndarray, np.ndarray]:
        """Rewards of every action from the current state and the next states' feature vectors.

        The environment is a cheap deterministic simulator, so the learner backs up all actions of a
        visited state at once (a full-width one-step backup) instead of only the one it took. All
        next states are rendered in one batch (``develop.render_batch``).
        """
        zs = [self.z] + [apply_action(self.z, a) for a in range(N_ACTIONS - 1)]
        plist = [z_to_params(z) for z in zs]
        r_imgs = develop.render_batch(self.src_r, plist)
        d = develop.ciede2000(develop.rgb_to_lab(r_imgs), self.target_lab[None]).reshape(len(zs), -1).mean(axis=1)
        rewards = np.zeros(N_ACTIONS, dtype=np.float32)
        rewards[:-1] = d[0] - d[1:]
        s_imgs = develop.render_batch(self.src, plist[1:])
        nexts = np.zeros((N_ACTIONS, STATE_DIM), dtype=np.float32)
        nexts[:-1, :N_IMAGE_FEATURES] = image_features_batch(s_imgs)
        nexts[:-1, N_IMAGE_FEATURES:] = np.stack(zs[1:])
        return rewards, nexts


def random_distortion(rng: np.random.Generator, strength: float = 0.45) -> dict:
    """A random plausible edit (2 to 5 sliders moved) used to distort real photos for pre-training."""
    z = np.zeros(N_PARAMS)
    k = rng.integers(2, 6)
    names = list(NAMES)
    # exposure, contrast and white balance are the commonest faults: pick them more often
    weights = np.array([3.0 if n in ("exposure", "contrast", "temperature", "tint", "saturation") else 1.0 for n in names])
    idx = rng.choice(N_PARAMS, size=k, replace=False, p=weights / weights.sum())
    z[idx] = rng.uniform(-strength, strength, size=k)
    z[NAMES.index("exposure")] *= 0.7  # +-0.9 EV at most
    return z_to_params(z)
