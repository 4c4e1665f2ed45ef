"""Stats-space targets (lab.enhance_stats): statistics, their ridge, the steering controller, the gate."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from piaa_desktop.core import develop as D
from piaa_desktop.core.enhance import env as E
from piaa_desktop.lab import enhance_stats as S


@pytest.fixture(scope="module")
def photos(photos_dir):
    return [D.proxy(Image.open(f), 96) for f in sorted(photos_dir.glob("*.jpg"))[:8]]


def test_render_stats_follow_the_look(photos):
    img = photos[0]
    s = S.render_stats(img)
    assert s.shape == (len(S.STATS),) and np.all(np.isfinite(s))
    assert np.all(np.diff(s[:5]) >= 0)  # percentiles in order
    bright = S.render_stats(D.render(img, {"exposure": 0.8}))
    assert np.all(bright[:5] >= s[:5]) and bright[2] > s[2] + 0.03
    warm = S.render_stats(D.render(img, {"temperature": 60}))
    assert warm[S.STATS.index("b_mean")] > s[S.STATS.index("b_mean")] + 0.02
    grey = S.render_stats(D.render(img, {"saturation": -100}))
    assert grey[S.STATS.index("chroma")] < 0.2 * s[S.STATS.index("chroma")] + 1e-3


def test_steer_reaches_known_statistics_and_only_moves_free_sliders(photos):
    img = D.proxy(photos[1], 48)
    want = {"exposure": 0.45, "temperature": 35.0, "tint": -10.0}
    target = D.render(img, want)
    z0 = np.zeros(E.N_PARAMS)
    w = np.ones(len(S.STATS)) * 10.0
    z = S.steer(img, z0, S.render_stats(target), w, prox=0.01)
    before, after = D.psnr(img, target), D.psnr(D.render(img, E.z_to_params(z)), target)
    assert after > before + 8.0 and after > 32.0
    # only white balance free: every other slider stays where it started, and the cast is corrected
    wc = np.zeros(len(S.STATS))
    wc[list(S.COLOUR_CAST)] = 10.0
    zwb = S.steer(img, z0, S.render_stats(target), wc, prox=0.01, free=S.WHITE_BALANCE)
    moved = np.flatnonzero(np.abs(zwb - z0) > 1e-9)
    assert set(moved) <= set(S.WHITE_BALANCE) and zwb[E.NAMES.index("temperature")] > 0.15


def test_stats_target_learns_a_consistent_output_look(photos):
    # a "user" who always brings the median lightness to the same level: the ridge of the change learns it
    srcs = [D.proxy(p, 48) for p in photos]
    tgts = []
    for s in srcs:
        y = float(S.render_stats(s)[2])
        tgts.append(D.render(s, {"exposure": float(np.clip(2.2 * (0.55 - y), -1.5, 1.5))}))
    feats = np.stack([S.image_features(s) for s in srcs])
    s_in = np.stack([S.render_stats(s) for s in srcs])
    s_tgt = np.stack([S.render_stats(t) for t in tgts])
    st = S.StatsTarget.fit(feats[:-1], s_in[:-1], s_tgt[:-1], lam=1.0)
    pred = st.predict(feats[-1], s_in[-1])
    assert abs(pred[2] - s_tgt[-1][2]) < abs(s_in[-1][2] - s_tgt[-1][2]) + 1e-9
    assert abs(pred[2] - s_tgt[-1][2]) < 0.06


def test_evaluate_on_a_consistent_colour_style(photos):
    # the user's retouch: a fixed warm-up and a little exposure. Everything is fitted on training pairs.
    style = {"temperature": 30.0, "exposure": 0.2}
    pairs = [S.Pair(p, D.render(p, style), E.params_to_z(style)) for p in photos[:6]]
    splits = [([0, 1, 2, 3], [4, 5]), ([2, 3, 4, 5], [0, 1])]
    res = S.evaluate(pairs, splits)
    psnr = res["psnr"]
    assert set(psnr) >= {"regression", "steer_all_stats", "steer_colour_cast", "steer_colour_cast_gated"}
    assert all(len(v) == 4 for v in psnr.values())
    assert len(res["gates"]) == 2 and all(isinstance(g["on"], bool) for g in res["gates"])
    # a constant style is learnt by the regression: far better than leaving the photo as it was
    ident = np.mean([D.psnr(p.src, p.tgt) for p in pairs])
    assert np.mean(psnr["regression"]) > ident + 5.0
    gated = np.asarray(psnr["steer_colour_cast_gated"])
    for g, (_tr, te), k in zip(res["gates"], splits, (0, 2)):
        expect = psnr["steer_colour_cast"][k:k + 2] if g["on"] else psnr["regression"][k:k + 2]
        assert np.allclose(gated[k:k + 2], expect)
