"""Enhancer environment, Q-learning, ONNX export and inference (small sizes: seconds, not minutes)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from piaa_desktop.core import develop as D
from piaa_desktop.core.enhance import env as E
from piaa_desktop.core.enhance.state import N_IMAGE_FEATURES, image_features
from piaa_desktop.core.enhance.regress import StartModel


@pytest.fixture(scope="module")
def photos(photos_dir):
    return [D.proxy(Image.open(f), 96) for f in sorted(photos_dir.glob("*.jpg"))[:6]]


def test_features_shape_and_sense(photos):
    f = image_features(photos[0])
    assert f.shape == (N_IMAGE_FEATURES,) and np.all(np.isfinite(f))
    bright = image_features(D.render(photos[0], {"exposure": 1.0}))
    assert bright[7] > f[7]  # mean luminance


def test_env_reward_is_decrease_of_colour_difference(photos):
    orig = photos[0]
    dark = D.render(orig, {"exposure": -0.6})
    ep = E.Episode.make(dark, orig)
    d0 = ep.distance()
    rewards, nexts = ep.lookahead()
    assert rewards.shape == (E.N_ACTIONS,) and nexts.shape == (E.N_ACTIONS, E.STATE_DIM)
    up = 2 * D.PARAM_NAMES.index("exposure")
    assert rewards[up] > 0 > rewards[up + 1]
    r, done = ep.step(up)
    assert r == pytest.approx(rewards[up], abs=1e-5) and not done
    assert ep.distance() == pytest.approx(d0 - r, abs=1e-5)
    assert ep.step(E.STOP) == (0.0, True)
    assert E.action_name(up) == "exposure +" and E.action_name(E.STOP) == "stop"
    z = E.apply_action(np.ones(E.N_PARAMS), 0)
    assert z[0] == 1.0  # clamped at the top of the range


def test_random_distortion_is_plausible():
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = E.random_distortion(rng)
        moved = [k for k, v in p.items() if v]
        assert 2 <= len(moved) <= 5
        assert abs(p["exposure"]) <= 1.0


def test_start_model_fit_predict_roundtrip(photos):
    feats = np.stack([image_features(D.proxy(p, 48)) for p in photos])
    Z = np.zeros((len(photos), E.N_PARAMS))
    Z[:, 0] = feats[:, 7] * -2 + 1  # exposure depends on brightness
    m = StartModel.fit(feats, Z, lam=0.1)
    pred = np.array([m.predict_features(f) for f in feats])
    assert np.corrcoef(pred[:, 0], Z[:, 0])[0, 1] > 0.9
    m2 = StartModel.from_json(m.to_json())
    assert np.allclose(m2.predict(D.proxy(photos[1], 48)), m.predict(D.proxy(photos[1], 48)))
    assert np.allclose(StartModel.identity().predict(photos[0]), 0)


def test_q_learning_export_onnx_and_inference(photos, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from piaa_desktop.core.enhance.policy import OnnxPolicy, TorchPolicy, export_onnx, run_policy, train_q
    from piaa_desktop.core.jobs import CancelToken, Cancelled

    def make(rng):
        o = photos[int(rng.integers(len(photos)))]
        ep = E.Episode.make(D.render(o, {"exposure": float(rng.uniform(-0.8, -0.3))}), o)
        ep.max_steps = 4
        return ep

    seen = []
    net = train_q(make, rounds=3, episodes_per_round=2, updates_per_round=40, progress=lambda d, t, m: seen.append(d))
    assert seen == [1, 2, 3]
    path = export_onnx(net, tmp_path / "p.onnx")
    states = np.stack([E.state_of(D.proxy(p, 48), np.zeros(E.N_PARAMS)) for p in photos])
    q_onnx = OnnxPolicy(path).q(states)
    q_torch = TorchPolicy(net).q(states)
    assert q_onnx.shape == (len(photos), E.N_ACTIONS)
    assert np.allclose(q_onnx, q_torch, atol=1e-4)
    assert np.all(q_onnx[:, E.STOP] == 0)
    z, traj = run_policy(OnnxPolicy(path), D.proxy(photos[0], 48), return_trajectory=True)
    assert len(traj) >= 1 and np.all(np.abs(z) <= 1.0)
    tok = CancelToken()
    tok.cancel()
    with pytest.raises(Cancelled):
        train_q(make, rounds=2, episodes_per_round=1, cancel=tok)


def test_personalisation_learns_a_consistent_style(photos):
    """A user who always warms and brightens: the personalised enhancer moves new photos that way."""
    pytest.importorskip("torch")
    from piaa_desktop.core.enhance.model import train_from_pairs

    style = {"exposure": 0.5, "temperature": 30}
    pairs = [(p, D.render(p, style)) for p in photos[:4]]
    model, _ = train_from_pairs(pairs, rounds=2, targets_z=np.stack([E.params_to_z(style)] * 4), max_steps=4)
    held_out = photos[5]
    start = E.z_to_params(model.start.predict(D.proxy(held_out, 48)))
    assert start["exposure"] > 0.3 and start["temperature"] > 20
    p = model.enhance(held_out)
    target = D.render(held_out, style)
    assert D.delta_e2000(D.render(held_out, p), target) < D.delta_e2000(held_out, target)
    assert isinstance(model.meta["refine"], bool) and "policy_gain_lcb_db" in model.meta
    # a rank_fn chooses among the versions the policy passed through (when refinement is on)
    model.meta["refine"] = True
    p = model.enhance(held_out)
    calls = []

    def rank(cands):
        calls.append(len(cands))
        return [-float(c.mean()) for c in cands]  # prefers the darkest version

    darker = model.enhance(held_out, rank_fn=rank)
    assert calls and (darker["exposure"] <= p["exposure"] or darker == p)


def test_shipped_policy(tmp_path):
    from piaa_desktop.core.enhance.model import EnhancerError, auto_enhance, load_shipped
    from piaa_desktop.core.models import load_manifest

    if "enhancer_policy" not in load_manifest()["models"]:
        pytest.skip("no shipped enhancer policy in models/")
    try:
        m = load_shipped()
    except EnhancerError as exc:
        pytest.fail(str(exc))
    assert m.weights is not None
    rng = np.random.default_rng(1)
    img = rng.random((40, 60, 3)).astype(np.float32)
    p = auto_enhance((img * 255).astype(np.uint8), model=m)
    assert set(p) == set(D.PARAM_NAMES)


def test_training_device_is_cuda_when_torch_sees_a_gpu(photos, monkeypatch):
    """The CUDA path: the device comes from torch.cuda.is_available(); the same code trains on the CPU
    (this machine has no GPU) with the network and targets on the chosen device, init weights included."""
    torch = pytest.importorskip("torch")
    from piaa_desktop.core.enhance import policy

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert policy.device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert policy.device().type == "cpu"

    def make(rng):
        o = photos[int(rng.integers(len(photos)))]
        ep = E.Episode.make(D.render(o, {"exposure": -0.5}), o)
        ep.max_steps = 2
        return ep

    logs = []
    net = policy.train_q(make, rounds=1, episodes_per_round=1, updates_per_round=2, log=logs.append)
    assert "on cpu" in logs[0]
    # fine-tuning from numpy weights (the personal path) moves them to the device too
    init = {k: v.clone() for k, v in net.state_dict().items()}
    logs.clear()
    net2 = policy.train_q(make, rounds=1, episodes_per_round=1, updates_per_round=2, init_state=init,
                          device_name="cpu", log=logs.append)
    assert next(net2.parameters()).device.type == "cpu" and "on cpu" in logs[0]


def test_regression_penalty_is_chosen_by_leave_one_out_on_the_users_pairs():
    """A style that follows the photo (brighten dark photos more) is learned with little shrinkage and
    predicted out of sample. Generated photos: no shared data needed."""
    from piaa_desktop.core.enhance.regress import LAMBDAS, StartModel, loo_predictions
    from piaa_desktop.core.enhance.state import image_features

    rng = np.random.default_rng(3)
    imgs = []
    for k in range(12):
        base = rng.uniform(0.15, 0.7)
        imgs.append(np.clip(base + rng.normal(0, 0.08, (24, 32, 3)), 0, 1).astype(np.float32))
    feats = np.stack([image_features(im) for im in imgs])
    ex = E.NAMES.index("exposure")

    Z = np.zeros((len(imgs), E.N_PARAMS))
    Z[:, ex] = [(0.45 - float(im.mean())) * 1.5 for im in imgs]
    tg = [D.render(im, E.z_to_params(z)) for im, z in zip(imgs, Z)]
    model, lam, loo = StartModel.fit_cv(feats, Z, imgs, tg)
    assert lam in LAMBDAS and lam < max(LAMBDAS) and loo.shape == Z.shape
    assert np.allclose(loo, loo_predictions(feats, Z, lam))
    # out-of-sample exposure follows the photo's brightness
    assert np.corrcoef(loo[:, ex], Z[:, ex])[0, 1] > 0.8
