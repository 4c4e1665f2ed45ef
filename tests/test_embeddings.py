import numpy as np
import pytest

from piaa_desktop.core.embeddings import EMBED_DIM, Backbone, embed_paths, preprocess
from piaa_desktop.core.imageio import load_rgb
from piaa_desktop.core.models import ModelError, model_path, verify_models


def test_shipped_models_match_manifest():
    statuses = verify_models()
    assert statuses, "models/manifest.json lists no model"
    assert all(s.ok for s in statuses), [s.problem for s in statuses if not s.ok]


def test_onnx_backbone_matches_torch(photos_dir):
    torch = pytest.importorskip("torch")
    from piaa_desktop.training.export_backbone import build_torch_backbone

    ims = [load_rgb(p, 512) for p in sorted(photos_dir.glob("*.jpg"))[:4]]
    x = preprocess(ims)
    emb, logits = Backbone.shared().run(x)
    with torch.no_grad():
        temb, tlogits = build_torch_backbone()(torch.from_numpy(x))
    assert np.abs(emb - temb.numpy()).max() < 1e-3
    assert (logits.argmax(1) == tlogits.numpy().argmax(1)).all()


def test_backbone_recognises_real_content(bsds_dir):  # a model-quality check on a real photo
    from torchvision.models._meta import _IMAGENET_CATEGORIES as classes

    # BSDS 100007 is a polar bear on snow
    _, logits = Backbone.shared().run(preprocess([load_rgb(bsds_dir / "100007.jpg", 512)]))
    top5 = [classes[i] for i in np.argsort(-logits[0])[:5]]
    assert any("bear" in c for c in top5), top5


def test_embed_paths_skips_bad_files(photos_dir, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"junk")
    good = sorted(photos_dir.glob("*.jpg"))[:3]
    emb, ok = embed_paths([good[0], bad, good[1], good[2]], batch_size=2)
    assert ok == [0, 2, 3] and emb.shape == (3, EMBED_DIM)
    # different photos give different embeddings; the same photo the same one
    again, _ = embed_paths([good[0]])
    assert np.allclose(again[0], emb[0], atol=1e-4) and not np.allclose(emb[0], emb[1], atol=1e-2)


def test_tampered_model_is_detected(tmp_path):
    import json
    import shutil

    from piaa_desktop.core.models import check_model, load_manifest

    from piaa_desktop.core.backbones import DEFAULT

    src = model_path(DEFAULT).parent
    d = tmp_path / "models"
    d.mkdir()
    shutil.copy(src / "manifest.json", d / "manifest.json")
    entry = load_manifest(d)["models"][DEFAULT]
    data = (src / entry["file"]).read_bytes()
    (d / entry["file"]).write_bytes(data[: len(data) // 2])  # truncated copy
    st = check_model(DEFAULT, d, use_cache=False)
    assert not st.ok and "damaged or was modified" in st.problem
    (d / entry["file"]).unlink()
    st = check_model(DEFAULT, d, use_cache=False)
    assert not st.ok and "missing" in st.problem
    with pytest.raises(ModelError):
        model_path(DEFAULT, d)
    assert json.loads((d / "manifest.json").read_text())  # the manifest itself is untouched
