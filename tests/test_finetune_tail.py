"""Fine-tuning the backbone's last blocks from cached activations (training/finetune_tail.py), on the CPU."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def net():
    from piaa_desktop.training.export_backbone import build_torch_backbone

    return build_torch_backbone().net


def _act10(net, x):
    with torch.no_grad():
        h = net._swish(net._bn0(net._conv_stem(x)))
        for b in net._blocks[:11]:
            h = b(h)
    return h


def test_tail_on_cached_activations_reproduces_the_backbone_embedding(net):
    from piaa_desktop.training.finetune_tail import build_tail

    x = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (2, 3, 224, 224)).astype(np.float32))
    act = _act10(net, x)
    with torch.no_grad():
        full = net.extract_features(x).mean(dim=(2, 3))
        for k in (0, 1, 2):
            frozen, tail = build_tail(net, k)
            tail.eval()
            out = tail(frozen(act))
            assert out.shape == (2, 1280)
            torch.testing.assert_close(out, full, atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError):
        build_tail(net, 6)


def test_device_is_cuda_when_torch_sees_a_gpu(monkeypatch):
    from piaa_desktop.training import finetune_tail

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert finetune_tail.device().type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert finetune_tail.device().type == "cuda"


def test_finetune_moves_the_tail_and_reports_val_per_epoch(net):
    """Two epochs on a few generated activations: the report has the frozen baseline and each epoch, the
    trainable blocks' weights change while the frozen ones do not."""
    from piaa_desktop.training.finetune_tail import build_tail, finetune

    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.uniform(-1, 1, (12, 3, 224, 224)).astype(np.float32))
    act = _act10(net, x).numpy().astype(np.float16)
    act_flip = _act10(net, torch.flip(x, dims=[3])).numpy().astype(np.float16)
    y = rng.uniform(1, 5, 12)
    res = finetune(act, act_flip, y, np.arange(8), np.arange(8, 12), blocks=1, epochs=2, lr=1e-2, batch=4,
                   net=net, log=lambda s: None)
    rep = res["report"]
    assert rep["device"] == "cpu" and {"epoch_0", "epoch_1", "epoch_2"} <= set(rep)
    assert rep["best_epoch"] in (0, 1, 2) and -1 <= rep["best_val_srocc_ridge"] <= 1
    _, tail0 = build_tail(net, 1)
    assert set(res["state"]) == set(tail0.state_dict())
    # the original network was not modified by training (the tail is a copy)
    frozen, tail = build_tail(net, 1)
    with torch.no_grad():
        torch.testing.assert_close(tail(frozen(torch.from_numpy(act[:2].astype(np.float32)))),
                                   net.extract_features(x[:2]).mean(dim=(2, 3)), atol=2e-2, rtol=1e-2)
