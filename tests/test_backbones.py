"""The backbone registry (core.backbones) agrees with the shipped model and the manifest."""
import numpy as np
import pytest

from piaa_desktop.core import backbones
from piaa_desktop.core.models import load_manifest


def test_default_backbone_matches_manifest_and_model():
    spec = backbones.get()
    entry = load_manifest()["models"][spec.name]
    assert entry["file"] == spec.file
    from piaa_desktop.core.embeddings import EMBED_DIM, Backbone, preprocess

    bb = Backbone()
    inputs = bb.session.get_inputs()
    assert [i.name for i in inputs] == [spec.input_name]
    assert list(inputs[0].shape[1:]) == [3, spec.input_size, spec.input_size]
    assert [o.name for o in bb.session.get_outputs()][: len(spec.outputs)] == list(spec.outputs)
    emb = bb.embed([np.full((50, 70, 3), 128, np.uint8)])
    assert emb.shape == (1, spec.embed_dim) == (1, EMBED_DIM)
    # normalisation from the spec: mid-grey maps to (128 - mean) / std
    x = preprocess([np.full((8, 8, 3), 128, np.uint8)])
    assert x.shape == (1, 3, spec.input_size, spec.input_size)
    assert np.allclose(x, (128 - spec.mean[0]) / spec.std[0])


def test_registry_refuses_a_conflicting_spec_and_unknown_names():
    spec = backbones.get()
    assert backbones.register(spec) is spec  # the same definition again is harmless
    with pytest.raises(ValueError):
        backbones.register(backbones.BackboneSpec(spec.name, "other.onnx", 224, (0, 0, 0), (1, 1, 1), 512))
    with pytest.raises(KeyError):
        backbones.get("no-such-backbone")
