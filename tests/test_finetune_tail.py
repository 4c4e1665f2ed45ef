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
    from piaa_desktop.training.finetune_tail import build_tail, device, finetune

    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.uniform(-1, 1, (12, 3, 224, 224)).astype(np.float32))
    act = _act10(net, x).numpy().astype(np.float16)
    act_flip = _act10(net, torch.flip(x, dims=[3])).numpy().astype(np.float16)
    y = rng.uniform(1, 5, 12)
    res = finetune(act, act_flip, y, np.arange(8), np.arange(8, 12), blocks=1, epochs=2, lr=1e-2, batch=4,
                   net=net, log=lambda s: None)
    rep = res["report"]
    # the device torch sees: the CPU here, CUDA on a GPU machine
    assert rep["device"] == str(device()) and {"epoch_0", "epoch_1", "epoch_2"} <= set(rep)
    assert rep["best_epoch"] in (0, 1, 2) and -1 <= rep["best_val_srocc_ridge"] <= 1
    _, tail0 = build_tail(net, 1)
    assert set(res["state"]) == set(tail0.state_dict())
    # the original network was not modified by training (the tail is a copy)
    frozen, tail = build_tail(net, 1)
    with torch.no_grad():
        torch.testing.assert_close(tail(frozen(torch.from_numpy(act[:2].astype(np.float32)))),
                                   net.extract_features(x[:2]).mean(dim=(2, 3)), atol=2e-2, rtol=1e-2)


def _moved_tail(net, seed=3):
    """A 'fine-tuned' result: the last block + head conv of ``net`` with their weights moved."""
    from piaa_desktop.training.finetune_tail import build_tail

    _, tail = build_tail(net, 1)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in tail.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    return {"state": {k: v.clone() for k, v in tail.state_dict().items()}, "report": {}}, tail


def test_fine_tuned_tail_goes_into_the_network_and_through_npz(net, tmp_path):
    """load_finetuned puts the tail into a network (the one forward pass run_blocks then gives the tail's
    output); save_tail's .npz loads to the same network; a state of another shape is refused."""
    import copy

    from piaa_desktop.training.export_backbone import run_blocks, stem
    from piaa_desktop.training.finetune_tail import load_finetuned, save_tail

    res, tail = _moved_tail(net)
    x = torch.from_numpy(np.random.default_rng(4).uniform(-1, 1, (2, 3, 224, 224)).astype(np.float32))
    act = _act10(net, x)
    n1 = copy.deepcopy(net)
    assert load_finetuned(n1, res) == 1
    tail.eval()
    with torch.no_grad():
        fmap, pooled, kept = run_blocks(n1, stem(n1, x), (14, 15), keep=10)
        torch.testing.assert_close(fmap.mean(dim=(2, 3)), tail(net._blocks[14](net._blocks[13](net._blocks[12](
            net._blocks[11](act))))), atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(kept, act)
        base, pooled0, _ = run_blocks(net, stem(net, x), (14, 15))
    torch.testing.assert_close(pooled[14], pooled0[14])  # blocks before the tail are untouched
    assert (pooled[15] - pooled0[15]).abs().max() > 1e-3 and (fmap - base).abs().max() > 1e-3
    path = save_tail(res, tmp_path / "tail.npz")
    n2 = copy.deepcopy(net)
    load_finetuned(n2, path)
    for a, b in zip(n1.state_dict().values(), n2.state_dict().values()):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    bad = {"state": {k: v for k, v in res["state"].items() if not k.startswith("head.0")}}
    with pytest.raises(RuntimeError):
        load_finetuned(copy.deepcopy(net), bad)


def test_refresh_cache_recomputes_the_fine_tuned_features_from_act10(net, tmp_path):
    """The refreshed cache: head features and block 15 from the fine-tuned tail over the cached act10 (and the
    mirror's), the earlier taps copied; the signals linked; the keys the trainer reads."""
    import copy

    from piaa_desktop.training.export_backbone import run_blocks, stem
    from piaa_desktop.training.finetune_tail import refresh_cache

    res, _ = _moved_tail(net, seed=5)
    ft = tmp_path / "ft.pt"
    torch.save(res, ft)
    rng = np.random.default_rng(6)
    x = torch.from_numpy(rng.uniform(-1, 1, (3, 3, 224, 224)).astype(np.float32))
    xf = torch.flip(x, dims=[3])
    src = tmp_path / "old"
    src.mkdir()
    arrays = {"names": np.array(["a.jpg", "b.jpg", "c.jpg"])}
    with torch.no_grad():
        for prefix, xx in (("", x), ("flip_", xf)):
            fmap, pooled, act = run_blocks(net, stem(net, xx), (7, 10, 14, 15), keep=10)
            arrays[prefix + "act10"] = act.numpy().astype(np.float16)
            arrays[prefix + "head_mean"] = fmap.mean(dim=(2, 3)).numpy()
            for t in (7, 10, 14, 15):
                arrays[f"{prefix}b{t}"] = pooled[t].numpy()
    np.savez(src / "para_feats.npz", **arrays)
    np.save(src / "para_signals.npy", np.zeros((3, 4), np.float32))
    out = refresh_cache(src / "para_feats.npz", ft, tmp_path / "new", batch=2, log=lambda s: None)
    n1 = copy.deepcopy(net)
    from piaa_desktop.training.finetune_tail import load_finetuned

    load_finetuned(n1, res)
    with np.load(out) as z:
        assert {"names", "head_mean", "b15", "b14", "b10", "b7"} <= set(z.files) and "act10" not in z.files
        assert [str(n) for n in z["names"]] == ["a.jpg", "b.jpg", "c.jpg"]
        for prefix, xx in (("", x), ("flip_", xf)):
            with torch.no_grad():
                fmap, pooled, _ = run_blocks(n1, stem(n1, xx), (15,))
            # from float16 activations: close to the float32 pass, not equal
            np.testing.assert_allclose(z[prefix + "head_mean"], fmap.mean(dim=(2, 3)).numpy(), atol=2e-2)
            np.testing.assert_allclose(z[prefix + "b15"], pooled[15].numpy(), atol=2e-2)
            assert np.abs(z[prefix + "head_mean"] - arrays[prefix + "head_mean"]).max() > 1e-2  # it did change
            for t in (14, 10, 7):
                np.testing.assert_array_equal(z[f"{prefix}b{t}"], arrays[f"{prefix}b{t}"])
    assert (tmp_path / "new" / "para_signals.npy").resolve() == (src / "para_signals.npy").resolve()
